// Latency histograms as reports read them. Values are nanoseconds. The native engines record into
// HdrHistogram's own bucket layout (native/histogram.h: 1 ns .. 60 s, 3 significant digits) and
// hand out every histogram summarised and encoded (src/sessions/latency.ts); this module decodes,
// merges and summarises them with hdr-histogram-js, as native/histogram.cc does. The plain JS implementation
// (64-bit counts, no WebAssembly) is used throughout so the same code runs in node and in a page.
import {build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram} from 'hdr-histogram-js'
import type {LatencySummaryUs, RrResult} from './schema.js'

export type {Histogram}

/** Must match native/histogram.h, so that a native bucket maps to exactly one JS bucket. */
export const HISTOGRAM_LOWEST_NS = 1
export const HISTOGRAM_HIGHEST_NS = 60_000_000_000
export const HISTOGRAM_SIGNIFICANT_DIGITS = 3

export function emptyHistogram(): Histogram {
  return build({
    bitBucketSize: 64,
    useWebAssembly: false,
    autoResize: true,
    lowestDiscernibleValue: HISTOGRAM_LOWEST_NS,
    highestTrackableValue: HISTOGRAM_HIGHEST_NS,
    numberOfSignificantValueDigits: HISTOGRAM_SIGNIFICANT_DIGITS,
  })
}

export function encodeHistogram(h: Histogram): string {
  return encodeIntoCompressedBase64(h)
}

export function decodeHistogram(b64: string): Histogram {
  return decodeFromCompressedBase64(b64, 64, false)
}

export function mergeHistograms(b64s: string[]): Histogram {
  const total = emptyHistogram()
  for (const b64 of b64s) total.add(decodeHistogram(b64))
  return total
}

/**
 * A run's latency histogram, every session merged: written by the run (so a report merges once per
 * run), or merged from its sessions in files written before that.
 */
export function runHistogram(r: Pick<RrResult, 'latencyHistogram' | 'sessions'>): Histogram {
  if (r.latencyHistogram) return decodeHistogram(r.latencyHistogram)
  return mergeHistograms(r.sessions.map((s) => s.latencyHistogram))
}

const usOf = (ns: number) => ns / 1000

export function summarizeHistogram(h: Histogram): LatencySummaryUs {
  if (h.totalCount === 0) return {count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}
  return {
    count: h.totalCount,
    // minNonZeroValue is the bucket's lowest equivalent value; a 0 ns transaction cannot occur.
    min: usOf(h.minNonZeroValue),
    mean: usOf(h.mean),
    p50: usOf(h.getValueAtPercentile(50)),
    p90: usOf(h.getValueAtPercentile(90)),
    p99: usOf(h.getValueAtPercentile(99)),
    p999: usOf(h.getValueAtPercentile(99.9)),
    // The top bucket's highest equivalent value, as for every percentile: h.maxValue is the exact
    // value before encoding but the bucket's edge after decoding, and a summary must not change
    // with a round trip through the results file.
    max: usOf(h.getValueAtPercentile(100)),
  }
}

/**
 * Percentiles for HdrHistogram-style plots (x = 1/(1-p) on a log scale). The default points halve
 * the remaining tail each step (0, 50, 75, 87.5, ...) for as long as the histogram holds enough
 * values to tell them apart, then 100.
 */
export function percentileDistribution(
  h: Histogram,
  points?: number[],
): Array<{percentile: number; valueUs: number}> {
  if (h.totalCount === 0) return []
  const ps = points ?? defaultPercentilePoints(h.totalCount)
  return ps.map((percentile) => ({
    percentile,
    valueUs: usOf(h.getValueAtPercentile(Math.min(100, percentile))),
  }))
}

export function defaultPercentilePoints(count: number): number[] {
  const out = [0]
  for (let k = 1; 2 ** k <= count && k <= 40; k++) out.push(100 * (1 - 1 / 2 ** k))
  out.push(100)
  return out
}
