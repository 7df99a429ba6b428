import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {sessionFarEnd} from '../hosts/far-end.js'
import {bytesFlag} from '../cli/flags.js'
import {sessionClientFlags, sessionTarget} from '../cli/session-flags.js'
import {ExitCode} from '../errors.js'
import type {StreamResult} from '../results/schema.js'
import {DEFAULT_MESSAGE_BYTES, PartialRunError, iterate, runStream} from '../sessions/index.js'
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

export default class Stream extends MqbCommand {
  static summary = `Bulk-transfer sessions against an mqbench server (netperf TCP_STREAM, TCP_MAERTS, UDP_STREAM).`

  static description = `N sessions on T native threads with epoll; the total Gbit/s is the sum of the sessions' own rates over one window. TCP sessions report their sender's retransmits (TCP_INFO); UDP sessions report datagrams sent and those the server never counted. --bidir runs N sessions each way.`

  static examples = [
    {
      description: 'One TCP stream for 10 s to a server in testbed tb1 (`mqbench testbed up tb1`)',
      command: '<%= config.bin %> stream --netns mqb-tb1-a --server 198.18.100.2 --token s3cret',
    },
    {
      description: '20 streams from the server to the client',
      command: '<%= config.bin %> stream --type tcp_maerts --sessions 20',
    },
    {
      description: '4 UDP streams of 1400-byte datagrams, as JSON',
      command: '<%= config.bin %> stream --type udp_stream --sessions 4 --message-size 1400 --json',
    },
  ]

  static enableJsonFlag = true

  static flags = {
    ...sessionClientFlags,
    type: Flags.option({
      options: ['tcp_stream', 'tcp_maerts', 'udp_stream'] as const,
      default: 'tcp_stream' as const,
      description: 'workload',
    })(),
    bidir: Flags.boolean({default: false, description: 'tcp_stream both ways at once: --sessions each way'}),
    'message-size': bytesFlag(
      'message size',
      1,
      LIMITS.maxMessageBytes,
    )({
      description:
        "bytes per send call (UDP: per datagram, 8..65507); default 128 KiB for TCP as iperf3, 16 KiB for UDP (netperf's TCP_STREAM sends 16 KiB: give 16k to compare with it)",
    }),
  }

  async run(): Promise<StreamResult & {iterations?: IterationSummary & {results: StreamResult[]}}> {
    const {flags} = await this.parse(Stream)
    await requirePrereqs('sessions')
    const abort = new AbortController()
    const off = onInterrupt(() => abort.abort())
    const live = !this.jsonEnabled() && Boolean(flags.interval)
    // ssh://HOST: the server runs on that host for this run (docs/hosts.md); naming it is the consent.
    const far = await sessionFarEnd(await sessionTarget(flags), {
      sessions: flags.bidir ? 2 * flags.sessions : flags.sessions,
      cleanup,
      check: farCheck('far:server'),
    })
    const opts = {
      ...far.target,
      allowRemote: flags['allow-remote'] || far.remote,
      type: flags.type,
      bidir: flags.bidir,
      sessions: flags.sessions,
      threads: flags.threads,
      messageSize: flags['message-size'] ?? DEFAULT_MESSAGE_BYTES[flags.type],
      durationMs: flags.duration,
      cpus: flags.cpus,
      intervalMs: flags.interval,
    }
    try {
      const policy = {
        ...(flags.iterations ?? {min: 1, max: 1}),
        level: flags.confidence.level,
        widthPct: flags.confidence.widthPct,
      }
      const outcome = await iterate(
        policy,
        () =>
          runStream(opts, {
            signal: abort.signal,
            onInterval: live ? (i) => liveLine(i.elapsedMs, `${i.gbps.toFixed(2)} Gbit/s`) : undefined,
          }),
        (r) => r.gbps,
        () => abort.signal.aborted,
      )
      if (live) endLiveLine()
      const result = outcome.results[outcome.results.length - 1]
      const summary = policy.max > 1 ? describeIterations(outcome, 'Gbit/s') : undefined
      if (!this.jsonEnabled()) this.render(result, summary)
      if (abort.signal.aborted) process.exitCode = ExitCode.interrupted
      return summary ? {...result, iterations: {...summary, results: outcome.results}} : result
    } catch (err) {
      if (err instanceof PartialRunError && !this.jsonEnabled()) this.render(err.result as StreamResult)
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

  private render(r: StreamResult, iterations?: IterationSummary): void {
    const udp = r.type === 'udp_stream'
    this.log(
      `mqbench stream: ${r.type}${r.bidir ? ' (bidir)' : ''} to ${r.server.host}:${r.server.port}, ${r.sessions.length} session(s)${connectedIn(r)}, ${r.messageSize}-byte messages, ${fmt(r.windowMs / 1000, 2)} s`,
    )
    // UDP: what arrived is the headline (netperf, iperf3); sent and loss over the same window beside it.
    const loss = r.lossPct === undefined ? 'loss n/a' : `loss ${fmt(r.lossPct, 1)}%`
    const over =
      r.receivedOver === 'server-span' ? ", received counted over the server's span (an older server)" : ''
    this.log(
      `Gbit/s ${fmt(r.gbps, 3)}${udp ? ` received (sent ${fmt(r.sentGbps ?? 0, 3)}, ${loss}${over})` : ''}`,
    )
    const cpu = (c?: {totalPct: number}) => (c ? `${fmt(c.totalPct, 1)}%` : 'n/a')
    const sd = r.serviceDemandUsPerKB
    this.log(
      `cpu: local ${cpu(r.localCpu)} remote ${cpu(r.remoteCpu)}   service demand us/KB: local ${fmt(sd.local, 3)} remote ${sd.remote === undefined ? 'n/a' : fmt(sd.remote, 3)}`,
    )
    const row = (cells: Array<string | number>) =>
      cells.map((c, i) => String(c).padStart(i === 0 ? 8 : 12)).join('')
    this.log(
      row([
        'session',
        'direction',
        'thread',
        udp ? 'recv Gbit/s' : 'Gbit/s',
        udp ? 'datagrams' : 'retrans',
        udp ? 'lost' : '',
      ]),
    )
    for (const s of r.sessions.slice(0, 64)) {
      this.log(
        row([
          s.id,
          s.direction,
          s.thread,
          fmt(s.gbps, 3),
          udp ? fmt(s.datagrams ?? 0, 0) : String(s.retransmits ?? 'n/a'),
          udp ? fmt(s.lostDatagrams ?? 0, 0) : '',
        ]),
      )
    }
    const idle = r.sessions.filter((s) => s.bytes === 0)
    if (idle.length)
      this.warn(`${idle.length} session(s) moved no data in the window: ${idle.map((s) => s.id).join(', ')}`)
    if (iterations) this.log(iterations.text)
  }
}
