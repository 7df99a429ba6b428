// Two runs side by side: for every queue count both measured, the change of each metric and
// whether it is beyond the noise of the iterations (Welch's interval of the difference of the
// means excludes 0). Runs of different workloads have no common primary metric and are not compared.
import {differenceOfMeans, type Difference} from './estimate.js'
import type {ScalingSummary, StepSummary} from './stats.js'

export interface MetricChange extends Difference {
  metric: string
  unit: string
  before: number
  after: number
  /** whether a rise is an improvement (throughput) or a regression (latency, service demand) */
  higherIsBetter: boolean
}

export interface StepComparison {
  queueCount: number
  changes: MetricChange[]
}

export interface RunComparison {
  comparable: boolean
  /** why not, when not comparable */
  reason?: string
  /** a caveat that holds for every step: the runs' latency samples cover different things */
  note?: string
  steps: StepComparison[]
}

function change(
  metric: string,
  unit: string,
  higherIsBetter: boolean,
  before: number[],
  after: number[],
  confidence: number,
): MetricChange | null {
  if (before.length === 0 || after.length === 0) return null
  const d = differenceOfMeans(before, after, confidence)
  const m = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length
  return {metric, unit, higherIsBetter, before: m(before), after: m(after), ...d}
}

function compareStep(
  a: StepSummary,
  b: StepSummary,
  before: ScalingSummary,
  confidence: number,
): StepComparison {
  const changes = [
    change(before.metric.label, before.metric.unit, true, a.perIteration, b.perIteration, confidence),
    change(
      'p50 latency',
      'µs',
      false,
      a.latencyPerIteration?.values.p50 ?? [],
      b.latencyPerIteration?.values.p50 ?? [],
      confidence,
    ),
    change(
      'p99 latency',
      'µs',
      false,
      a.latencyPerIteration?.values.p99 ?? [],
      b.latencyPerIteration?.values.p99 ?? [],
      confidence,
    ),
    change(
      'service demand',
      before.serviceDemandUnit,
      false,
      a.serviceDemandPerIteration,
      b.serviceDemandPerIteration,
      confidence,
    ),
  ].filter((c): c is MetricChange => c !== null)
  return {queueCount: a.queueCount, changes}
}

/** Compares `after` with `before` at every queue count both have. */
export function compareRuns(before: ScalingSummary, after: ScalingSummary): RunComparison {
  if (before.metric.key !== after.metric.key) {
    return {
      comparable: false,
      reason: `different workloads: ${before.metric.label} vs ${after.metric.label}`,
      steps: [],
    }
  }
  const confidence = Math.min(before.confidence, after.confidence)
  const steps: StepComparison[] = []
  for (const a of before.steps) {
    const b = after.steps.find((s) => s.queueCount === a.queueCount)
    if (b) steps.push(compareStep(a, b, before, confidence))
  }
  if (steps.length === 0)
    return {comparable: false, reason: 'no queue count was measured in both runs', steps}
  const defs = [before.latencyCovers, after.latencyCovers]
  // A changed definition would otherwise pass for a latency regression or improvement.
  if (defs[0] !== defs[1] && defs[0] !== 'not recorded' && defs[1] !== 'not recorded')
    return {
      comparable: true,
      note: `the latency definition changed: before, ${defs[0] ?? 'none'}; after, ${defs[1] ?? 'none'}`,
      steps,
    }
  return {comparable: true, steps}
}
