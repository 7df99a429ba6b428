import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {
  bytesFlag,
  cpuListFlag,
  durationFlag,
  frameSizeFlag,
  queueListFlag,
  testbedKindFlag,
  vmFlags,
  vmOptions,
  warmupFlag,
} from '../cli/flags.js'
import {DEFAULT_FRAME_SIZE} from '../gen/frame.js'
import {ExitCode, MqbError} from '../errors.js'
import {writeReport} from '../report/index.js'
import {limitedBy, limitedByText, type LimitVerdict} from '../results/limited-by.js'
import {scalingSummary, type ScalingSummary} from '../results/stats.js'
import type {RunStatus} from '../results/schema.js'
import type {SweepOrder, WorkloadName} from '../scale/plan.js'
import {runScale} from '../scale/run.js'
import {LIMITS} from '../limits.js'

export interface ScaleOutput {
  resultsFile: string
  reportFile?: string
  status: RunStatus
  summary: ScalingSummary
  /** what limits scaling, with the figures behind it */
  limitedBy: LimitVerdict
}

export default class Scale extends MqbCommand {
  static summary = `Run one workload at each queue count and show how throughput, latency and CPU cost change, with per-queue counters as proof that every queue carried traffic.`

  static description = `The testbed (tap: two namespaces joined by the mqbench relay, one worker per queue pair; veth; or dev:IF with a remote \`mqbench server\`) is created for the run and removed at its end, whatever ends it. Every finished step is written to the results file at once: a run stopped by Ctrl-C or killed keeps its finished steps, and --resume FILE completes it.

Figures on a VM drift by 15-30% from one run to the next; --order alternate measures in rounds (each round one iteration of every queue count, each set, read back and warmed up again) so that drift does not pose as a scaling effect. Every finished iteration is then kept.`

  static enableJsonFlag = true

  static examples = [
    {
      description: 'TCP_RR at 1 to 8 queues on a tap testbed',
      command: '<%= config.bin %> scale --queues 1..8',
    },
    {
      description: 'TCP_STREAM at 1, 2 and 4 queues on veth, 5 s per iteration',
      command: '<%= config.bin %> scale --queues 1,2,4 --testbed veth --workload stream --duration 5s',
    },
    {
      description: 'A real NIC with a `mqbench server` on another host',
      command:
        '<%= config.bin %> scale --queues 1..4 --testbed dev:eth1 --server 192.0.2.7:7979 --token s3cret --allow-remote',
    },
    {
      description:
        'A real NIC, the far end on another host over SSH with nothing installed there (docs/hosts.md)',
      command: '<%= config.bin %> scale --queues 1..4 --testbed dev:eth1 --server ssh://root@198.18.7.2',
    },
    {
      description: 'Alternating rounds, 5 iterations per queue count',
      command: '<%= config.bin %> scale --queues 1,2,4 --order alternate --iterations 5',
    },
    {
      description: 'UDP frames into a qemu guest',
      command: '<%= config.bin %> scale --queues 1..4 --testbed vm --workload gen --duration 2s',
    },
    {
      description: 'Finish a run that was stopped or killed',
      command: '<%= config.bin %> scale --resume mqbench-results/scale-tap-rr-20261124T232501Z.json',
    },
  ]

  static flags = {
    queues: queueListFlag({description: 'queue counts to run, ascending', exclusive: ['resume']}),
    testbed: testbedKindFlag({
      description: 'tap, veth, vm or dev:IF',
      default: {kind: 'tap'},
      defaultHelp: async () => 'tap',
    }),
    workload: Flags.option({
      options: ['rr', 'crr', 'udp_rr', 'stream', 'gen'] as const,
      default: 'rr',
      description: 'rr: TCP_RR; crr: TCP_CRR; udp_rr: UDP_RR; stream: TCP_STREAM; gen: UDP frames',
    })(),
    sessions: Flags.integer({
      helpValue: 'N',
      description: 'concurrent sessions (connections)',
      default: 20,
      min: 1,
      max: LIMITS.maxSessions,
    }),
    duration: durationFlag({
      description: 'measured time per iteration',
      default: 10_000,
      defaultHelp: async () => '10s',
    }),
    iterations: Flags.integer({
      helpValue: 'N',
      description: 'measured iterations per queue count, each with fresh connections',
      default: 3,
      min: 1,
      max: 100,
    }),
    order: Flags.option({
      options: ['steps', 'alternate'] as const,
      default: 'steps',
      exclusive: ['resume'],
      description:
        'steps: all iterations of one queue count, then the next; alternate: rounds, one iteration of every queue count per round (a resumed run keeps its recorded order)',
    })(),
    warmup: warmupFlag({
      description:
        'unmeasured run before the iterations of each queue count (alternate: before each iteration); 0s: none',
      default: 2000,
      defaultHelp: async () => '2s',
    }),
    out: Flags.string({
      description: 'directory for the results file and report',
      helpValue: 'DIR',
      default: './mqbench-results',
    }),
    resume: Flags.string({description: 'finish the run recorded in this results file', helpValue: 'FILE'}),
    report: Flags.boolean({
      description: 'write the HTML report next to the results file',
      default: true,
      allowNo: true,
    }),
    server: Flags.string({
      description:
        'dev testbed: the remote `mqbench server` as HOST:PORT, or ssh://[user@]host[:port] to run the far end there over SSH (docs/hosts.md)',
      helpValue: 'HOST:PORT|ssh://HOST',
    }),
    token: Flags.string({
      description: 'dev testbed: the remote server token',
      env: 'MQBENCH_TOKEN',
      helpValue: 'TOKEN',
    }),
    'allow-remote': Flags.boolean({
      description: 'dev testbed: allow a --server that is not on this machine (load then leaves the host)',
      default: false,
    }),
    'request-size': bytesFlag(
      'request size',
      1,
      LIMITS.maxUdpPayloadBytes,
    )({description: 'rr workloads: request bytes'}),
    'response-size': bytesFlag(
      'response size',
      1,
      LIMITS.maxUdpPayloadBytes,
    )({description: 'rr workloads: response bytes'}),
    'message-size': bytesFlag(
      'message size',
      1,
      LIMITS.maxMessageBytes,
    )({description: 'stream: bytes per send'}),
    'frame-size': frameSizeFlag({
      description: `gen: frame bytes without FCS (default ${DEFAULT_FRAME_SIZE})`,
    }),
    'gen-backend': Flags.option({
      options: ['auto', 'packet', 'xdp'] as const,
      description:
        'gen: sender backend (auto: AF_XDP where the device takes it, else AF_PACKET; default auto)',
    })(),
    'relay-cpus': cpuListFlag({description: 'tap testbed: pin the relay workers to these CPUs (cycled)'}),
    'server-cpus': cpuListFlag({
      description:
        'rr/crr/udp_rr/stream: pin the engine threads of the server the sweep starts to these CPUs (recorded in the results file)',
    }),
    'client-cpus': cpuListFlag({
      description:
        'rr/crr/udp_rr/stream: pin the client threads to these CPUs (recorded in the results file)',
    }),
    ...vmFlags,
  }

