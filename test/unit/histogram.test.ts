import {describe, expect, it} from 'vitest'
import type {JsHistogram} from 'hdr-histogram-js'
import {
  decodeHistogram,
  defaultPercentilePoints,
  emptyHistogram,
  encodeHistogram,
  mergeHistograms,
  percentileDistribution,
  summarizeHistogram,
} from '../../src/results/histogram.js'

// native/histogram.h's LatencyHistogram::value_at, written out again: the test checks that the
// native layout and hdr-histogram-js's agree slot for slot.
const SUB_HALF_MAG = 10
const SUB_HALF = 1 << SUB_HALF_MAG
const COUNTS_LEN = 27 * SUB_HALF
function nativeValueAt(idx: number): number {
  let bucket = Math.floor(idx / SUB_HALF) - 1
  let sub = (idx % SUB_HALF) + SUB_HALF
  if (bucket < 0) {
    sub -= SUB_HALF
    bucket = 0
  }
  return sub * 2 ** bucket
}

/** A histogram holding `counts[i]` values of `valuesNs[i]` each. */
function histogramFromBuckets(b: {valuesNs: number[]; counts: number[]}) {
  const h = emptyHistogram()
  b.valuesNs.forEach((v, i) => h.recordValueWithCount(v, b.counts[i]))
  return h
}

describe('histogram', () => {
  it('uses the same bucket layout as the native recorder (1 ns .. 60 s, 3 digits)', () => {
    const h = emptyHistogram() as unknown as JsHistogram
    let checked = 0
    for (let i = 0; i < COUNTS_LEN; i++) {
      const v = nativeValueAt(i)
      if (v > 60e9) break
      expect(h.lowestEquivalentValue(v)).toBe(v)
      if (i > 0) expect(h.lowestEquivalentValue(v - 1)).toBe(nativeValueAt(i - 1))
      checked++
    }
    expect(checked).toBeGreaterThan(26 * SUB_HALF)
  })

  it('loads native buckets and summarises them in microseconds', () => {
    const h = histogramFromBuckets({valuesNs: [10_000, 20_000, 1_000_000], counts: [50, 49, 1]})
    const s = summarizeHistogram(h)
    expect(s.count).toBe(100)
    expect(s.min).toBeCloseTo(10, 1)
    expect(s.p50).toBeCloseTo(10, 1)
    expect(s.p90).toBeCloseTo(20, 0)
    expect(s.p99).toBeCloseTo(20, 0)
    expect(s.max).toBeCloseTo(1000, -1)
    expect(s.mean).toBeCloseTo((50 * 10 + 49 * 20 + 1000) / 100, 0)
  })

  it('gives zeros for an empty histogram', () => {
    expect(summarizeHistogram(emptyHistogram())).toEqual({
      count: 0,
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
      max: 0,
    })
    expect(percentileDistribution(emptyHistogram())).toEqual([])
  })

  it('round-trips through the compressed base64 encoding', () => {
    const h = histogramFromBuckets({valuesNs: [1500, 70_000, 3_000_000_000], counts: [7, 3, 1]})
    const back = decodeHistogram(encodeHistogram(h))
    expect(back.totalCount).toBe(11)
    expect(summarizeHistogram(back)).toEqual(summarizeHistogram(h))
  })

  it('merges encoded histograms by adding their counts', () => {
    const a = encodeHistogram(histogramFromBuckets({valuesNs: [1000], counts: [10]}))
    const b = encodeHistogram(histogramFromBuckets({valuesNs: [100_000], counts: [30]}))
    const m = mergeHistograms([a, b])
    expect(m.totalCount).toBe(40)
    expect(summarizeHistogram(m).p50).toBeCloseTo(100, -1)
    expect(summarizeHistogram(m).min).toBeCloseTo(1, 1)
  })

  it('gives an HdrHistogram-style percentile distribution ending at the maximum', () => {
    expect(defaultPercentilePoints(8)).toEqual([0, 50, 75, 87.5, 100])
    const h = histogramFromBuckets({
      valuesNs: Array.from({length: 1000}, (_, i) => (i + 1) * 1000),
      counts: new Array(1000).fill(1),
    })
    const d = percentileDistribution(h)
    expect(d[0].percentile).toBe(0)
    expect(d.at(-1)).toEqual({percentile: 100, valueUs: summarizeHistogram(h).max})
    for (let i = 1; i < d.length; i++) expect(d[i].valueUs).toBeGreaterThanOrEqual(d[i - 1].valueUs)
    expect(percentileDistribution(h, [50, 99]).map((x) => Math.round(x.valueUs))).toEqual([500, 990])
  })
})
