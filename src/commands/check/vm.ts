import {Flags, type Interfaces} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {cleanup, onInterrupt} from '../../cli/cleanup.js'
import {checkLoadFlags, vmFlags, vmOptions} from '../../cli/flags.js'
import {ExitCode, MqbError} from '../../errors.js'
import {casesNotRun, planTotals, runVmPlan, selectCases} from '../../check/vm/plan.js'
import {CASES} from '../../check/vm/cases.js'
import {
  baselineHeadline,
  comparedLoads,
  judgeBaseline,
  loadBaselinePlan,
  MIN_SAMPLES,
  refuseIncomparableBaseline,
} from '../../check/vm/baseline.js'
import type {VmCase} from '../../check/vm/types.js'
import type {BaselineComparison, CaseReport, PlanParams, PlanReport} from '../../results/plan-schema.js'
import {hostInfo} from '../../host/info.js'
import {probeWritable} from '../../host/files.js'
import {
  planClosingLine,
  planFailures,
  planResults,
  writePlanResults,
  type PlanResultsFile,
} from '../../results/plan.js'
import {shellCommand} from '../../scale/plan.js'
import {KIND_MAX_QUEUES, LIMITS} from '../../limits.js'
import {requirePrereqs} from '../../prereqs.js'
import {withGuestDefaults} from '../../vm/defaults.js'
import {TCG_VCPUS_PER_HOST_CPU} from '../../vm/vcpus.js'

type VmPlanFlags = Interfaces.InferredFlags<typeof CheckVm.flags>

/** The vm testbed's guest flags, without their "vm: " (every flag here is the guest's). */
const guestFlag = <F extends {description?: string}>(f: F, description?: string): F => ({
  ...f,
  description: description ?? f.description?.replace(/^vm: /, ''),
})

export default class CheckVm extends MqbCommand {
  static summary = `Run the multiqueue virtio-net test plan in qemu guests mqbench boots.`

  static description = `mqbench boots qemu guests with a multiqueue virtio-net NIC itself and runs every case of the plan, and tp-qemu's multiqueue checks, around and inside them (cases: ${CASES.map((c) => c.id).join(', ')}). Each case boots what it needs, is stopped at a bound, and removes what it made; one failing case does not stop the others. One line per check: PASS, FAIL or N/A with the numbers read, and a results file (check-vm-STAMP.json) that \`mqbench report\` renders. Exits ${ExitCode.checkFailed} when a check failed.`

  static enableJsonFlag = true

  static examples = [
    {description: 'The default set at 2 queues', command: '<%= config.bin %> check vm'},
    {
      description: 'Two cases at 4 queues, the guest vCPUs pinned to host CPUs 1 and 0',
      command: '<%= config.bin %> check vm --cases mq,hotplug --queues 4 --vcpu-cpus 1,0',
    },
    {
      description: 'Record a baseline, then compare a later run with it',
      command:
        '<%= config.bin %> check vm --repeats 3 --baseline mqbench-results/check-vm-20261130T190000Z.json',
    },
  ]

  static flags = {
    cases: Flags.string({
      description: `the cases to run, comma-separated (default: the default set): ${CASES.map((c) => c.id).join(',')}`,
      helpValue: 'LIST',
    }),
    extended: Flags.boolean({description: 'add the long cases to the default set'}),
    'hotplug-cycles': Flags.integer({
      description: 'unplug/plug cycles of the extended hotplug-repeat case (default 20; tp-qemu runs 100)',
      helpValue: 'N',
      min: 1,
      max: 1000,
    }),
    vcpus: guestFlag(
      vmFlags.vcpus,
      `guest vCPUs (default: --queues, one per queue pair; under TCG more than ${TCG_VCPUS_PER_HOST_CPU}x the host's CPUs is refused)`,
    ),
    'vcpu-cpus': guestFlag(vmFlags['vcpu-cpus']),
    memory: guestFlag(vmFlags.memory),
    kernel: guestFlag(vmFlags.kernel),
    accel: guestFlag(vmFlags.accel),
    queues: Flags.integer({
      helpValue: 'N',
      description: "N: the queue count to test (the vm testbed's bound)",
      default: 2,
      min: 2,
      max: KIND_MAX_QUEUES.vm,
    }),
    ...checkLoadFlags,
    baseline: Flags.string({
      description:
        "an earlier run's results file (check-vm-STAMP.json); each case's loads are compared with its, a drop beyond the run-to-run noise of the repeats fails (exit 9)",
      helpValue: 'FILE',
    }),
    repeats: Flags.integer({
      description:
        "runs of each performance load (mq at N and at 1 queue, gen's three, stress, mq_off), which " +
        `--baseline needs to measure each run's noise (default 1; with --baseline the baseline's, ${MIN_SAMPLES} at least); ` +
        'each repeat adds one --duration per load',
      helpValue: 'N',
      min: 1,
      max: LIMITS.maxRepeats,
    }),
    out: Flags.string({
      description: 'directory for the results file (check-vm-STAMP.json; never replaces another run)',
      helpValue: 'DIR',
      default: './mqbench-results',
    }),
  }

