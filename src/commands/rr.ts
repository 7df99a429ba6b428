import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {sessionFarEnd} from '../hosts/far-end.js'
import {bytesFlag} from '../cli/flags.js'
import {sessionClientFlags, sessionTarget} from '../cli/session-flags.js'
import {ExitCode, badInput} from '../errors.js'
import type {RrResult} from '../results/schema.js'
import {PartialRunError, iterate, runRr, type IterationOutcome} from '../sessions/index.js'
import {
  connectedIn,
  describeIterations,
  endLiveLine,
  liveLine,
  type IterationSummary,
} from '../sessions/render.js'
import {LIMITS} from '../limits.js'
import {fmt} from '../util/format.js'
import {farCheck, requirePrereqs} from '../prereqs.js'

export default class Rr extends MqbCommand {
  static summary = `Request/response sessions against an mqbench server (netperf TCP_RR, UDP_RR, TCP_CRR).`

  static description = `N sessions run on T native threads with epoll; each does transactions of --request-size bytes out and --response-size bytes back, --burst of them in flight. Latency is measured per transaction in the native threads; the total transactions/s is the sum of the sessions' own rates over one window. Sessions that stop making progress for a second or more are reported as stalled.`

  static examples = [
    {
      description: '20 TCP_RR sessions for 10 s against a server in testbed tb1 (`mqbench testbed up tb1`)',
      command: '<%= config.bin %> rr --netns mqb-tb1-a --server 198.18.100.2 --token s3cret --sessions 20',
    },
    {
      description:
        'The server on another host reached over SSH: the agent is copied there for the run and removed (docs/hosts.md)',
      command: '<%= config.bin %> rr --server ssh://root@198.18.7.2 --sessions 20',
    },
    {
      description: 'UDP_RR with 8 transactions in flight per session, as JSON',
      command: '<%= config.bin %> rr --type udp_rr --burst 8 --json',
    },
    {
      description: 'Repeat until the 99% confidence interval is within 5% (3 to 10 runs)',
      command: '<%= config.bin %> rr --iterations 3,10 --confidence 99,5',
    },
  ]

  static enableJsonFlag = true

  static flags = {
    ...sessionClientFlags,
    type: Flags.option({
      options: ['tcp_rr', 'udp_rr', 'tcp_crr'] as const,
      default: 'tcp_rr' as const,
      description: 'workload',
    })(),
    'request-size': bytesFlag(
      'request size',
      1,
      LIMITS.maxMessageBytes,
    )({default: 1, description: 'bytes per request'}),
    'response-size': bytesFlag(
      'response size',
      1,
      LIMITS.maxMessageBytes,
    )({default: 1, description: 'bytes per response'}),
    burst: Flags.integer({
      helpValue: 'N',
      default: 1,
      min: 1,
      max: LIMITS.maxBurst,
      description: 'transactions in flight per session (netperf -b)',
    }),
    percentiles: Flags.string({
      description: 'latency percentiles to print besides the summary',
      helpValue: '50,99,99.99',
    }),
    probe: Flags.boolean({
      default: true,
      allowNo: true,
      description:
        "sample each session's socket at each interval and at the end (its queue's CPU, NAPI id, TCP_INFO); --no-probe only to measure what that costs (bench/attribution.sh)",
    }),
  }

