// Repetition with netperf's meaning (-i max,min -I level,width): run at least MIN and at most MAX
// iterations, stopping as soon as the confidence interval of the mean is no wider than WIDTH
// percent of the mean at confidence LEVEL, and say so when MAX was reached without it. netperf's
// width is the whole interval (mean +- width/2), and so is this one's.
import {badInput} from '../errors.js'
import {studentTQuantile} from '../results/estimate.js'

export interface IterationPolicy {
  min: number
  max: number
  /** percent, e.g. 99 */
  level: number
  /** percent of the mean, the full interval width */
  widthPct: number
}

export const SINGLE_RUN: IterationPolicy = {min: 1, max: 1, level: 99, widthPct: 5}

/** "10,3" or "3,10" (netperf writes max,min) or "5": the order does not matter. */
export function parseIterations(text: string): {min: number; max: number} {
  const parts = text.split(',').map((s) => Number(s.trim()))
  if (parts.length < 1 || parts.length > 2 || parts.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
    throw badInput(`--iterations ${text}: expected MIN,MAX (or one count), whole numbers 1..1000`)
  }
  return {min: Math.min(...parts), max: Math.max(...parts)}
}

/** "99,5": confidence level 90/95/99 (any 50..99.9) and the interval width in percent of the mean. */
export function parseConfidence(text: string): {level: number; widthPct: number} {
  const [level, width] = text.split(',').map((s) => Number(s.trim()))
  if (!(level >= 50 && level < 100) || !(width > 0 && width <= 100)) {
    throw badInput(
      `--confidence ${text}: expected LEVEL,WIDTH in percent, e.g. 99,5 (level 50..99.9, width 0..100)`,
    )
  }
  return {level, widthPct: width}
}

export interface ConfidenceInterval {
  n: number
  mean: number
  /** half the interval: the mean is within mean +- halfWidth at the level */
  halfWidth: number
  /** the whole interval in percent of the mean (Infinity for fewer than 2 values or a zero mean) */
  widthPct: number
}

export function confidenceInterval(xs: number[], levelPct: number): ConfidenceInterval {
  const n = xs.length
  const mean = n ? xs.reduce((s, x) => s + x, 0) / n : 0
  if (n < 2) return {n, mean, halfWidth: Infinity, widthPct: Infinity}
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1))
  const halfWidth = (studentTQuantile(1 - (1 - levelPct / 100) / 2, n - 1) * sd) / Math.sqrt(n)
  return {n, mean, halfWidth, widthPct: mean !== 0 ? (200 * halfWidth) / Math.abs(mean) : Infinity}
}

/** Whether to run another iteration after these values. */
export function needsAnotherIteration(values: number[], policy: IterationPolicy): boolean {
  if (values.length < policy.min) return true
  if (values.length >= policy.max) return false
  return confidenceInterval(values, policy.level).widthPct > policy.widthPct
}

export interface IterationOutcome<R> {
  results: R[]
  values: number[]
  interval: ConfidenceInterval
  /** true when the interval reached the width asked for (always true for a single run) */
  confidenceReached: boolean
}

/** Runs `once` until the policy is satisfied; `value` picks the figure the interval is about. */
export async function iterate<R>(
  policy: IterationPolicy,
  once: (index: number) => Promise<R>,
  value: (r: R) => number,
  stop?: () => boolean,
): Promise<IterationOutcome<R>> {
  const results: R[] = []
  const values: number[] = []
  do {
    const r = await once(results.length)
    results.push(r)
    values.push(value(r))
  } while (needsAnotherIteration(values, policy) && !stop?.())
  const interval = confidenceInterval(values, policy.level)
  return {
    results,
    values,
    interval,
    confidenceReached: policy.max === 1 || interval.widthPct <= policy.widthPct,
  }
}
