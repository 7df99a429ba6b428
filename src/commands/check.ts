import {Flags, type Interfaces} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {durationFlag, netnsFlag, vmFlags, vmOptions} from '../cli/flags.js'
import {ExitCode, MqbError} from '../errors.js'
import {runCheck, type CheckReport} from '../check/run.js'
import {casesNotRun, planTotals, runVmPlan, selectCases} from '../check/vm/plan.js'
import {CASES} from '../check/vm/cases.js'
import {
  baselineHeadline,
  comparedLoads,
  judgeBaseline,
  loadBaselinePlan,
  MIN_SAMPLES,
  refuseIncomparableBaseline,
} from '../check/vm/baseline.js'
import type {BaselineComparison, CaseReport, PlanParams} from '../results/plan-schema.js'
import {hostInfo} from '../host/info.js'
import {probeWritable} from '../host/files.js'
import {
  planClosingLine,
  planFailures,
  planResults,
  writePlanResults,
  type PlanResultsFile,
} from '../results/plan.js'
import {shellCommand} from '../scale/plan.js'
import {LIMITS} from '../limits.js'
import {requirePrereqs} from '../prereqs.js'

export default class Check extends MqbCommand {
  static summary = `Run the multiqueue virtio-net test plan on a live interface, or all of it in a guest mqbench boots.`

  static description = `Sets N channels and reads them back, checks /sys/class/net/IF/queues, runs --sessions concurrent TCP_RR sessions against a \`mqbench server\` and checks that every queue's interrupt line and ethtool -S counter rose and that the interrupts are spread over CPUs, runs the same load at 1 queue, and restores the original channel count (also on Ctrl-C or an error). One line per check: PASS, FAIL or N/A with the numbers read. Interfaces without per-queue interrupts (veth, tap) get N/A with the reason. Exits ${ExitCode.checkFailed} when a check failed.

With --testbed vm mqbench boots qemu guests with a multiqueue virtio-net NIC itself and runs every case of the plan, and tp-qemu's multiqueue checks, around and inside them (cases: ${CASES.map((c) => c.id).join(', ')}). Each case boots what it needs, is stopped at a bound, and removes what it made; one failing case does not stop the others.`

  static enableJsonFlag = true

  static examples = [
    {
      description: 'Check eth0 against a server on another host, at 2 queues',
      command: '<%= config.bin %> check --dev eth0 --server 192.0.2.7 --token s3cret --allow-remote',
    },
    {
      description: '4 queues, 20 sessions, 10 s per load run',
      command:
        '<%= config.bin %> check --dev eth0 --server 192.0.2.7 --queues 4 --sessions 20 --duration 10s --allow-remote',
    },
    {
      description:
        "A testbed's side A (`mqbench testbed up tb1 --kind veth --max-queues 4` and `mqbench server --netns mqb-tb1-b --bind 198.18.100.2 --token s3cret`), as JSON",
      command:
        '<%= config.bin %> check --dev mqb-tb1-a --netns mqb-tb1-a --server 198.18.100.2 --token s3cret --json',
    },
  ]

  static flags = {
    dev: Flags.string({description: 'the interface to check', helpValue: 'IF', exclusive: ['testbed']}),
    server: Flags.string({
      description:
        'address of a running `mqbench server` reached through IF, or ssh://[user@]HOST[:PORT] to serve from that host for the check (docs/hosts.md)',
      helpValue: 'HOST|ssh://HOST',
      exclusive: ['testbed'],
    }),
    testbed: Flags.option({options: ['vm'] as const})({
      description: 'run the whole plan in guests mqbench boots (instead of --dev/--server)',
    }),
    cases: Flags.string({
      description: `vm: the cases to run, comma-separated (default: the default set): ${CASES.map((c) => c.id).join(',')}`,
      helpValue: 'LIST',
    }),
    extended: Flags.boolean({description: 'vm: add the long cases to the default set'}),
    'hotplug-cycles': Flags.integer({
      description:
        'vm: unplug/plug cycles of the extended hotplug-repeat case (default 20; tp-qemu runs 100)',
      helpValue: 'N',
      min: 1,
      max: 1000,
    }),
    vcpus: vmFlags.vcpus,
    'vcpu-cpus': vmFlags['vcpu-cpus'],
    memory: vmFlags.memory,
    kernel: vmFlags.kernel,
    accel: vmFlags.accel,
    port: Flags.integer({
      helpValue: 'PORT',
      description: "the server's port (default 12866)",
      min: 1,
      max: 65535,
    }),
    token: Flags.string({description: "the server's token", env: 'MQBENCH_TOKEN', helpValue: 'TOKEN'}),
    'allow-remote': Flags.boolean({description: 'allow a server address that is not on this machine'}),
    queues: Flags.integer({
      helpValue: 'N',
      description: 'N: the queue count to test',
      default: 2,
      min: 2,
      max: LIMITS.maxQueues,
    }),
    sessions: Flags.integer({
      helpValue: 'N',
      description: 'concurrent TCP_RR sessions',
      default: 20,
      min: 1,
      max: LIMITS.maxSessions,
    }),
    duration: durationFlag({description: 'length of each load run', default: 5000}),
    netns: netnsFlag,
    baseline: Flags.string({
      description:
        "vm: an earlier run's results file (check-vm-STAMP.json); each case's loads are compared with its, a drop beyond the run-to-run noise of the repeats fails (exit 9)",
      helpValue: 'FILE',
    }),
    repeats: Flags.integer({
      description:
        "vm: runs of each performance load (mq at N and at 1 queue, gen's three, stress, mq_off), which " +
        `--baseline needs to measure each run's noise (default 1; with --baseline the baseline's, ${MIN_SAMPLES} at least); ` +
        'each repeat adds one --duration per load',
      helpValue: 'N',
      min: 1,
      max: LIMITS.maxRepeats,
    }),
    out: Flags.string({
      description: 'vm: directory for the results file (check-vm-STAMP.json; never replaces another run)',
      helpValue: 'DIR',
      default: './mqbench-results',
    }),
  }

