// Derived figures of a sweep, recomputed from the raw figures of a results file: the primary
// metric per step with its interval, speed-up and scaling efficiency over the smallest queue
// count, latency merged over every session's histogram, CPU split per CPU, service demand, and
// the per-queue share of traffic with a verdict. Pure: a ResultsFile in, plain numbers out.
import {ExitCode, MqbError} from '../errors.js'
import {
  emptyHistogram,
  mergeHistograms,
  percentileDistribution,
  runHistogram,
  summarizeHistogram,
} from './histogram.js'
import {stepQueues, type StepQueues} from './queues.js'
import {describe, ratioOfMeans, type Estimate, type RatioEstimate} from './estimate.js'
import {runPlacement, type RunPlacement} from './placement.js'
import type {
  InterruptDelta,
  Iteration,
  LatencySummaryUs,
  PerCpuTime,
  QueueTraffic,
  QueueVerdict,
  ResultsFile,
  Step,
  WorkloadResult,
} from './schema.js'

export type {Estimate, RatioEstimate} from './estimate.js'

export interface MetricInfo {
  key: 'transactionsPerSecond' | 'gbps' | 'pps'
  /** what the figure counts, in the field's words */
  label: string
  unit: string
}

const METRICS: Record<WorkloadResult['workload'], MetricInfo> = {
  rr: {key: 'transactionsPerSecond', label: 'transactions/s', unit: 'tx/s'},
  stream: {key: 'gbps', label: 'throughput', unit: 'Gbit/s'},
  gen: {key: 'pps', label: 'packets/s', unit: 'pps'},
}

const SERVICE_DEMAND_UNIT: Record<WorkloadResult['workload'], string> = {
  rr: 'µs/tx',
  stream: 'µs/KB',
  gen: 'µs/packet',
}

export function primaryMetric(r: ResultsFile): MetricInfo {
  const first = r.steps.find((s) => s.iterations.length > 0)?.iterations[0].result.workload
  return METRICS[
    first ?? (r.config.workload === 'stream' ? 'stream' : r.config.workload === 'gen' ? 'gen' : 'rr')
  ]
}

export function metricValue(result: WorkloadResult): number {
  switch (result.workload) {
    case 'rr':
      return result.transactionsPerSecond
    case 'stream':
      return result.gbps
    case 'gen':
      return result.pps
  }
}

/** A CPU's working time in a window: everything but idle, iowait and steal. */
export const busyMs = (c: PerCpuTime) => c.userMs + c.niceMs + c.sysMs + c.irqMs + c.softirqMs

/** Service demand: the workload's own figure where it reports one, else CPU µs per packet (gen). */
export function serviceDemand(it: Iteration): number | null {
  const r = it.result
  if (r.workload === 'rr') return r.serviceDemandUsPerTx.local
  if (r.workload === 'stream') return r.serviceDemandUsPerKB.local
  if (r.packets === 0 || it.cpu.length === 0) return null
  return (it.cpu.reduce((s, c) => s + busyMs(c), 0) * 1000) / r.packets
}

// ---- per-queue share and verdict ----------------------------------------------------------------

/** Sources in order of trust: the relay counts frames itself; interrupts only count wake-ups. */
const SOURCE_RANK: QueueTraffic['source'][] = ['relay', 'ethtool', 'sysfs', 'interrupts']

/**
 * A queue is "far from its fair share" (1/N) when it carried less than half or more than twice
 * it. Hashing 20 flows over 8 queues leaves a queue with no flow about half the time, so the
 * bounds are wide enough that hash luck on 2-4 queues reads `ok` and a steered or dead queue does not.
 */
export const IMBALANCE_LOW = 0.5
export const IMBALANCE_HIGH = 2

export interface QueueShare {
  verdict: QueueVerdict
  /** share of the step's traffic per queue index 0..queueCount-1 (sums to 1 unless all are 0) */
  shares: number[]
  /** the counter source used, and whether bytes or packets were compared */
  source: QueueTraffic['source'] | null
  basis: 'bytes' | 'packets'
  drops: number
  /** traffic seen on queue indexes at or above queueCount (a detach that did not take) */
  outside: number
}

export function queueVerdict(queues: QueueTraffic[], queueCount: number): QueueShare {
  const source = SOURCE_RANK.find((s) => queues.some((q) => q.source === s)) ?? null
  const used = queues.filter((q) => q.source === source)
  const bytes = used.reduce((s, q) => s + q.txBytes + q.rxBytes, 0)
  // Interrupt deltas and some ethtool drivers have no byte counts; compare packets then.
  const basis = bytes > 0 ? 'bytes' : 'packets'
  const amount = (q: QueueTraffic) => (basis === 'bytes' ? q.txBytes + q.rxBytes : q.txPackets + q.rxPackets)
  const per = new Array<number>(queueCount).fill(0)
  let outside = 0
  for (const q of used) {
    if (q.queue < queueCount) per[q.queue] += amount(q)
    else outside += amount(q)
  }
  const total = per.reduce((s, v) => s + v, 0)
  const shares = per.map((v) => (total > 0 ? v / total : 0))
  const fair = 1 / queueCount
  let verdict: QueueVerdict = 'ok'
  if (total === 0 || per.some((v) => v === 0)) verdict = 'unused'
  else if (shares.some((s) => s < fair * IMBALANCE_LOW || s > fair * IMBALANCE_HIGH)) verdict = 'imbalanced'
  return {verdict, shares, source, basis, drops: used.reduce((s, q) => s + q.drops, 0), outside}
}

