// Per-queue figures of an rr run: the sessions each queue carried (as attributed, see
// src/sessions/attribution.ts), their transactions, merged latency and fairness, and what a report
// and the limited-by verdict read from them. Pure: the merged histograms come finished from
// native code (SessionEngineHandle.groupLatency); this module only groups and compares.
import type {LatencySummaryUs, QueueGroup, RrResult, RrSession} from './schema.js'

/**
 * Jain's fairness index, (sum x)^2 / (n * sum x^2): 1 when every session got the same share,
 * 1/n when one session got everything. 0 for no sessions or no throughput at all.
 */
export function jainIndex(xs: number[]): number {
  const sum = xs.reduce((s, x) => s + x, 0)
  const sq = xs.reduce((s, x) => s + x * x, 0)
  return xs.length === 0 || sq === 0 ? 0 : (sum * sum) / (xs.length * sq)
}

/** The group index of every session for a run's queues: its queue, or -1 (moved, not attributed). */
export function sessionGroups(sessions: Pick<RrSession, 'queue'>[]): Int32Array {
  return Int32Array.from(sessions.map((s) => s.queue.queue ?? -1))
}

/**
 * One group per queue 0..queueCount-1, idle ones included (an idle queue beside a crowded one is
 * the finding), from the sessions' attribution and each queue's merged latency; undefined when no
 * session was attributed to a queue.
 */
export function queueGroups(
  sessions: RrSession[],
  queueCount: number,
  merged: Array<{latency: LatencySummaryUs; histogram: string}>,
): {queues: QueueGroup[]; movedSessions: number[]} | undefined {
  if (!sessions.some((s) => s.queue.queue !== undefined)) return undefined
  const queues = Array.from({length: queueCount}, (_, q): QueueGroup => {
    const mine = sessions.filter((s) => s.queue.queue === q)
    const tcp = mine.filter((s) => s.tcpInfo)
    return {
      queue: q,
      sessions: mine.map((s) => s.id),
      transactions: mine.reduce((a, s) => a + s.transactions, 0),
      transactionsPerSecond: mine.reduce((a, s) => a + s.transactionsPerSecond, 0),
      latency: merged[q].latency,
      latencyHistogram: merged[q].histogram,
      jainIndex: jainIndex(mine.map((s) => s.transactionsPerSecond)),
      ...(tcp.length
        ? {
            rttMeanUs: tcp.reduce((a, s) => a + s.tcpInfo!.rttMeanUs, 0) / tcp.length,
            totalRetrans: tcp.reduce((a, s) => a + s.tcpInfo!.totalRetrans, 0),
          }
        : {}),
    }
  })
  return {queues, movedSessions: sessions.filter((s) => s.queue.moved).map((s) => s.id)}
}

/** A queue whose sessions' p99 is this many times the other queues' is the slow one. */
export const SLOW_QUEUE_FACTOR = 3

export interface QueueFinding {
  queue: number
  kind: 'crowded' | 'slow'
  /** one sentence with the numbers */
  text: string
}

/**
 * What the per-queue figures single out, strongest first: several sessions on one queue while
 * another carried none (more queues cannot help until the flows spread), or one queue whose
 * sessions' p99 is SLOW_QUEUE_FACTOR times the highest of the others'. Undefined when neither holds.
 */
export function queueFinding(queues: QueueGroup[]): QueueFinding | undefined {
  const idle = queues.filter((q) => q.sessions.length === 0)
  const crowded = [...queues].sort((a, b) => b.sessions.length - a.sessions.length)[0]
  if (idle.length > 0 && crowded && crowded.sessions.length >= 2)
    return {
      queue: crowded.queue,
      kind: 'crowded',
      text: `queue ${crowded.queue} carried ${crowded.sessions.length} of ${queues.reduce((a, q) => a + q.sessions.length, 0)} attributed sessions while queue ${idle.map((q) => q.queue).join(', ')} carried none`,
    }
  const busy = queues.filter((q) => q.latency.count > 0)
  for (const q of busy) {
    const others = busy.filter((o) => o !== q)
    if (others.length === 0) break
    const worst = Math.max(...others.map((o) => o.latency.p99))
    if (worst > 0 && q.latency.p99 >= SLOW_QUEUE_FACTOR * worst)
      return {
        queue: q.queue,
        kind: 'slow',
        text: `queue ${q.queue}'s sessions had p99 ${q.latency.p99.toFixed(1)} us, ${(q.latency.p99 / worst).toFixed(1)}x the ${worst.toFixed(1)} us of the other queues' worst`,
      }
  }
  return undefined
}

