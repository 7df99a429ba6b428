// Small-sample statistics for iterations: a run has 3-10 iterations per step, so intervals use
// Student's t rather than the normal approximation, and a ratio of two means (speed-up,
// efficiency) gets Fieller's interval rather than a naive ratio of interval ends. All pure.

/** ln Γ(x), Lanczos approximation (g=7, n=9); relative error below 1e-13 for x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x)
  x -= 1
  let a = c[0]
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += c[i] / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Continued fraction for the regularised incomplete beta function (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-15) break
  }
  return h
}

/** I_x(a, b), the regularised incomplete beta function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2) ? (front * betaCf(a, b, x)) / a : 1 - (front * betaCf(b, a, 1 - x)) / b
}

/** P(T <= t) for Student's t with `df` degrees of freedom (df may be fractional, as Welch's is). */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isFinite(df)) return 0.5 * (1 + erf(t / Math.SQRT2))
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for quantiles; integrate the series instead.
  let sum = x
  let term = x
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n
    const add = term / (2 * n + 1)
    sum += add
    if (Math.abs(add) < 1e-17) break
  }
  return Math.max(-1, Math.min(1, (2 / Math.sqrt(Math.PI)) * sum))
}

/** The t value with P(T <= t) = p, by bisection on the CDF (monotone, so it always converges). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`t quantile: p must be in (0, 1), got ${p}`)
  if (!(df > 0)) throw new RangeError(`t quantile: degrees of freedom must be positive, got ${df}`)
  if (p < 0.5) return -studentTQuantile(1 - p, df)
  let lo = 0
  let hi = 1
  while (studentTCdf(hi, df) < p) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2
    if (studentTCdf(mid, df) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

export interface Interval {
  low: number
  high: number
}

export interface Estimate {
  n: number
  mean: number
  median: number
  min: number
  max: number
  /** sample standard deviation (n-1); 0 for a single value */
  stddev: number
  /** confidence interval of the mean; null with fewer than 2 values */
  ci: Interval | null
}

/** The median: the middle value, or the mean of the two middle ones (NaN for no values). */
export function median(values: number[]): number {
  return middle([...values].sort((a, b) => a - b))
}

const middle = (sorted: number[]) => {
  const m = sorted.length >> 1
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2
}

export function describe(values: number[], confidence = 0.95): Estimate {
  const n = values.length
  if (n === 0) throw new RangeError('describe: no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mean = values.reduce((s, v) => s + v, 0) / n
  const stddev = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0
  let ci: Interval | null = null
  if (n > 1) {
    const half = studentTQuantile(1 - (1 - confidence) / 2, n - 1) * (stddev / Math.sqrt(n))
    ci = {low: mean - half, high: mean + half}
  }
  return {n, mean, median: middle(sorted), min: sorted[0], max: sorted[n - 1], stddev, ci}
}

export interface RatioEstimate {
  value: number
  /** null when either side has a single value, or the denominator's interval includes 0 */
  ci: Interval | null
}

/** Welch-Satterthwaite degrees of freedom of a sum of independent variance terms v_i with n_i - 1 df. */
function welchDf(terms: Array<{v: number; n: number}>): number {
  const num = terms.reduce((s, t) => s + t.v, 0) ** 2
  const den = terms.reduce((s, t) => s + (t.v * t.v) / (t.n - 1), 0)
  return den === 0 ? Infinity : num / den
}

/**
 * Ratio of two independent means, mean(num)/mean(den), with Fieller's confidence interval: the
 * set of θ for which mean(num) - θ·mean(den) is not significantly different from 0. It is exact
 * for normal means and, unlike the delta method, stays asymmetric when the denominator is noisy.
 * The t value uses Welch-Satterthwaite degrees of freedom at the point estimate.
 */
export function ratioOfMeans(num: number[], den: number[], confidence = 0.95): RatioEstimate {
  const a = describe(num, confidence)
  const b = describe(den, confidence)
  const r = a.mean / b.mean
  if (a.n < 2 || b.n < 2 || b.mean === 0) return {value: r, ci: null}
  const va = (a.stddev * a.stddev) / a.n
  const vb = (b.stddev * b.stddev) / b.n
  const df = welchDf([
    {v: va, n: a.n},
    {v: r * r * vb, n: b.n},
  ])
  const t =
    df === Infinity
      ? studentTQuantile(1 - (1 - confidence) / 2, 1e9)
      : studentTQuantile(1 - (1 - confidence) / 2, df)
  const g = (t * t * vb) / (b.mean * b.mean)
  if (g >= 1) return {value: r, ci: null}
  const half = (t / Math.abs(b.mean)) * Math.sqrt(va * (1 - g) + r * r * vb)
  return {value: r, ci: {low: (r - half) / (1 - g), high: (r + half) / (1 - g)}}
}

export interface Difference {
  /** mean(after) - mean(before) */
  diff: number
  /** diff relative to mean(before); null when that mean is 0 */
  relative: number | null
  /** confidence interval of diff (Welch); null when either side has a single value */
  ci: Interval | null
  /** true when the interval excludes 0; null when it cannot be told (single iterations) */
  beyondNoise: boolean | null
}

/** Difference of two independent means with Welch's interval: is the change beyond the iterations' noise? */
export function differenceOfMeans(before: number[], after: number[], confidence = 0.95): Difference {
  const a = describe(before, confidence)
  const b = describe(after, confidence)
  const diff = b.mean - a.mean
  const relative = a.mean === 0 ? null : diff / a.mean
  if (a.n < 2 || b.n < 2) return {diff, relative, ci: null, beyondNoise: null}
  const va = (a.stddev * a.stddev) / a.n
  const vb = (b.stddev * b.stddev) / b.n
  const df = welchDf([
    {v: va, n: a.n},
    {v: vb, n: b.n},
  ])
  const t = studentTQuantile(1 - (1 - confidence) / 2, df === Infinity ? 1e9 : df)
  const half = t * Math.sqrt(va + vb)
  const ci = {low: diff - half, high: diff + half}
  return {diff, relative, ci, beyondNoise: ci.low > 0 || ci.high < 0}
}
