// Number formatting shared by the summary sentences and the tables of a report, the commands'
// text output, and the evidence of check and tune, so that no two places disagree about rounding.
// Below every user of it (check, tune, report, commands): a figure is worded the same everywhere.

/**
 * Three significant digits below 1000, whole numbers with thousands separators above; with
 * `digits`, exactly that many decimals, with thousands separators (a column of figures).
 */
export function fmt(v: number | null | undefined, digits?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  if (digits !== undefined)
    return v.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: digits})
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  if (v === 0) return '0'
  return Number(v.toPrecision(3)).toString()
}

export const fixed = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits)

export const pct = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(digits)}%`

/** A relative change with its sign: +12%, -41%. */
export const signedPct = (v: number | null | undefined) => {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  const p = Math.round(100 * v)
  return `${p > 0 ? '+' : ''}${p}%`
}

/**
 * A confidence interval of a quantity that cannot be negative (a rate, a latency, a cost, a
 * ratio of them), as "[a, b]": with few iterations and much noise the t-interval reaches below
 * zero, which says only that the lower bound is not known to be above 0, so it is shown as 0.
 */
export function interval(
  c: {low: number; high: number} | null | undefined,
  f: (v: number) => string = fmt,
): string {
  return c ? `[${f(atLeastZero(c.low)!)}, ${f(c.high)}]` : '–'
}

/** A lower bound (of an interval, an error bar) of a quantity that cannot be negative. */
export const atLeastZero = (v: number | undefined) => (v === undefined ? undefined : Math.max(0, v))

export const queues = (n: number) => `${n} queue${n === 1 ? '' : 's'}`