/** One queue at one step of a sweep: its iterations' groups together. */
export interface StepQueue {
  queue: number
  /** attributed sessions per iteration, mean */
  sessions: number
  /** the queue's transactions per second per iteration, mean */
  transactionsPerSecond: number
  /** every iteration's merged histogram of the queue, merged again */
  latency: LatencySummaryUs
  jainIndex: number
  rttMeanUs?: number
  totalRetrans: number
}

/** Where one session ran over a step's iterations: iterations per queue, moved, not attributed. */
export interface SessionPlacement {
  session: number
  perQueue: number[]
  moved: number
  unattributed: number
}

export interface StepQueues {
  /** the methods its sessions were attributed by ("veth-xps", ...) */
  methods: string[]
  queues: StepQueue[]
  placement: SessionPlacement[]
  finding?: QueueFinding
}

/**
 * A step's per-queue figures over its iterations (rr results with queue groups); undefined when no
 * iteration attributed a session. `merge` merges encoded histograms (results/histogram.ts), passed
 * in so this module stays free of the histogram library.
 */
export function stepQueues(
  results: RrResult[],
  queueCount: number,
  merge: (encoded: string[]) => LatencySummaryUs,
): StepQueues | undefined {
  const withGroups = results.filter((r) => r.queues && r.queues.length > 0)
  if (withGroups.length === 0) return undefined
  const n = withGroups.length
  const queues = Array.from({length: queueCount}, (_, q): StepQueue => {
    const gs = withGroups.map((r) => r.queues![q]).filter((g): g is QueueGroup => g !== undefined)
    const rtts = gs.flatMap((g) => (g.rttMeanUs === undefined ? [] : [g.rttMeanUs]))
    return {
      queue: q,
      sessions: gs.reduce((a, g) => a + g.sessions.length, 0) / n,
      transactionsPerSecond: gs.reduce((a, g) => a + g.transactionsPerSecond, 0) / n,
      latency: merge(gs.map((g) => g.latencyHistogram)),
      jainIndex: gs.reduce((a, g) => a + g.jainIndex, 0) / Math.max(1, gs.length),
      ...(rtts.length ? {rttMeanUs: rtts.reduce((a, v) => a + v, 0) / rtts.length} : {}),
      totalRetrans: gs.reduce((a, g) => a + (g.totalRetrans ?? 0), 0),
    }
  })
  const placement = new Map<number, SessionPlacement>()
  for (const r of withGroups)
    for (const s of r.sessions) {
      const p = placement.get(s.id) ?? {
        session: s.id,
        perQueue: Array(queueCount).fill(0),
        moved: 0,
        unattributed: 0,
      }
      if (s.queue.moved) p.moved++
      else if (s.queue.queue === undefined || s.queue.queue >= queueCount) p.unattributed++
      else p.perQueue[s.queue.queue]++
      placement.set(s.id, p)
    }
  // The finding reads the step as one run: sessions per queue summed, latency merged.
  const asGroups = queues.map((q): QueueGroup => ({
    queue: q.queue,
    sessions: Array.from({length: Math.round(q.sessions)}, (_, i) => i),
    transactions: 0,
    transactionsPerSecond: q.transactionsPerSecond,
    latency: q.latency,
    latencyHistogram: '',
    jainIndex: q.jainIndex,
  }))
  const finding = queueFinding(asGroups)
  return {
    methods: [...new Set(withGroups.flatMap((r) => r.sessions.map((s) => s.queue.method)))].sort(),
    queues,
    placement: [...placement.values()].sort((a, b) => a.session - b.session),
    ...(finding ? {finding} : {}),
  }
}
