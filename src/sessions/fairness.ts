// Figures derived from per-session results: fairness across sessions and service demand.
// Pure functions, so the report and the scale sweep compute them the same way.

import {jainIndex} from '../results/queues.js'

export {jainIndex}

export function fairness(rates: number[]): {jainIndex: number; slowestTps: number; fastestTps: number} {
  return {
    jainIndex: jainIndex(rates),
    slowestTps: rates.length ? Math.min(...rates) : 0,
    fastestTps: rates.length ? Math.max(...rates) : 0,
  }
}

/**
 * Microseconds of CPU time (summed over CPUs) per unit of work, netperf's service demand:
 * `busyMs` of CPU work over `elapsedMs` of wall time while `unitsPerSecond` units were done.
 */
export function serviceDemandUs(busyMs: number, elapsedMs: number, unitsPerSecond: number): number {
  const units = (unitsPerSecond * elapsedMs) / 1000
  return units > 0 ? (busyMs * 1000) / units : 0
}

/** Sessions that made no progress for a second or more inside the window, or died. */
export const STALL_NS = 1e9
