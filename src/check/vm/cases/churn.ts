// tp-qemu mq_change_qnum: the queue count changed again and again (1..N, then 1,2,1,3,...,1,N)
// while TCP_RR sessions, a few UDP_RR sessions and a TCP stream run between host and guest.
// Every change is read back from its three witnesses (guest channels, guest sysfs, host tap:
// testbed.setQueueCount); no TCP_RR session may stall or fail, the stream must end without
// error, UDP_RR's ping-style loss (timed-out transactions / all) must stay within 5%, and the
// guest's kernel log must show nothing new (no call trace, TX timeout, lockup...) afterwards.
import {runRr, runStream} from '../../../sessions/index.js'
import type {RrResult, StreamResult} from '../../../results/schema.js'
import {serverFor} from '../../../scale/workloads.js'
import {guestKernelProblems, healthCheck, kernelLogMark} from '../health.js'
import {verdict, notApplicable} from '../judge.js'
import type {CaseContext, CaseOutcome, LoadFigure, PlanCheck, VmCase} from '../types.js'

export const MAX_LOSS = 0.05
/** UDP_RR sessions beside the TCP ones: the ping of the case. */
const UDP_SESSIONS = 2

/**
 * `count` queue counts to set, starting from N (in force), none equal to the one before:
 * 1..N, then 1,2,1,3,...,1,N, and again.
 */
export function churnSequence(n: number, count: number): number[] {
  if (n < 2) return []
  const up = Array.from({length: n}, (_, i) => i + 1)
  const alt = up.slice(1).flatMap((k) => [1, k])
  const cycle = [...up, ...alt]
  const out: number[] = []
  let prev = n
  for (let i = 0; out.length < count; i++) {
    const k = cycle[i % cycle.length]
    if (k === prev) continue
    out.push(k)
    prev = k
  }
  return out
}

export interface ChangeRecord {
  to: number
  ms: number
  /** the witnesses' disagreement or the agent's error */
  error?: string
}

export function judgeChanges(changes: ChangeRecord[], wanted: number, underLoad: number): PlanCheck {
  const bad = changes.filter((c) => c.error)
  const slowest = Math.max(0, ...changes.map((c) => c.ms))
  const seq = changes.map((c) => c.to)
  return verdict(
    'changes',
    `${wanted} queue-count changes under load, each read back from guest channels, sysfs and the host tap`,
    changes.length === wanted && bad.length === 0 && underLoad === wanted,
    `${changes.length} changes (${seq.slice(0, 12).join(',')}${seq.length > 12 ? ',...' : ''}), ${underLoad} while the load ran, ` +
      `slowest ${Math.round(slowest)} ms${bad.length ? `; ${bad.length} failed, first: to ${bad[0].to}: ${bad[0].error}` : ''}`,
  )
}

const failed = (why: unknown) => (why instanceof Error ? why.message : String(why))

export function judgeRr(r: RrResult | {error: string}, sessions: number): PlanCheck {
  const t = `${sessions} TCP_RR sessions: none stalled (1 s without a transaction) or failed`
  if ('error' in r) return verdict('rr-stalls', t, false, r.error)
  const stalled = r.sessions.filter((s) => s.stalled).length
  const errors = r.sessions.reduce((a, s) => a + s.errors, 0)
  return verdict(
    'rr-stalls',
    t,
    r.sessions.length === sessions && stalled === 0 && errors === 0,
    `${r.sessions.length} sessions, ${stalled} stalled, ${errors} errors, ${Math.round(r.transactionsPerSecond)} transactions/s`,
  )
}

export function judgeStream(r: StreamResult | {error: string}): PlanCheck {
  const t = 'the TCP stream ran to its end without a transfer error'
  if ('error' in r) return verdict('stream', t, false, r.error)
  const idle = r.sessions.filter((s) => s.bytes === 0).length
  return verdict(
    'stream',
    t,
    r.sessions.length > 0 && idle === 0,
    `${r.sessions.length} stream${r.sessions.length === 1 ? '' : 's'}, ${(r.gbps * 1000).toFixed(0)} Mbit/s, ${idle} without a byte`,
  )
}

/** UDP_RR's ping: a transaction not answered within 200 ms counts an error (native/rr.cc) and is resent. */
export function judgeLoss(r: RrResult | {error: string}): PlanCheck {
  const t = `UDP_RR loss (unanswered / all transactions) within ${MAX_LOSS * 100}%`
  if ('error' in r) return verdict('loss', t, false, r.error)
  const ok = r.sessions.reduce((a, s) => a + s.transactions, 0)
  const lost = r.sessions.reduce((a, s) => a + s.errors, 0)
  const loss = ok + lost > 0 ? lost / (ok + lost) : 1
  return verdict(
    'loss',
    t,
    ok > 0 && loss <= MAX_LOSS,
    `${lost} lost of ${ok + lost} (${(loss * 100).toFixed(2)}%)`,
  )
}