  async run(): Promise<PlanResultsFile> {
    const {flags} = await this.parse(CheckVm)
    const cases = selectCases(
      flags.cases
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean),
      flags.extended,
    )
    // Read first: a bad baseline is said before any guest boots.
    const baseline = flags.baseline ? loadBaselinePlan(flags.baseline) : undefined
    const params = planParams(flags, baseline && (baseline.params.repeats ?? 1))
    if (baseline && flags.baseline)
      refuseIncomparableBaseline(
        flags.baseline,
        baseline,
        params,
        cases.map((c) => c.id),
      )
    // Where the results go is checked before anything boots, not after a plan of minutes.
    probeWritable(flags.out)
    // Refused once, before any case: a missing qemu is one line with exit 8, not a FAIL per case.
    await requirePrereqs('testbed:vm', {kernel: params.kernel})
    const at = new Date()
    const report = await this.runPlan(params, cases, flags.out, at)
    if (baseline && flags.baseline) report.baseline = judgeBaseline(report, baseline, flags.baseline)
    return this.finish(report, flags.out, at)
  }

  /** The results file's `command`: the spelling a person types (`mqbench check vm ...`). */
  private meta(at: Date) {
    return {
      host: hostInfo(),
      command: shellCommand([...(this.id ?? 'check:vm').split(':'), ...this.argv]),
      at,
    }
  }

  /**
   * Runs the cases; on Ctrl-C/SIGTERM the cases that ended are still written, with those never
   * started, then the interrupt is reported.
   */
  private async runPlan(params: PlanParams, cases: VmCase[], out: string, at: Date): Promise<PlanReport> {
    const ended: CaseReport[] = []
    const abort = new AbortController()
    const off = onInterrupt(() => abort.abort())
    try {
      return await runVmPlan(params, cases, {
        cleanup,
        signal: abort.signal,
        onPhase: this.jsonEnabled() ? undefined : (line) => this.logToStderr(`.. ${line}`),
        onCase: (c) => {
          ended.push(c)
          if (!this.jsonEnabled()) this.showCase(c)
        },
      })
    } catch (err) {
      const notRun = casesNotRun(cases, ended)
      if (abort.signal.aborted && !this.jsonEnabled() && notRun.length)
        this.log(`not run: ${notRun.map((c) => c.id).join(', ')}`)
      if (abort.signal.aborted && ended.length) {
        const report = {params, cases: ended, ...planTotals(ended), wallMs: Date.now() - at.getTime(), notRun}
        this.write(planResults(report, {...this.meta(at), status: 'interrupted'}), out)
      }
      throw err
    } finally {
      off()
    }
  }

  /** Writes the file, says the verdict, and sets the exit code from the checks and the baseline. */
  private finish(report: PlanReport, out: string, at: Date): PlanResultsFile {
    const file = planResults(report, this.meta(at))
    this.write(file, out)
    if (!this.jsonEnabled()) {
      if (report.baseline) this.showBaseline(report.baseline)
      this.log(
        `${planClosingLine(file)}${file.functionalOnly ? '; under TCG: timings are functional only' : ''}`,
      )
    }
    // A baseline that compared nothing (guests under another accelerator than its) is not a pass.
    if (planFailures(report) > 0) process.exitCode = ExitCode.checkFailed
    else if (report.baseline && comparedLoads(report.baseline) === 0) process.exitCode = ExitCode.badResults
    return file
  }

  /** Writes the plan's results file and says where (on stderr: stdout may be the JSON document). */
  private write(file: PlanResultsFile, outDir: string): string {
    const path = writePlanResults(outDir, file)
    process.stderr.write(`wrote ${path}\n`)
    return path
  }

  private showBaseline(b: BaselineComparison): void {
    this.log(baselineHeadline(b))
    for (const v of b.verdicts) this.log(`  ${v.status.padEnd(4)}  ${v.evidence}`)
  }

  private showCase(c: CaseReport): void {
    this.log(`${c.id}: ${c.title} (${(c.wallMs / 1000).toFixed(1)} s)${c.interrupted ? ': INTERRUPTED' : ''}`)
    const width = Math.max(...c.checks.map((k) => k.title.length))
    for (const k of c.checks) this.log(`  ${k.status.padEnd(4)}  ${k.title.padEnd(width)}  ${k.evidence}`)
  }
}

/**
 * The plan's parameters from the flags; a comparison needs the baseline's repeats (MIN_SAMPLES at
 * least), and without one a single run keeps the plan short.
 */
function planParams(flags: VmPlanFlags, baselineRepeats: number | undefined): PlanParams {
  const repeats =
    flags.repeats ?? (baselineRepeats === undefined ? 1 : Math.max(baselineRepeats, MIN_SAMPLES))
  if (flags.baseline && repeats < MIN_SAMPLES)
    throw new MqbError(
      `--baseline needs --repeats ${MIN_SAMPLES} or more: each run's noise is measured from its repeats`,
      ExitCode.badInput,
    )
  const vm = withGuestDefaults(vmOptions(flags))
  return {
    queues: flags.queues,
    // Recorded before any guest boots (a baseline compares it), so not left to chooseVcpus: one
    // vCPU per queue pair unless --vcpus says otherwise.
    vcpus: vm.vcpus ?? flags.queues,
    ...(vm.vcpuCpus ? {vcpuCpus: vm.vcpuCpus} : {}),
    sessions: flags.sessions,
    durationMs: flags.duration,
    memoryMiB: vm.memoryMiB,
    kernel: vm.kernel,
    accel: vm.accel,
    hotplugCycles: flags['hotplug-cycles'],
    repeats,
  }
}
