// Request/response tests (TCP_RR, UDP_RR, TCP_CRR): plan checks, one run, and the RrResult.
import {badInput} from '../errors.js'
import {onlineCpus} from '../host/cpus.js'
import type {NativeSessionResult} from '../native.js'
import {queueGroups} from '../results/queues.js'
import type {RrResult, RrSession, RrType, SessionQueue} from '../results/schema.js'
import {attributeSession, tcpInfoSummary, type AttributionContext} from './attribution.js'
import {PartialRunError, runSessions, type SessionRun} from './client.js'
import {STALL_NS, fairness, serviceDemandUs} from './fairness.js'
import {compressedBase64, emptyHistogramBase64, latencySummary} from './latency.js'
import {LIMITS} from '../limits.js'

export interface RrOptions {
  server: string
  port: number
  netns?: string
  token?: string
  /** allow a server address that is not on this machine (see target.ts) */
  allowRemote?: boolean
  type: RrType
  sessions: number
  threads?: number
  requestSize: number
  responseSize: number
  burst?: number
  durationMs: number
  cpus?: number[]
  intervalMs?: number
  /** sample each session's socket (default on; off only to measure what it costs) */
  probe?: boolean
  /** how the testbed names each session's queue (sessions/attribution.ts), and its queue count */
  attribution?: AttributionContext
  queueCount?: number
}

export interface RrHooks {
  signal?: AbortSignal
  onInterval?: (interim: {elapsedMs: number; transactionsPerSecond: number}) => void
}