// ---- one step ---------------------------------------------------------------------------------------

export interface CpuSplit {
  cpu: number
  /** percent of that CPU's time over the step's iterations */
  userPct: number
  sysPct: number
  softirqPct: number
  irqPct: number
}

export interface StepSummary {
  queueCount: number
  iterations: number
  /** the primary metric per iteration, and its estimate */
  perIteration: number[]
  metric: Estimate
  /** over the base step (the smallest queue count, normally 1) */
  speedup: RatioEstimate
  /** speedup / (queueCount / baseQueueCount) */
  efficiency: RatioEstimate
  /** rr only: every session of every iteration merged */
  latency?: LatencySummaryUs
  /** rr only: per-iteration percentiles, for intervals and comparisons */
  latencyPerIteration?: {
    p50: Estimate
    p99: Estimate
    p999: Estimate
    values: {p50: number[]; p99: number[]; p999: number[]}
  }
  /** rr only: HdrHistogram-style percentile plot points of the merged histogram */
  latencyDistribution?: Array<{percentile: number; valueUs: number}>
  serviceDemand: Estimate | null
  serviceDemandPerIteration: number[]
  cpu: CpuSplit[]
  queues: QueueShare
  /** interrupts per queue line summed over the iterations (empty when the device has none: veth, tap) */
  queueInterrupts: QueueInterrupts[]
  /** frames the testbed devices dropped (tx_dropped + rx_dropped over all iterations) */
  deviceDrops: number
  /** rr: failed transactions; stream: retransmits; gen: send errors */
  errors: number
  stalledSessions: number
  /** rr with attributed sessions: per-queue figures and where each session ran (results/queues.ts) */
  sessionQueues?: StepQueues
}

/** One queue's interrupt counts at a step: `rx`/`tx` for split lines (virtioX-input.N/output.N), `combined` else. */
export interface QueueInterrupts {
  queue: number
  rx: number
  tx: number
  combined: number
}

/**
 * Sums interrupt deltas per queue index; lines that name no queue (a shared virtioX-virtqueues
 * line, a config line) are left out, since they prove nothing about one queue.
 */
export function queueInterrupts(deltas: InterruptDelta[]): QueueInterrupts[] {
  const per = new Map<number, QueueInterrupts>()
  for (const d of deltas) {
    if (d.queue === undefined) continue
    const q = per.get(d.queue) ?? {queue: d.queue, rx: 0, tx: 0, combined: 0}
    q[d.direction ?? 'combined'] += d.total
    per.set(d.queue, q)
  }
  return [...per.values()].sort((a, b) => a.queue - b.queue)
}

export interface ScalingSummary {
  metric: MetricInfo
  serviceDemandUnit: string
  confidence: number
  baseQueueCount: number
  steps: StepSummary[]
  /** queue count with the highest mean of the primary metric */
  best: number
  /** the smallest queue count whose mean is within 5% of the best's */
  smallestWithin5pct: number
  /** rr workloads: what one latency sample covers (RrResult.latencyCovers), so comparisons can say when it differs */
  latencyCovers?: string
  /** where each end's threads ran, so that comparisons can say when it differs */
  placement: RunPlacement
}

function cpuSplit(iterations: Iteration[]): CpuSplit[] {
  const acc = new Map<number, {user: number; sys: number; softirq: number; irq: number; total: number}>()
  for (const it of iterations) {
    for (const c of it.cpu) {
      const a = acc.get(c.cpu) ?? {user: 0, sys: 0, softirq: 0, irq: 0, total: 0}
      a.user += c.userMs + c.niceMs
      a.sys += c.sysMs
      a.softirq += c.softirqMs
      a.irq += c.irqMs
      a.total += busyMs(c) + c.idleMs + c.iowaitMs + c.stealMs
      acc.set(c.cpu, a)
    }
  }
  const pct = (v: number, t: number) => (t > 0 ? (100 * v) / t : 0)
  return [...acc.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([cpu, a]) => ({
      cpu,
      userPct: pct(a.user, a.total),
      sysPct: pct(a.sys, a.total),
      softirqPct: pct(a.softirq, a.total),
      irqPct: pct(a.irq, a.total),
    }))
}

function errorsOf(r: WorkloadResult): {errors: number; stalled: number} {
  if (r.workload === 'rr')
    return {
      errors: r.sessions.reduce((s, x) => s + x.errors, 0),
      stalled: r.sessions.filter((x) => x.stalled).length,
    }
  if (r.workload === 'stream')
    return {errors: r.sessions.reduce((s, x) => s + (x.retransmits ?? 0), 0), stalled: 0}
  return {errors: r.queues.reduce((s, q) => s + q.errors, 0), stalled: 0}
}

