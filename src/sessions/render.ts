// Text shared by the rr and stream commands: the live interim line and the iteration summary.
import type {IterationOutcome} from './iterations.js'

export interface IterationSummary {
  count: number
  values: number[]
  mean: number
  /** the whole confidence interval in percent of the mean */
  intervalWidthPct: number
  confidenceReached: boolean
  text: string
}

export function describeIterations<R>(o: IterationOutcome<R>, unit: string): IterationSummary {
  const width = o.interval.widthPct
  const w = Number.isFinite(width) ? `${width.toFixed(1)}%` : 'unknown (one run)'
  const text =
    `${o.results.length} iterations: mean ${o.interval.mean.toLocaleString('en-US', {maximumFractionDigits: 2})} ${unit}, confidence interval width ${w}` +
    (o.confidenceReached ? '' : ' -- the confidence asked for was NOT reached')
  return {
    count: o.results.length,
    values: o.values,
    mean: o.interval.mean,
    intervalWidthPct: width,
    confidenceReached: o.confidenceReached,
    text,
  }
}

/** Interim figures: a live line on a TTY, a line each otherwise (netperf's demo mode). */
export function liveLine(elapsedMs: number, figure: string): void {
  const line = `${(elapsedMs / 1000).toFixed(1).padStart(6)} s  ${figure}`
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`)
  else process.stderr.write(`${line}\n`)
}

/** Ends a live line so that what follows starts on its own line. */
export function endLiveLine(): void {
  if (process.stderr.isTTY) process.stderr.write('\n')
}

/** How long the ramp took, for a command's header line: the sessions connected in so many ms. */
export function connectedIn(r: {connectMs?: number}): string {
  return r.connectMs === undefined
    ? ''
    : ` (connected in ${Math.round(r.connectMs).toLocaleString('en-US')} ms)`
}