export function checkRrOptions(o: RrOptions): void {
  const maxSize = o.type === 'udp_rr' ? LIMITS.maxUdpPayloadBytes : LIMITS.maxMessageBytes
  if (!Number.isInteger(o.sessions) || o.sessions < 1 || o.sessions > LIMITS.maxSessions)
    throw badInput(`--sessions ${o.sessions}: expected 1..${LIMITS.maxSessions}`)
  if (
    o.threads !== undefined &&
    (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > LIMITS.maxThreads)
  )
    throw badInput(`--threads ${o.threads}: expected 1..${LIMITS.maxThreads}`)
  for (const [flag, v] of [
    ['--request-size', o.requestSize],
    ['--response-size', o.responseSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > maxSize)
      throw badInput(`${flag} ${v}: expected 1..${maxSize} bytes for ${o.type}`)
  }
  const burst = o.burst ?? 1
  if (!Number.isInteger(burst) || burst < 1 || burst > LIMITS.maxBurst)
    throw badInput(`--burst ${burst}: expected 1..${LIMITS.maxBurst}`)
  if (o.type === 'tcp_crr' && burst > 1)
    throw badInput('--burst applies to tcp_rr and udp_rr: a tcp_crr connection carries one transaction')
  if (!(o.durationMs > 0)) throw badInput(`--duration must be positive`)
}

export function defaultThreads(sessions: number, cpus?: number[], perCpu = 1): number {
  return Math.max(1, Math.min(sessions, perCpu * (cpus?.length || onlineCpus().length)))
}

/**
 * Client threads per CPU by default. A TCP_CRR session spends most of a transaction waiting for the
 * other side's handshake and close, so with one thread per CPU a CPU idles while its thread's
 * sessions all wait (issue 15 measured 4 sessions at 0.73x four netperf processes with the default
 * and 0.83x with --threads 4 on 2 CPUs): two per CPU keep both busy.
 */
const THREADS_PER_CPU: Record<RrType, number> = {tcp_rr: 1, udp_rr: 1, tcp_crr: 2}

// Summaries and histograms come finished from native code (native/histogram.cc): per session
// here is a handful of assignments and one compression of a few hundred bytes.
function rrSession(id: number, s: NativeSessionResult, empty: string, queue: SessionQueue): RrSession {
  const windowMs = s.windowNs / 1e6
  return {
    id,
    thread: s.thread,
    cpu: s.cpu,
    transactions: s.windowOps,
    windowMs,
    transactionsPerSecond: windowMs > 0 ? (s.windowOps * 1000) / windowMs : 0,
    errors: s.errors,
    stalled: s.dead || s.maxGapNs >= STALL_NS || s.windowOps === 0,
    latency: latencySummary(s.latency),
    latencyHistogram: s.histogram ? compressedBase64(s.histogram) : empty,
    queue,
    ...(s.probe?.tcp ? {tcpInfo: tcpInfoSummary(s.probe)} : {}),
  }
}

/** Where no testbed method applies (a plain `rr` on loopback or against a far server): why. */
export const NO_ATTRIBUTION: AttributionContext = {
  method: 'none',
  reason: 'no testbed named the queues (loopback has one queue and no NAPI; give a veth or tap testbed)',
}

/**
 * What one latency sample covers, per workload, recorded with every result so that a comparison
 * with a run made under another definition can say so (docs/sessions.md, "Latency definitions").
 */
export const LATENCY_COVERS: Record<RrType, string> = {
  tcp_rr: 'request send() to the last byte of its response',
  udp_rr: 'request send() to its response datagram',
  tcp_crr: 'socket() to close(): connect, request, response and close (netperf TCP_CRR)',
}

/** Turns one run's raw figures into the result; pure, so tests can feed it figures. */
export function rrResult(
  o: RrOptions,
  run: Pick<SessionRun, 'host' | 'sessions' | 'total' | 'elapsedMs' | 'local' | 'remote'> &
    Partial<Pick<SessionRun, 'connectMs' | 'pinnedCpus' | 'queues'>>,
): RrResult {
  const empty = emptyHistogramBase64()
  const sessions = run.sessions.map((s, i) =>
    rrSession(i, s, empty, run.queues?.attribution[i] ?? attributeSession(s.probe, NO_ATTRIBUTION)),
  )
  const groups =
    run.queues &&
    queueGroups(
      sessions,
      run.queues.queueCount,
      run.queues.merged.map((m) => ({
        latency: latencySummary(m.latency),
        histogram: compressedBase64(m.histogram),
      })),
    )
  // The total is the sum of the sessions' own rates over their (common) window, never a
  // separately counted figure.
  const tps = sessions.reduce((s, x) => s + x.transactionsPerSecond, 0)
  const remoteOps = run.remote?.sessions.reduce((s, x) => s + x.ops, 0) ?? 0
  return {
    workload: 'rr',
    type: o.type,
    requestSize: o.requestSize,
    responseSize: o.responseSize,
    burst: o.burst ?? 1,
    server: {host: run.host, port: o.port},
    windowMs: Math.max(0, ...sessions.map((s) => s.windowMs)),
    transactionsPerSecond: tps,
    sessions,
    latency: latencySummary(run.total?.latency),
    latencyCovers: LATENCY_COVERS[o.type],
    latencyHistogram: run.total?.histogram ? compressedBase64(run.total.histogram) : empty,
    localCpu: run.local.utilisation,
    remoteCpu: run.remote?.cpu,
    serviceDemandUsPerTx: {
      local: serviceDemandUs(run.local.busyMs, run.elapsedMs, tps),
      // The server counts what it answered over its own span, as its CPU figures do.
      remote: run.remote && remoteOps > 0 ? (run.remote.busyMs * 1000) / remoteOps : undefined,
    },
    fairness: fairness(sessions.map((s) => s.transactionsPerSecond)),
    connectMs: run.connectMs,
    pinnedCpus: run.pinnedCpus,
    ...(groups ?? {}),
  }
}

export async function runRr(opts: RrOptions, hooks: RrHooks = {}): Promise<RrResult> {
  checkRrOptions(opts)
  const threads = opts.threads ?? defaultThreads(opts.sessions, opts.cpus, THREADS_PER_CPU[opts.type])
  const run = await runSessions(
    {
      server: opts.server,
      port: opts.port,
      netns: opts.netns,
      token: opts.token,
      allowRemote: opts.allowRemote,
      workload: opts.type,
      sessions: opts.sessions,
      threads,
      cpus: opts.cpus,
      requestSize: opts.requestSize,
      responseSize: opts.responseSize,
      burst: opts.burst ?? 1,
      messageSize: 1,
      clientSends: new Array(opts.sessions).fill(1),
      durationMs: opts.durationMs,
      intervalMs: opts.intervalMs,
      probe: opts.probe,
      attribution: opts.attribution,
      queueCount: opts.queueCount,
    },
    {
      signal: hooks.signal,
      onInterval:
        hooks.onInterval &&
        ((elapsedMs, rate) => hooks.onInterval!({elapsedMs, transactionsPerSecond: rate})),
    },
  )
  const result = rrResult(opts, run)
  if (run.partial)
    throw new PartialRunError(
      `the test stopped early: ${run.partial}; kept ${(result.windowMs / 1000).toFixed(1)} s of results`,
      result,
      run.partial,
    )
  return result
}
