// Repetition with netperf's meaning (-i max,min -I level,width): run at least MIN and at most MAX
// iterations, stopping as soon as the confidence interval of the mean is no wider than WIDTH
// percent of the mean at confidence LEVEL, and say so when MAX was reached without it. netperf's
// width is the whole interval (mean +- width/2), and so is this one's.
import {badInput} from '../errors.js'

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
    throw badInput(`--confidence ${text}: expected LEVEL,WIDTH in percent, e.g. 99,5 (level 50..99.9, width 0..100)`)
  }
  return {level, widthPct: width}
}

// ---- Student's t quantile, from the regularised incomplete beta function ----------------------

function logGamma(x: number): number {
  const c = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5]
  let y = x
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5)
  let ser = 1.000000000190015
  for (const k of c) ser += k / ++y
  return -tmp + Math.log((2.5066282746310005 * ser) / x)
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < 1e-300) d = 1e-300
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    c = 1 + aa / c
    d = 1 / (Math.abs(d) < 1e-300 ? 1e-300 : d)
    h *= d * (Math.abs(c) < 1e-300 ? 1e300 : c)
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    c = 1 + aa / c
    d = 1 / (Math.abs(d) < 1e-300 ? 1e-300 : d)
    const del = d * (Math.abs(c) < 1e-300 ? 1e300 : c)
    h *= del
    if (Math.abs(del - 1) < 1e-12) break
  }
  return h
}

function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t * t))
  return t >= 0 ? 1 - tail : tail
}

/** The t value with P(T <= t) = p (bisection: a few dozen CDF evaluations, run once per iteration). */
export function studentTQuantile(p: number, df: number): number {
  let lo = 0
  let hi = 1e4
  for (let i = 0; i < 200 && hi - lo > 1e-10; i++) {
    const mid = (lo + hi) / 2
    if (studentTCdf(mid, df) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
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
export async function iterate<R>(policy: IterationPolicy, once: (index: number) => Promise<R>, value: (r: R) => number, stop?: () => boolean): Promise<IterationOutcome<R>> {
  const results: R[] = []
  const values: number[] = []
  do {
    const r = await once(results.length)
    results.push(r)
    values.push(value(r))
  } while (needsAnotherIteration(values, policy) && !stop?.())
  const interval = confidenceInterval(values, policy.level)
  return {results, values, interval, confidenceReached: policy.max === 1 || interval.widthPct <= policy.widthPct}
}
