// `tune --from RESULTS.json`: the queue count a scale run supports, the smallest one whose
// throughput is within 5% of the best (more queues than that cost interrupts, memory and CPU
// for no measurable gain). The statistics are the results layer's (scalingSummary).
import {ExitCode, MqbError} from '../errors.js'
import {loadResults} from '../results/load.js'
import type {ResultsFile} from '../results/schema.js'
import {limitedBy, type LimitVerdict} from '../results/limited-by.js'
import {scalingSummary} from '../results/stats.js'
import type {Finding} from './findings.js'
import {fmt} from '../util/format.js'

export interface QueueCountAdvice {
  file: string
  best: number
  smallestWithin5pct: number
  metric: string
  /** mean of the primary metric per queue count */
  means: Array<{queueCount: number; mean: number}>
  /** what limited the run's scaling */
  limitedBy: LimitVerdict
}

export function queueCountAdvice(results: ResultsFile, file: string): QueueCountAdvice {
  if (!results.steps.some((st) => st.iterations.length > 0))
    throw new MqbError(`${file} holds no measured step: nothing to recommend from`, ExitCode.badResults)
  const s = scalingSummary(results)
  return {
    file,
    best: s.best,
    smallestWithin5pct: s.smallestWithin5pct,
    metric: s.metric.label,
    means: s.steps.map((st) => ({queueCount: st.queueCount, mean: st.metric.mean})),
    limitedBy: limitedBy(results, s),
  }
}

export function loadQueueCountAdvice(path: string): QueueCountAdvice {
  return queueCountAdvice(loadResults(path), path)
}

export function adviceFinding(
  a: QueueCountAdvice,
  dev: string,
  setCommand: (n: number) => string,
  current?: number,
): Finding {
  const mean = (q: number) => a.means.find((m) => m.queueCount === q)?.mean ?? NaN
  const runs = a.means.map((m) => `${m.queueCount}:${fmt(m.mean)}`).join(' ')
  const pick = a.smallestWithin5pct
  const matches = current === pick
  return {
    area: 'queue-count',
    level: matches ? 'ok' : 'warn',
    finding: `scale run ${a.file}: best ${a.metric} ${fmt(mean(a.best))} at ${a.best} queue(s); ${pick} queue(s) reach ${fmt(mean(pick))}, within 5% (${runs})`,
    recommendation: matches ? undefined : `use ${pick} queue(s) on ${dev}: \`${setCommand(pick)}\``,
    commands: matches ? undefined : [setCommand(pick)],
    reason: `the smallest queue count within 5% of the best gives the throughput for the fewest interrupt vectors, rings and busy CPUs`,
  }
}

/**
 * What limited the scale run, as a finding beside the queue-count advice: a run limited by one
 * CPU points at the IRQ affinity, XPS and RPS findings below it; one limited by all CPUs says why
 * no queue count beyond the smallest pays.
 */
export function limitedByFinding(a: QueueCountAdvice): Finding {
  const v = a.limitedBy
  return {
    area: 'limited-by',
    level: v.kind === 'none found' ? 'ok' : 'warn',
    finding: `scale run ${a.file} was limited by ${v.kind}: ${v.headline}`,
    recommendation: v.advice,
    reason: v.evidence.join('; ') || undefined,
  }
}