/** The load figures of the churn (each run once: its noise is the churn's, not a repeat's). */
export function churnLoads(
  rr: RrResult | {error: string},
  stream: StreamResult | {error: string},
  o: {sessions: number; queues: number; durationMs: number},
): LoadFigure[] {
  const out: LoadFigure[] = []
  if (!('error' in rr))
    out.push({
      label: `${o.sessions} TCP_RR sessions under churn`,
      workloads: ['tcp_rr'],
      sessions: o.sessions,
      queues: o.queues,
      durationMs: o.durationMs,
      transactionsPerSecond: rr.transactionsPerSecond,
      errors: rr.sessions.reduce((a, s) => a + s.errors, 0),
    })
  if (!('error' in stream))
    out.push({
      label: '1 TCP stream under churn',
      workloads: ['tcp_stream'],
      sessions: 1,
      queues: o.queues,
      durationMs: o.durationMs,
      bitsPerSecond: stream.gbps * 1e9,
    })
  return out
}

export interface ChurnOptions {
  /** changes in the run (default 50; --extended: 300) */
  changes?: number
  /** at the middle of the churn, for the test that breaks it (e.g. the link cut for a while) */
  midway?: (ctx: CaseContext) => Promise<void>
}

/** Under TCG a change takes ~70 ms idle and a few hundred under load: the loads last for this. */
/**
 * The phase line while the load outlives the changes (churn_long: 300 changes in about 10 s, then
 * up to 75 s of load): without it the plan is silent until the load ends. None for the last 2 s.
 */
export function loadTailPhase(changes: number, loadMs: number, elapsedMs: number): string | undefined {
  const leftS = Math.round((loadMs - elapsedMs) / 1000)
  if (leftS < 2) return undefined
  return `${changes} changes made; waiting ${leftS} s for the load to finish (it runs ${Math.round(loadMs / 1000)} s)`
}

export const churnLoadMs = (changes: number, durationMs: number) => Math.max(durationMs, 3000 + changes * 250)

export function makeChurnCase(o: ChurnOptions = {}, set: VmCase['set'] = 'default'): VmCase {
  const count = o.changes ?? 50
  return {
    id: set === 'default' ? 'churn' : 'churn_long',
    title: `${count} queue-count changes under TCP_RR, UDP_RR and a stream`,
    source: 'tp-qemu',
    set,
    boundMs: (p) => 60_000 + 2 * churnLoadMs(count, p.durationMs),
    async run(ctx): Promise<CaseOutcome> {
      const n = ctx.params.queues
      if (n < 2)
        return {
          checks: [
            notApplicable(
              'changes',
              'queue-count changes',
              `one queue pair (queues ${n}): nothing to change`,
            ),
          ],
        }
      const bed = await ctx.shared()
      const tb = bed.testbed
      const seq = churnSequence(n, count)
      const sessions = ctx.params.sessions
      const loadMs = churnLoadMs(count, ctx.params.durationMs)
      ctx.phase(`${sessions} TCP_RR + ${UDP_SESSIONS} UDP_RR sessions + 1 stream for ${loadMs / 1000} s`)
      const mark = await kernelLogMark(bed)
      const ep = await serverFor(tb, sessions + UDP_SESSIONS + 1)
      const changes: ChangeRecord[] = []
      let underLoad = 0
      let loadsDone = false
      try {
        const common = {server: ep.server, port: ep.port, netns: tb.nsA, token: ep.token, durationMs: loadMs}
        const hooks = {signal: ctx.signal}
        const settle = <T>(p: Promise<T>) => p.catch((err: unknown) => ({error: failed(err)}))
        const loadStart = performance.now()
        const loads = Promise.all([
          settle(runRr({...common, type: 'tcp_rr', sessions, requestSize: 1, responseSize: 1}, hooks)),
          settle(
            runRr(
              {...common, type: 'udp_rr', sessions: UDP_SESSIONS, requestSize: 1, responseSize: 1},
              hooks,
            ),
          ),
          settle(runStream({...common, type: 'tcp_stream', sessions: 1, messageSize: 16384}, hooks)),
        ]).finally(() => (loadsDone = true))
        // Let the sessions connect first: a change during the ramp tests the connect, not the churn.
        await new Promise((r) => setTimeout(r, 1500))
        for (const [i, k] of seq.entries()) {
          if (ctx.signal.aborted) break
          if (i === seq.length >> 1 && o.midway) await o.midway(ctx)
          if (i % 10 === 0) ctx.phase(`change ${i + 1}/${seq.length}: combined ${k}`)
          const t = performance.now()
          const rec: ChangeRecord = {to: k, ms: 0}
          try {
            await tb.setQueueCount(k)
          } catch (err) {
            rec.error = failed(err)
          }
          rec.ms = performance.now() - t
          changes.push(rec)
          if (!loadsDone) underLoad++
        }
        const tail = loadsDone
          ? undefined
          : loadTailPhase(changes.length, loadMs, performance.now() - loadStart)
        if (tail) ctx.phase(tail)
        const [rr, udp, stream] = await loads
        const health = await guestKernelProblems(bed, mark)
        return {
          checks: [
            judgeChanges(changes, count, underLoad),
            judgeRr(rr, sessions),
            judgeStream(stream),
            judgeLoss(udp),
            healthCheck(health),
          ],
          figures: {
            kernelLog: health.problems,
            changes: changes.length,
            changeMs: changes.map((c) => Math.round(c.ms)),
            loads: churnLoads(rr, stream, {sessions, queues: n, durationMs: loadMs}),
          },
        }
      } finally {
        await ep.close()
        if (tb.queueCount() !== n) await tb.setQueueCount(n)
      }
    },
  }
}

export const churnCase = makeChurnCase()
export const churnLongCase = makeChurnCase({changes: 300}, 'extended')
