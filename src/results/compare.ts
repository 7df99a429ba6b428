// Two runs side by side: for every queue count both measured, the change of each metric and
// whether it is beyond the noise of the iterations (Welch's interval of the difference of the
// means excludes 0). Runs of different workloads have no common primary metric and are not compared.
// What else differs between the runs and moves the figures by itself (the latency definition, where
// the ends ran) is named, and a change it could explain is not judged better or worse.
import {differenceOfMeans, type Difference} from './estimate.js'
import {describePlacement, placementDifferences} from './placement.js'
import type {ScalingSummary, StepSummary} from './stats.js'

export interface MetricChange extends Difference {
  metric: string
  unit: string
  before: number
  after: number
  /** whether a rise is an improvement (throughput) or a regression (latency, service demand) */
  higherIsBetter: boolean
  /** why a change beyond noise is not judged better or worse: the runs differ in what it also depends on */
  notJudged?: string
}

/** Something besides the change under test that differs between the runs. */
export interface RunDifference {
  /** "latency definition", "server pinning", "client pinning", "relay pinning", "vCPUs pinning" */
  what: string
  before: string
  after: string
  /**
   * the metrics whose verdict it withholds: `all` (placement moves every figure), `latency`, or
   * `none` when one side is unknown (it may differ; the file does not say)
   */
  withholds: 'all' | 'latency' | 'none'
}

export interface StepComparison {
  queueCount: number
  changes: MetricChange[]
}

export interface RunComparison {
  comparable: boolean
  /** why not, when not comparable */
  reason?: string
  /** the differences in words: a caveat that holds for every step */
  note?: string
  differences: RunDifference[]
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

/** The latency definition and each end's placement, where they differ. */
function runDifferences(before: ScalingSummary, after: ScalingSummary): RunDifference[] {
  const out: RunDifference[] = []
  const defs = [before.latencyCovers, after.latencyCovers]
  // A changed definition would otherwise pass for a latency regression or improvement.
  if (defs[0] !== defs[1] && defs[0] !== 'not recorded' && defs[1] !== 'not recorded')
    out.push({
      what: 'latency definition',
      before: defs[0] ?? 'none',
      after: defs[1] ?? 'none',
      withholds: 'latency',
    })
  for (const d of placementDifferences(before.placement, after.placement))
    out.push({
      what: `${d.end} pinning`,
      before: describePlacement(d.before),
      after: describePlacement(d.after),
      withholds: d.known ? 'all' : 'none',
    })
  return out
}

function differenceNote(ds: RunDifference[]): string | undefined {
  const parts: string[] = []
  const def = ds.find((d) => d.what === 'latency definition')
  if (def) parts.push(`the latency definition changed: before, ${def.before}; after, ${def.after}`)
  const list = (xs: RunDifference[]) =>
    xs.map((d) => `${d.what} ${d.before} before, ${d.after} after`).join('; ')
  const placed = ds.filter((d) => d.what !== 'latency definition' && d.withholds === 'all')
  if (placed.length)
    parts.push(
      `the runs were pinned differently (${list(placed)}): where the ends run moves these figures by itself, ` +
        `a single session's most of all, so no change is judged better or worse`,
    )
  const unknown = ds.filter((d) => d.what !== 'latency definition' && d.withholds === 'none')
  if (unknown.length)
    parts.push(`pinning not known for both runs (${list(unknown)}): the changes may be the placement's`)
  return parts.length ? parts.join('; ') : undefined
}

/** The differences that could explain a change of this metric: "the client pinning and the server pinning differ". */
function withheldBy(m: MetricChange, ds: RunDifference[]): string | undefined {
  const latency = m.metric.endsWith('latency')
  const whats = ds
    .filter((x) => x.withholds === 'all' || (x.withholds === 'latency' && latency))
    .map((x) => `the ${x.what}`)
  if (whats.length === 0) return undefined
  if (whats.length === 1) return `${whats[0]} differs`
  return `${whats.slice(0, -1).join(', ')} and ${whats.at(-1)} differ`
}

/** Compares `after` with `before` at every queue count both have. */
export function compareRuns(before: ScalingSummary, after: ScalingSummary): RunComparison {
  if (before.metric.key !== after.metric.key) {
    return {
      comparable: false,
      reason: `different workloads: ${before.metric.label} vs ${after.metric.label}`,
      differences: [],
      steps: [],
    }
  }
  const confidence = Math.min(before.confidence, after.confidence)
  const differences = runDifferences(before, after)
  const steps: StepComparison[] = []
  for (const a of before.steps) {
    const b = after.steps.find((s) => s.queueCount === a.queueCount)
    if (!b) continue
    const st = compareStep(a, b, before, confidence)
    for (const m of st.changes) {
      const why = m.beyondNoise ? withheldBy(m, differences) : undefined
      if (why) m.notJudged = why
    }
    steps.push(st)
  }
  if (steps.length === 0)
    return {comparable: false, reason: 'no queue count was measured in both runs', differences, steps}
  const note = differenceNote(differences)
  return {comparable: true, ...(note ? {note} : {}), differences, steps}
}
