// The structural check that replaced decoding every session's histogram when a file is read: it
// accepts what mqbench writes, names what is wrong, and never accepts what the decoder rejects.
import {deflateSync, inflateSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {histogramEncodingProblem} from '../../src/results/histogram-check.js'
import {decodeHistogram, emptyHistogram, encodeHistogram} from '../../src/results/histogram.js'

function sample(values: number[]): string {
  const h = emptyHistogram()
  for (const v of values) h.recordValue(v)
  return encodeHistogram(h)
}

/** Re-wraps an inflated body, as an encoder that wrote these bytes would have. */
function wrap(raw: Buffer): string {
  const z = deflateSync(raw)
  const out = Buffer.alloc(8 + z.length)
  out.writeInt32BE(0x1c849314, 0)
  out.writeInt32BE(z.length, 4)
  z.copy(out, 8)
  return out.toString('base64')
}

function inflated(b64: string): Buffer {
  const outer = Buffer.from(b64, 'base64')
  return Buffer.from(inflateSync(outer.subarray(8)))
}

describe('histogramEncodingProblem', () => {
  const good = sample([900, 1_000, 25_000, 25_100, 3_000_000, 59_000_000_000])

  it('accepts what mqbench encodes, empty or full', () => {
    expect(histogramEncodingProblem(good)).toBeUndefined()
    expect(histogramEncodingProblem(sample([]))).toBeUndefined()
  })

  it('names each way an encoding is broken', () => {
    expect(histogramEncodingProblem('not base64!')).toBe('not base64')
    expect(histogramEncodingProblem(Buffer.from('HISTFAAAAAAA').toString('base64'))).toMatch(
      /not an HdrHistogram/,
    )
    const outer = Buffer.from(good, 'base64')
    expect(histogramEncodingProblem(outer.subarray(0, outer.length - 4).toString('base64'))).toMatch(
      /declares \d+ compressed bytes/,
    )
    const raw = inflated(good)
    const other = Buffer.from(raw)
    other.writeInt32BE(2, 12) // 2 significant digits: would not merge bucket for bucket
    expect(histogramEncodingProblem(wrap(other))).toMatch(/precision 2 digits/)
    const cut = Buffer.from(raw)
    cut.writeInt32BE(raw.readInt32BE(4) + 5, 4)
    expect(histogramEncodingProblem(wrap(cut))).toMatch(/declares \d+ bytes of counts/)
    const runaway = Buffer.concat([raw, Buffer.from([0x80])])
    runaway.writeInt32BE(raw.readInt32BE(4) + 1, 4)
    expect(histogramEncodingProblem(wrap(runaway))).toBe('the last count runs past the payload')
  })

  it('never accepts a corruption the decoder rejects', () => {
    let seed = 12345
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
    const raw = inflated(good)
    let accepted = 0
    for (let i = 0; i < 400; i++) {
      const bad = Buffer.from(raw)
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++)
        bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256)
      const b64 = wrap(bad)
      if (histogramEncodingProblem(b64) !== undefined) continue
      accepted++
      expect(() => decodeHistogram(b64)).not.toThrow()
    }
    expect(accepted).toBeGreaterThan(0) // flips inside the counts stay decodable: the property was exercised
  })
})
