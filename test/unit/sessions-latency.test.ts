// The native session histogram (native/histogram.cc) against hdr-histogram-js: the summaries it
// computes and the encodings it writes must be exactly what a report derives from the results
// file, per session and merged, whether a session's counts are still sparse or already dense.
import {describe, expect, it} from 'vitest'
import {sessions as nativeSessions} from '../../src/native.js'
import {
  decodeHistogram,
  emptyHistogram,
  encodeHistogram,
  mergeHistograms,
  summarizeHistogram,
} from '../../src/results/histogram.js'
import {inflateSync} from 'node:zlib'
import {
  STORE_BELOW_BYTES,
  compressedBase64,
  emptyHistogramBase64,
  latencySummary,
  storedZlib,
} from '../../src/sessions/latency.js'

function prng(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
}

/** Latencies around `medianNs`, log-normal-ish with a long tail, as a loaded session sees them. */
function latencies(n: number, medianNs: number, rnd: () => number): Float64Array {
  return Float64Array.from({length: n}, () =>
    Math.round(medianNs * Math.exp((rnd() - 0.5) * 2 + rnd() ** 8 * 6)),
  )
}

describe('native session histograms', () => {
  const rnd = prng(11)
  const lists = [
    latencies(30, 40_000, rnd), // a session at 10,000 sessions: a few dozen transactions
    latencies(3000, 20_000, rnd),
    latencies(200_000, 15_000, rnd), // enough distinct buckets to go dense
    Float64Array.from([1, 5, 2047, 2048, 2049, 1e6, 59e9, 60e9, 61e9, 3600e9]), // edges and clamping
    new Float64Array(0),
  ]
  const r = nativeSessions.histograms(lists)

  it('summarises each session as hdr-histogram-js does after the results file round trip', () => {
    lists.forEach((values, i) => {
      const js = emptyHistogram()
      for (const v of values) js.recordValue(Math.min(v, 60e9))
      const decoded = decodeHistogram(compressedBase64(r.sessions[i].histogram))
      // The JS histogram's own encoding round trip is what a report reads today.
      const viaJs = decodeHistogram(encodeHistogram(js))
      expect(decoded.totalCount).toBe(values.length)
      expect(r.sessions[i].latency).toEqual(summarizeHistogram(viaJs))
      expect(summarizeHistogram(decoded)).toEqual(summarizeHistogram(viaJs))
    })
  })

  it('merges every session into the total: counts add up, summary as merged in JS', () => {
    const total = decodeHistogram(compressedBase64(r.histogram!))
    expect(total.totalCount).toBe(lists.reduce((s, l) => s + l.length, 0))
    const merged = mergeHistograms(r.sessions.map((s) => compressedBase64(s.histogram)))
    expect(r.latency).toEqual(summarizeHistogram(merged))
    expect(summarizeHistogram(total)).toEqual(summarizeHistogram(merged))
  })

  it('costs a few hundred bytes for a narrow session and at most the dense array for a broad one', () => {
    const narrow = nativeSessions.histograms([latencies(30, 40_000, rnd)])
    expect(narrow.histogramBytes).toBeLessThanOrEqual(512)
    const none = nativeSessions.histograms([new Float64Array(0)])
    expect(none.histogramBytes).toBe(0)
    const broad = nativeSessions.histograms([Float64Array.from({length: 5000}, (_, i) => 2048 + i * 37)])
    // 27,648 32-bit counts once a session has seen more than 2,048 distinct buckets.
    expect(broad.histogramBytes).toBe(27_648 * 4)
    expect(broad.latency!.count).toBe(5000)
  })

  it('writes an empty histogram that decodes to nothing', () => {
    const h = decodeHistogram(compressedBase64(r.sessions[4].histogram))
    expect(h.totalCount).toBe(0)
    expect(r.sessions[4].latency).toEqual(summarizeHistogram(emptyHistogram()))
  })
})

describe('stored zlib streams for small encodings', () => {
  it('inflates to the bytes it holds, and a broken check is refused', () => {
    for (const n of [0, 1, 60, 1023, 5552, 65_535]) {
      const b = Uint8Array.from({length: n}, (_, i) => (i * 131 + 7) & 0xff)
      const z = storedZlib(b)
      expect(inflateSync(z)).toEqual(Buffer.from(b))
      if (n === 0) continue
      const broken = Buffer.from(z)
      broken[broken.length - 1] ^= 1
      expect(() => inflateSync(broken), `n=${n}`).toThrow(/incorrect data check/)
    }
    expect(() => storedZlib(new Uint8Array(65_536))).toThrow(RangeError)
  })

  it("stores a narrow session's encoding and still deflates a broad one, both decoding alike", () => {
    const narrow = nativeSessions.histograms([latencies(30, 40_000, prng(5))])
    const broad = nativeSessions.histograms([Float64Array.from({length: 5000}, (_, i) => 2048 + i * 37)])
    expect(narrow.sessions[0].histogram.length).toBeLessThan(STORE_BELOW_BYTES)
    expect(broad.sessions[0].histogram.length).toBeGreaterThanOrEqual(STORE_BELOW_BYTES)
    const blockType = (b64: string) => (Buffer.from(b64, 'base64')[10] >> 1) & 3 // after cookie, length, zlib header
    expect(blockType(compressedBase64(narrow.sessions[0].histogram))).toBe(0) // stored
    expect(blockType(compressedBase64(broad.sessions[0].histogram))).not.toBe(0)
    for (const r of [narrow, broad])
      expect(summarizeHistogram(decodeHistogram(compressedBase64(r.sessions[0].histogram)))).toEqual(
        r.latency,
      )
  })
})

describe('an empty histogram without hdr-histogram-js', () => {
  it("encodes and summarises as hdr-histogram-js's own empty histogram", () => {
    const ours = decodeHistogram(emptyHistogramBase64())
    const js = decodeHistogram(encodeHistogram(emptyHistogram()))
    for (const k of ['totalCount', 'highestTrackableValue', 'numberOfSignificantValueDigits'] as const)
      expect(ours[k], k).toBe(js[k])
    expect(latencySummary(undefined)).toEqual(summarizeHistogram(emptyHistogram()))
    expect(summarizeHistogram(ours)).toEqual(summarizeHistogram(emptyHistogram()))
  })
})