function latencyOf(
  step: Step,
  confidence: number,
): Pick<StepSummary, 'latency' | 'latencyPerIteration' | 'latencyDistribution'> {
  if (step.iterations[0].result.workload !== 'rr') return {}
  const merged = emptyHistogram()
  const values = {p50: [] as number[], p99: [] as number[], p999: [] as number[]}
  for (const it of step.iterations) {
    if (it.result.workload !== 'rr') continue
    const h = runHistogram(it.result)
    if (h.totalCount === 0) continue
    // Only the percentiles: a full summary's mean walks every bucket, and this runs per iteration.
    values.p50.push(h.getValueAtPercentile(50) / 1000)
    values.p99.push(h.getValueAtPercentile(99) / 1000)
    values.p999.push(h.getValueAtPercentile(99.9) / 1000)
    merged.add(h)
  }
  if (merged.totalCount === 0) return {}
  return {
    latency: summarizeHistogram(merged),
    latencyPerIteration: {
      p50: describe(values.p50, confidence),
      p99: describe(values.p99, confidence),
      p999: describe(values.p999, confidence),
      values,
    },
    latencyDistribution: percentileDistribution(merged),
  }
}

function sessionQueuesOf(step: Step): Pick<StepSummary, 'sessionQueues'> {
  const rr = step.iterations.flatMap((it) => (it.result.workload === 'rr' ? [it.result] : []))
  const q = stepQueues(rr, step.queueCount, (encoded) => summarizeHistogram(mergeHistograms(encoded)))
  return q ? {sessionQueues: q} : {}
}

/** Every derived figure of a sweep. `confidence` is the level of every interval (0.95 by default). */
export function scalingSummary(r: ResultsFile, opts: {confidence?: number} = {}): ScalingSummary {
  const confidence = opts.confidence ?? 0.95
  const steps = r.steps.filter((s) => s.iterations.length > 0).sort((a, b) => a.queueCount - b.queueCount)
  // Reachable from a sweep interrupted during its first step: one line, not a stack trace.
  if (steps.length === 0)
    throw new MqbError(
      `the run ${r.run.id} recorded no measured step (status "${r.run.status}"); nothing to summarise`,
      ExitCode.badResults,
    )
  const metric = primaryMetric(r)
  const base = steps[0]
  const baseValues = base.iterations.map((it) => metricValue(it.result))
  const summaries = steps.map((step): StepSummary => {
    const perIteration = step.iterations.map((it) => metricValue(it.result))
    // The base step against itself is 1 by definition, not an estimate with an interval.
    const speedup = step === base ? {value: 1, ci: null} : ratioOfMeans(perIteration, baseValues, confidence)
    const scale = step.queueCount / base.queueCount
    const efficiency: RatioEstimate = {
      value: speedup.value / scale,
      ci: speedup.ci && {low: speedup.ci.low / scale, high: speedup.ci.high / scale},
    }
    const sd = step.iterations.map(serviceDemand).filter((v): v is number => v !== null)
    const errs = step.iterations.map((it) => errorsOf(it.result))
    return {
      queueCount: step.queueCount,
      iterations: step.iterations.length,
      perIteration,
      metric: describe(perIteration, confidence),
      speedup,
      efficiency,
      ...latencyOf(step, confidence),
      serviceDemand: sd.length > 0 ? describe(sd, confidence) : null,
      serviceDemandPerIteration: sd,
      cpu: cpuSplit(step.iterations),
      queues: queueVerdict(
        step.iterations.flatMap((it) => it.queues),
        step.queueCount,
      ),
      queueInterrupts: queueInterrupts(step.iterations.flatMap((it) => it.interrupts)),
      deviceDrops: step.iterations.reduce(
        (a, it) => a + (it.deviceDrops ?? []).reduce((b, d) => b + d.txDropped + d.rxDropped, 0),
        0,
      ),
      errors: errs.reduce((s, e) => s + e.errors, 0),
      stalledSessions: errs.reduce((s, e) => s + e.stalled, 0),
      ...sessionQueuesOf(step),
    }
  })
  const best = summaries.reduce((a, b) => (b.metric.mean > a.metric.mean ? b : a))
  const within = summaries.find((s) => s.metric.mean >= 0.95 * best.metric.mean) ?? best
  return {
    metric,
    serviceDemandUnit: SERVICE_DEMAND_UNIT[steps[0].iterations[0].result.workload],
    confidence,
    baseQueueCount: base.queueCount,
    steps: summaries,
    best: best.queueCount,
    smallestWithin5pct: within.queueCount,
    ...latencyDefinition(steps[0].iterations[0].result),
    placement: runPlacement(r),
  }
}

/** Files written before results recorded the definition said nothing; for tcp_crr it was narrower. */
function latencyDefinition(r: Iteration['result']): {latencyCovers?: string} {
  if (r.workload !== 'rr') return {}
  return {
    latencyCovers:
      r.latencyCovers ??
      (r.type === 'tcp_crr'
        ? 'connect() to the last response byte (socket() and close() left out)'
        : 'not recorded'),
  }
}
