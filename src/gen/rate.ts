// `--rate` and the split of a total load over queues. A rate is packets per second (`100kpps`,
// `1Mpps`, or a bare `1M`, as pktgen's "pps") or bits per second (`500Mbit`, `10Gbit`, `1.5Gbps`),
// where bits count the frame as `--frame-size` does: without FCS, preamble or gap, like the kernel's
// byte counters, so that a requested rate and the reported Mbit/s agree.
import {badInput} from '../errors.js'

export type Rate = {pps: number} | {bitsPerSecond: number}

const MULT: Record<string, number> = {'': 1, k: 1e3, m: 1e6, g: 1e9}
/** Above this no software sender on one host gets anywhere; it is a typo guard. */
export const MAX_RATE_PPS = 1e9
export const MAX_RATE_BPS = 1e12

export function parseRate(text: string): Rate {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)\s*(pps|bit|bps|b\/s|bit\/s)?\s*$/i.exec(text)
  if (!m)
    throw badInput(
      `rate '${text}' is not a rate; use packets per second (100kpps, 1M) or bits per second (500Mbit, 10Gbit)`,
    )
  const n = Number(m[1]) * MULT[m[2].toLowerCase()]
  const unit = (m[3] ?? 'pps').toLowerCase()
  if (unit === 'pps') {
    if (n < 1 || n > MAX_RATE_PPS)
      throw badInput(`rate ${text} is out of range (1 pps to ${MAX_RATE_PPS / 1e6}Mpps)`)
    return {pps: n}
  }
  if (n < 1 || n > MAX_RATE_BPS)
    throw badInput(`rate ${text} is out of range (1 bit/s to ${MAX_RATE_BPS / 1e9}Gbit/s)`)
  return {bitsPerSecond: n}
}

/** Frames per second for a rate at a frame size (bytes without FCS). */
export function rateToPps(rate: Rate, frameSize: number): number {
  return 'pps' in rate ? rate.pps : rate.bitsPerSecond / (frameSize * 8)
}

/** Splits a total rate over queues evenly (each queue runs its own token bucket). */
export function splitRate(totalPps: number, queues: number): number[] {
  return Array.from({length: queues}, () => totalPps / queues)
}

/** Splits a total frame count over queues; the first queues take the remainder, so the sum is exact. */
export function splitCount(total: number, queues: number): number[] {
  const base = Math.floor(total / queues)
  const extra = total - base * queues
  return Array.from({length: queues}, (_, i) => base + (i < extra ? 1 : 0))
}

/**
 * The token bucket the native senders run: frame k of a queue is due k/rate seconds after the
 * start, so the rate cannot drift however the batches fall. Mirrors frames_due() in native/gen.h.
 */
export function framesDue(elapsedNs: number, ratePps: number, sent: number): number {
  return Math.max(0, Math.floor((elapsedNs * ratePps) / 1e9) + 1 - sent)
}

export function formatPps(pps: number): string {
  if (pps >= 1e6) return `${(pps / 1e6).toFixed(2)}Mpps`
  if (pps >= 1e3) return `${(pps / 1e3).toFixed(1)}kpps`
  return `${pps.toFixed(0)}pps`
}
