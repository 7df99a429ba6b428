// Bulk-transfer tests (TCP_STREAM, TCP_MAERTS, UDP_STREAM, --bidir): plan checks, one run, and
// the StreamResult. TCP_MAERTS is TCP_STREAM with the server sending; --bidir runs N sessions
// each way (2N connections), as iperf3 --bidir does.
import {badInput} from '../errors.js'
import type {NativeSessionResult, SessionWorkload} from '../native.js'
import type {StreamResult, StreamSession, StreamType} from '../results/schema.js'
import {PartialRunError, runSessions, type SessionRun} from './client.js'
import type {ServerSessionFigures} from './protocol.js'
import {serviceDemandUs} from './fairness.js'
import {defaultThreads} from './rr.js'
import {LIMITS} from '../limits.js'

export interface StreamOptions {
  server: string
  port: number
  netns?: string
  token?: string
  allowRemote?: boolean
  type: StreamType
  bidir?: boolean
  sessions: number
  threads?: number
  messageSize: number
  durationMs: number
  cpus?: number[]
  intervalMs?: number
}

export interface StreamHooks {
  signal?: AbortSignal
  onInterval?: (interim: {elapsedMs: number; gbps: number}) => void
}

/**
 * Bytes per send when none is given: iperf3's 128 KiB for TCP, so that the two tools as installed
 * compare like with like (netperf sends its socket buffer size, 16 KiB on Linux: give
 * --message-size 16k to compare with it). UDP keeps 16 KiB datagrams, under the 65,507-byte limit.
 */
export const DEFAULT_MESSAGE_BYTES: Record<StreamType, number> = {
  tcp_stream: 131072,
  tcp_maerts: 131072,
  udp_stream: 16384,
}

export function checkStreamOptions(o: StreamOptions): void {
  if (!Number.isInteger(o.sessions) || o.sessions < 1 || o.sessions > LIMITS.maxSessions)
    throw badInput(`--sessions ${o.sessions}: expected 1..${LIMITS.maxSessions}`)
  if (
    o.threads !== undefined &&
    (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > LIMITS.maxThreads)
  )
    throw badInput(`--threads ${o.threads}: expected 1..${LIMITS.maxThreads}`)
  const udp = o.type === 'udp_stream'
  const [min, max] = udp ? [8, LIMITS.maxUdpPayloadBytes] : [1, LIMITS.maxMessageBytes]
  if (!Number.isInteger(o.messageSize) || o.messageSize < min || o.messageSize > max) {
    throw badInput(
      `--message-size ${o.messageSize}: expected ${min}..${max} bytes for ${o.type}${udp ? ' (each datagram carries an 8-byte session header)' : ''}`,
    )
  }
  if (udp && o.bidir) throw badInput('--bidir applies to tcp_stream: the server never sends a UDP stream')
  if (o.type === 'tcp_maerts' && o.bidir)
    throw badInput('--bidir already sends both ways; use it with tcp_stream')
  if (!(o.durationMs > 0)) throw badInput(`--duration must be positive`)
}

/** Per connection: 1 when the client sends. */
export function streamDirections(o: Pick<StreamOptions, 'type' | 'bidir' | 'sessions'>): number[] {
  if (o.bidir) return [...new Array(o.sessions).fill(1), ...new Array(o.sessions).fill(0)]
  return new Array(o.sessions).fill(o.type === 'tcp_maerts' ? 0 : 1)
}

function streamSession(
  id: number,
  s: NativeSessionResult,
  sends: boolean,
  udp: {messageSize: number} | undefined,
  server?: ServerSessionFigures,
): StreamSession {
  const windowMs = s.windowNs / 1e6
  const rate = (bytes: number) => (windowMs > 0 ? (bytes * 8) / (windowMs * 1e6) : 0)
  const out: StreamSession = {
    id,
    thread: s.thread,
    cpu: s.cpu,
    direction: sends ? 'send' : 'receive',
    bytes: s.windowOps,
    windowMs,
    gbps: rate(s.windowOps),
  }
  if (udp) {
    // Sent and received over one window: ours, which the server counts from our `measure` to our
    // `done` (cap "window"). A server without the cap gives its totals over its own span.
    const sent = Math.round(s.windowOps / udp.messageSize)
    out.datagrams = sent
    out.sentGbps = out.gbps
    if (server) {
      const receivedBytes = Math.min(s.windowOps, server.windowOps ?? server.ops)
      out.receivedBytes = receivedBytes
      out.lostDatagrams = Math.max(0, sent - Math.round(receivedBytes / udp.messageSize))
      out.gbps = rate(receivedBytes)
    }
  } else {
    // Retransmits are the sender's: the client's socket when it sends, the server's otherwise.
    out.retransmits = sends ? s.retransmits : server?.retransmits
  }
  return out
}

