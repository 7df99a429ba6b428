// The words at the top of a report: what multiqueue bought over one queue, with its interval,
// where it stops paying, and anything that makes the numbers doubtful (unused or imbalanced
// queues, errors, an unfinished run). Everything here is computed from a ScalingSummary.
import type {RunComparison} from '../results/compare.js'
import type {ResultsFile} from '../results/schema.js'
import {limitedBy} from '../results/limited-by.js'
import type {ScalingSummary, StepSummary} from '../results/stats.js'
import {fixed, fmt, interval, pct, queues, signedPct} from '../util/format.js'

/** The step a reader should look at: the smallest within 5% of the best, if it is not the base. */
export function headlineStep(s: ScalingSummary): StepSummary | undefined {
  const pick = (n: number) => s.steps.find((x) => x.queueCount === n && n !== s.baseQueueCount)
  return (
    pick(s.smallestWithin5pct) ??
    pick(s.best) ??
    s.steps.filter((x) => x.queueCount !== s.baseQueueCount).at(-1)
  )
}

export function summarySentences(r: ResultsFile, s: ScalingSummary): string[] {
  const out: string[] = []
  const base = s.steps[0]
  const level = `${Math.round(s.confidence * 100)}% CI`
  const head = headlineStep(s)
  if (!head) {
    const ci = base.metric.ci ? ` (${level} ${interval(base.metric.ci)})` : ''
    out.push(
      `Only ${queues(base.queueCount)} measured: ${fmt(base.metric.mean)} ${s.metric.unit}${ci}; nothing to compare it with.`,
    )
  } else {
    const parts = [
      `${queues(head.queueCount)}: ${fixed(head.speedup.value)}x the ${s.metric.label} of ${queues(base.queueCount)}`,
    ]
    if (head.speedup.ci) parts[0] += ` (${level} ${interval(head.speedup.ci, (v) => fixed(v))})`
    parts[0] += `, efficiency ${pct(head.efficiency.value)}`
    if (head.latency && base.latency && base.latency.p99 > 0)
      parts.push(`p99 latency ${signedPct(head.latency.p99 / base.latency.p99 - 1)}`)
    parts.push(`best: ${queues(s.best)}`)
    parts.push(`smallest within 5% of best: ${s.smallestWithin5pct}`)
    out.push(parts.join('; ') + '.')
  }
  const verdict = limitedBy(r, s)
  out.push(
    `Limited by ${verdict.kind}: ${verdict.headline}${verdict.evidence.length ? ` (${verdict.evidence.join('; ')})` : ''}.${verdict.advice ? ` Try: ${verdict.advice}.` : ''}`,
  )
  // Without any per-queue counter the verdict reads `unused`, but nothing is known: say so instead.
  const blind = s.steps.filter((x) => x.queues.source === null)
  if (blind.length > 0)
    out.push(
      `No per-queue counters were recorded at ${blind.map((x) => queues(x.queueCount)).join(', ')}: queue use there is unknown.`,
    )
  const bad = s.steps.filter((x) => x.queues.verdict !== 'ok' && x.queues.source !== null)
  if (bad.length > 0) {
    out.push(
      'Queue use: ' +
        bad
          .map(
            (x) =>
              `${x.queues.verdict} at ${queues(x.queueCount)} (shares ${x.queues.shares.map((v) => Math.round(v * 100)).join('/')}%)`,
          )
          .join('; ') +
        '.',
    )
  }
  const drops = s.steps.reduce((a, x) => a + x.queues.drops, 0)
  if (drops > 0)
    out.push(
      `${fmt(drops)} frames dropped at the queues (${s.steps
        .filter((x) => x.queues.drops > 0)
        .map((x) => queues(x.queueCount))
        .join(', ')}).`,
    )
  const devDropped = s.steps.filter((x) => x.deviceDrops > 0)
  if (devDropped.length > 0)
    out.push(
      `The testbed devices dropped frames at ${devDropped.map((x) => `${queues(x.queueCount)} (${fmt(x.deviceDrops)})`).join(', ')}: a reader fell behind, so those steps measure drops as well as the queues.`,
    )
  const stalled = s.steps.filter((x) => x.stalledSessions > 0)
  if (stalled.length > 0)
    out.push(
      `Stalled sessions at ${stalled.map((x) => `${queues(x.queueCount)} (${x.stalledSessions})`).join(', ')}: those steps understate what the queues can do.`,
    )
  if (r.run.status !== 'complete') {
    const measured = s.steps.map((x) => x.queueCount).join(', ')
    out.push(
      `The run is ${r.run.status}${r.run.error ? ` (${r.run.error})` : ''}: measured queue counts ${measured} of ${r.config.queues.join(', ')}.`,
    )
  }
  return out
}

/** One sentence per comparable run pair: the headline metric and p99 at the queue counts both measured. */
export function comparisonSentence(beforeLabel: string, afterLabel: string, c: RunComparison): string {
  if (!c.comparable) return `${afterLabel} vs ${beforeLabel}: not compared (${c.reason}).`
  const parts = c.steps.map((st) => {
    const bits = st.changes
      .filter((m) => m.metric !== 'p50 latency')
      .map(
        (m) =>
          `${m.metric} ${signedPct(m.relative)}${m.beyondNoise === null ? ' (noise unknown: single iterations)' : m.beyondNoise ? (m.notJudged ? ` (beyond noise, not judged: ${m.notJudged})` : ' (beyond noise)') : ' (within noise)'}`,
      )
    return `at ${queues(st.queueCount)} ${bits.join(', ')}`
  })
  return `${afterLabel} vs ${beforeLabel}: ${parts.join('; ')}${c.note ? ` (${c.note})` : ''}.`
}