  async run(): Promise<CheckReport | PlanResultsFile> {
    const {flags} = await this.parse(Check)
    if (flags.testbed) return this.runVm(flags)
    if (!flags.dev || !flags.server)
      throw new MqbError('give --dev IF and --server HOST, or --testbed vm', ExitCode.badInput)
    await requirePrereqs('sessions')
    const abort = new AbortController()
    const off = onInterrupt(() => abort.abort())
    try {
      const report = await runCheck(
        {
          dev: flags.dev,
          server: flags.server,
          port: flags.port,
          netns: flags.netns,
          token: flags.token,
          allowRemote: flags['allow-remote'],
          queues: flags.queues,
          sessions: flags.sessions,
          durationMs: flags.duration,
        },
        {
          cleanup,
          signal: abort.signal,
          onPhase: this.jsonEnabled() ? undefined : (line) => this.logToStderr(`.. ${line}`),
        },
      )
      if (!this.jsonEnabled()) this.show(report)
      if (report.failed > 0) process.exitCode = ExitCode.checkFailed
      return report
    } finally {
      off()
    }
  }

  private async runVm(flags: Interfaces.InferredFlags<typeof Check.flags>): Promise<PlanResultsFile> {
    const cases = selectCases(
      flags.cases
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean),
      flags.extended,
    )
    const vm = vmOptions(flags)
    // Read first: a bad baseline is said before any guest boots.
    const baseline = flags.baseline ? loadBaselinePlan(flags.baseline) : undefined
    // A comparison needs the baseline's repeats (MIN_SAMPLES at least); without one a single run keeps the plan short.
    const repeats = flags.repeats ?? (baseline ? Math.max(baseline.params.repeats ?? 1, MIN_SAMPLES) : 1)
    const params: PlanParams = {
      queues: flags.queues,
      vcpus: vm.vcpus ?? flags.queues,
      ...(vm.vcpuCpus ? {vcpuCpus: vm.vcpuCpus} : {}),
      sessions: flags.sessions,
      durationMs: flags.duration,
      memoryMiB: vm.memoryMiB ?? 512,
      kernel: vm.kernel,
      accel: vm.accel ?? 'auto',
      hotplugCycles: flags['hotplug-cycles'],
      repeats,
    }
    if (flags.baseline && repeats < MIN_SAMPLES)
      throw new MqbError(
        `--baseline needs --repeats ${MIN_SAMPLES} or more: each run's noise is measured from its repeats`,
        ExitCode.badInput,
      )
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
    await requirePrereqs('testbed:vm', {kernel: vm.kernel})
    const at = new Date()
    const meta = {host: hostInfo(), command: shellCommand([this.id ?? 'check', ...this.argv]), at}
    const ended: CaseReport[] = []
    const abort = new AbortController()
    const off = onInterrupt(() => abort.abort())
    try {
      const report = await runVmPlan(params, cases, {
        cleanup,
        signal: abort.signal,
        onPhase: this.jsonEnabled() ? undefined : (line) => this.logToStderr(`.. ${line}`),
        onCase: (c) => {
          ended.push(c)
          if (!this.jsonEnabled()) this.showCase(c)
        },
      }).catch((err: unknown) => {
        // Interrupted: the cases that ended are still recorded with those never started, then
        // the interrupt is reported.
        if (abort.signal.aborted && !this.jsonEnabled()) {
          const notRun = casesNotRun(cases, ended)
          if (notRun.length) this.log(`not run: ${notRun.map((c) => c.id).join(', ')}`)
        }
        if (abort.signal.aborted && ended.length)
          this.write(
            planResults(
              {
                params,
                cases: ended,
                ...planTotals(ended),
                wallMs: Date.now() - at.getTime(),
                notRun: casesNotRun(cases, ended),
              },
              {...meta, status: 'interrupted'},
            ),
            flags.out,
          )
        throw err
      })
      if (baseline && flags.baseline) report.baseline = judgeBaseline(report, baseline, flags.baseline)
      const file = planResults(report, meta)
      this.write(file, flags.out)
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
    } finally {
      off()
    }
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

  private show(r: CheckReport): void {
    const width = Math.max(...r.checks.map((c) => c.title.length))
    for (const c of r.checks) this.log(`${c.status.padEnd(4)}  ${c.title.padEnd(width)}  ${c.evidence}`)
    this.log(r.failed ? `${r.failed} check(s) failed` : 'no check failed')
  }
}