  async run(): Promise<RrResult & {iterations?: IterationSummary & {results: RrResult[]}}> {
    const {flags} = await this.parse(Rr)
    await requirePrereqs('sessions')
    if (
      flags.percentiles !== undefined &&
      !flags.percentiles.split(',').every((x) => x.trim() !== '' && Number(x) >= 0 && Number(x) <= 100)
    ) {
      throw badInput(
        `--percentiles ${flags.percentiles}: expected a comma-separated list of numbers 0..100, e.g. 50,99,99.99`,
      )
    }
    const abort = new AbortController()
    const off = onInterrupt(() => abort.abort())
    const live = !this.jsonEnabled() && Boolean(flags.interval)
    // ssh://HOST: the server runs on that host for this run (docs/hosts.md); naming it is the consent.
    const far = await sessionFarEnd(await sessionTarget(flags), {
      sessions: flags.sessions,
      cleanup,
      check: farCheck('far:server'),
    })
    const opts = {
      ...far.target,
      allowRemote: flags['allow-remote'] || far.remote,
      type: flags.type,
      sessions: flags.sessions,
      threads: flags.threads,
      requestSize: flags['request-size'],
      responseSize: flags['response-size'],
      burst: flags.burst,
      durationMs: flags.duration,
      cpus: flags.cpus,
      intervalMs: flags.interval,
      probe: flags.probe,
    }
    try {
      const policy = {
        ...(flags.iterations ?? {min: 1, max: 1}),
        level: flags.confidence.level,
        widthPct: flags.confidence.widthPct,
      }
      const outcome: IterationOutcome<RrResult> = await iterate(
        policy,
        () =>
          runRr(opts, {
            signal: abort.signal,
            onInterval: live
              ? (i) =>
                  liveLine(
                    i.elapsedMs,
                    `${Math.round(i.transactionsPerSecond).toLocaleString('en-US')} trans/s`,
                  )
              : undefined,
          }),
        (r) => r.transactionsPerSecond,
        () => abort.signal.aborted,
      )
      if (live) endLiveLine()
      const result = outcome.results[outcome.results.length - 1]
      const summary = policy.max > 1 ? describeIterations(outcome, 'trans/s') : undefined
      if (!this.jsonEnabled()) await this.render(result, flags.percentiles, summary)
      if (abort.signal.aborted) process.exitCode = ExitCode.interrupted
      return summary ? {...result, iterations: {...summary, results: outcome.results}} : result
    } catch (err) {
      if (err instanceof PartialRunError && !this.jsonEnabled())
        await this.render(err.result as RrResult, flags.percentiles)
      if (err instanceof PartialRunError && this.jsonEnabled()) {
        // --json keeps stdout for the (partial) result; MqbCommand.catch prints the reason to stderr.
        this.logJson(err.result)
      }
      throw await far.explain(err)
    } finally {
      off()
      await far.close()
    }
  }

  private async render(r: RrResult, percentiles?: string, iterations?: IterationSummary): Promise<void> {
    const lat = r.latency
    this.log(
      `mqbench rr: ${r.type} to ${r.server.host}:${r.server.port}, ${r.sessions.length} session(s)${connectedIn(r)}, ${r.requestSize}/${r.responseSize} bytes, burst ${r.burst}, ${fmt(r.windowMs / 1000, 2)} s`,
    )
    this.log(
      `transactions/s ${fmt(r.transactionsPerSecond, 0)}   latency us: min ${fmt(lat.min, 1)} mean ${fmt(lat.mean, 1)} p50 ${fmt(lat.p50, 1)} p90 ${fmt(lat.p90, 1)} p99 ${fmt(lat.p99, 1)} p99.9 ${fmt(lat.p999, 1)} max ${fmt(lat.max, 1)}`,
    )
    if (percentiles) {
      // The histogram library only for --percentiles: 33 ms of every start otherwise.
      const {percentileDistribution, runHistogram} = await import('../results/histogram.js')
      const points = percentiles.split(',').map(Number)
      const dist = percentileDistribution(runHistogram(r), points)
      this.log(`percentiles us: ${dist.map((d) => `p${d.percentile} ${fmt(d.valueUs, 1)}`).join('  ')}`)
    }
    const cpu = (c?: {totalPct: number}) => (c ? `${fmt(c.totalPct, 1)}%` : 'n/a')
    const sd = r.serviceDemandUsPerTx
    this.log(
      `cpu: local ${cpu(r.localCpu)} remote ${cpu(r.remoteCpu)}   service demand us/tx: local ${fmt(sd.local, 2)} remote ${sd.remote === undefined ? 'n/a' : fmt(sd.remote, 2)}`,
    )
    this.log(
      `fairness: Jain ${fmt(r.fairness.jainIndex, 3)}, slowest ${fmt(r.fairness.slowestTps, 0)} trans/s, fastest ${fmt(r.fairness.fastestTps, 0)} trans/s`,
    )
    if (r.sessions.length > 1 && r.sessions.length <= 64) {
      this.log(`per session trans/s: ${r.sessions.map((s) => fmt(s.transactionsPerSecond, 0)).join(' ')}`)
    }
    const stalled = r.sessions.filter((s) => s.stalled)
    if (stalled.length)
      this.warn(
        `${stalled.length} session(s) stalled (no transaction for 1 s or more, or died): ${stalled.map((s) => s.id).join(', ')}`,
      )
    if (iterations) this.log(iterations.text)
  }
}