function udpTotals(sessions: StreamSession[], remote: SessionRun['remote']): Partial<StreamResult> {
  const sent = sessions.reduce((a, s) => a + (s.datagrams ?? 0), 0)
  const lost = sessions.reduce((a, s) => a + (s.lostDatagrams ?? 0), 0)
  return {
    sentGbps: sessions.reduce((a, s) => a + (s.sentGbps ?? 0), 0),
    ...(remote ? {lossPct: sent > 0 ? (100 * lost) / sent : 0} : {}),
    ...(remote
      ? {receivedOver: remote.sessions.every((s) => s.windowOps !== undefined) ? 'window' : 'server-span'}
      : {}),
  }
}

export function streamResult(
  o: StreamOptions,
  run: Pick<SessionRun, 'host' | 'sessions' | 'elapsedMs' | 'local' | 'remote'> &
    Partial<Pick<SessionRun, 'connectMs' | 'pinnedCpus'>>,
): StreamResult {
  const dirs = streamDirections(o)
  const udp = o.type === 'udp_stream' ? {messageSize: o.messageSize} : undefined
  const sessions = run.sessions.map((s, i) =>
    streamSession(i, s, dirs[i] === 1, udp, run.remote?.sessions[i]),
  )
  // UDP: the received rate, as netperf and iperf3 headline it; sent and loss beside it.
  const gbps = sessions.reduce((s, x) => s + x.gbps, 0)
  const bytesPerSecond = (gbps * 1e9) / 8
  const remoteBytes = run.remote?.sessions.slice(0, sessions.length).reduce((s, x) => s + x.ops, 0) ?? 0
  return {
    workload: 'stream',
    type: o.type,
    bidir: o.bidir ?? false,
    messageSize: o.messageSize,
    server: {host: run.host, port: o.port},
    windowMs: Math.max(0, ...sessions.map((s) => s.windowMs)),
    gbps,
    ...(udp ? udpTotals(sessions, run.remote) : {}),
    sessions,
    localCpu: run.local.utilisation,
    remoteCpu: run.remote?.cpu,
    serviceDemandUsPerKB: {
      local: serviceDemandUs(run.local.busyMs, run.elapsedMs, bytesPerSecond / 1024),
      remote: run.remote && remoteBytes > 0 ? (run.remote.busyMs * 1000) / (remoteBytes / 1024) : undefined,
    },
    connectMs: run.connectMs,
    pinnedCpus: run.pinnedCpus,
  }
}

export async function runStream(opts: StreamOptions, hooks: StreamHooks = {}): Promise<StreamResult> {
  checkStreamOptions(opts)
  const sends = streamDirections(opts)
  const workload: SessionWorkload = opts.type === 'udp_stream' ? 'udp_stream' : 'tcp_stream'
  const run = await runSessions(
    {
      server: opts.server,
      port: opts.port,
      netns: opts.netns,
      token: opts.token,
      allowRemote: opts.allowRemote,
      workload,
      sessions: sends.length,
      threads: opts.threads ?? defaultThreads(sends.length, opts.cpus),
      cpus: opts.cpus,
      requestSize: 1,
      responseSize: 1,
      burst: 1,
      messageSize: opts.messageSize,
      clientSends: sends,
      durationMs: opts.durationMs,
      intervalMs: opts.intervalMs,
    },
    {
      signal: hooks.signal,
      onInterval:
        hooks.onInterval && ((elapsedMs, rate) => hooks.onInterval!({elapsedMs, gbps: (rate * 8) / 1e9})),
    },
  )
  const result = streamResult(opts, run)
  if (run.partial)
    throw new PartialRunError(
      `the test stopped early: ${run.partial}; kept ${(result.windowMs / 1000).toFixed(1)} s of results`,
      result,
      run.partial,
    )
  return result
}