  async run(): Promise<ScaleOutput> {
    const {flags} = await this.parse(Scale)
    if (!flags.resume && !flags.queues)
      throw new MqbError(
        'give the queue counts to run with --queues (e.g. 1..8), or --resume FILE',
        ExitCode.badInput,
      )
    const params: Record<string, number | string> = {}
    for (const [flag, key] of [
      ['request-size', 'requestSize'],
      ['response-size', 'responseSize'],
      ['message-size', 'messageSize'],
      ['frame-size', 'frameSize'],
    ] as const) {
      if (flags[flag] !== undefined) params[key] = flags[flag]!
    }
    if (flags['gen-backend'] !== undefined) params.backend = flags['gen-backend']
    const abort = new AbortController()
    // Not removed when the sweep ends: a Ctrl-C while the report is written, after the run is
    // complete, must not turn a complete run into exit 130 (the handler's default with no listener).
    onInterrupt((signal) => abort.abort(signal))
    const {resultsFile, results} = await runScale({
      flags: flags.queues && {
        queues: flags.queues,
        testbed: flags.testbed,
        workload: flags.workload as WorkloadName,
        sessions: flags.sessions,
        durationMs: flags.duration,
        warmupMs: flags.warmup,
        iterations: flags.iterations,
        order: flags.order as SweepOrder,
        server: flags.server,
        params,
        pinning: {server: flags['server-cpus'], client: flags['client-cpus']},
      },
      outDir: flags.out,
      resume: flags.resume,
      token: flags.token,
      allowRemote: flags['allow-remote'],
      relayCpus: flags['relay-cpus'],
      vm: vmOptions(flags),
      argv: process.argv.slice(2),
      progress: !this.jsonEnabled(),
      cleanup,
      signal: abort.signal,
    })
    const summary = scalingSummary(results)
    let reportFile: string | undefined
    if (flags.report)
      reportFile = (await writeReport([results], {out: resultsFile.replace(/\.json$/, '') + '.html'})).out
    const out: ScaleOutput = {
      resultsFile,
      reportFile,
      status: results.run.status,
      summary,
      limitedBy: limitedBy(results, summary),
    }
    if (!this.jsonEnabled()) this.show(out)
    return out
  }

  private show({resultsFile, reportFile, summary, limitedBy: verdict}: ScaleOutput): void {
    const {metric} = summary
    this.log(`queues  ${metric.label.padEnd(16)} speed-up  efficiency  queues used`)
    for (const s of summary.steps) {
      const value =
        s.metric.mean >= 100 ? Math.round(s.metric.mean).toLocaleString('en-US') : s.metric.mean.toFixed(2)
      const shares = s.queues.shares.map((x) => `${Math.round(100 * x)}%`).join('/')
      this.log(
        `${String(s.queueCount).padStart(6)}  ${`${value} ${metric.unit}`.padEnd(16)} ${s.speedup.value.toFixed(2).padStart(8)}  ${s.efficiency.value.toFixed(2).padStart(10)}  ${s.queues.verdict} (${shares})`,
      )
    }
    this.log(
      `best: ${summary.best} queue${summary.best === 1 ? '' : 's'}; smallest within 5% of it: ${summary.smallestWithin5pct}`,
    )
    this.log(limitedByText(verdict))
    if (verdict.advice) this.log(`  try: ${verdict.advice}`)
    this.log(`results: ${resultsFile}`)
    if (reportFile) this.log(`report:  ${reportFile}`)
  }
}
