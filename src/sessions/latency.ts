// The last step of a native latency histogram into the results file: native/histogram.cc hands
// out each histogram already summarised and in HdrHistogram's V2 encoding, and this wraps the
// encoding as encodeIntoCompressedBase64 does (cookie, length, zlib deflate, base64), so that
// hdr-histogram-js (src/results/histogram.ts) decodes it, and no session's histogram is ever
// rebuilt or walked in JavaScript.
import {deflateSync} from 'node:zlib'
import {sessions as nativeSessions, type NativeHistogram, type NativeLatencySummary} from '../native.js'
import type {LatencySummaryUs} from '../results/schema.js'

/** HdrHistogram's V2 compressed-encoding cookie with the word-size bits hdr-histogram-js sets. */
const V2_COMPRESSED_COOKIE = 0x1c849304 | 0x10

/**
 * Below this many bytes an encoding is stored in its zlib stream rather than deflated: at 10,000
 * sessions (about 60 bytes each) deflate saved 8% of their bytes for 260 ms of the results path,
 * zlib's set-up per call (docs/sessions.md, "Start-up and fixed costs"). The run's total and broad
 * sessions' encodings are still deflated.
 */
export const STORE_BELOW_BYTES = 1024

/** RFC 1950's Adler-32 of `b`: the check a zlib stream ends with. */
function adler32(b: Uint8Array): number {
  let a = 1
  let c = 0
  for (let i = 0; i < b.length; i++) {
    a = (a + b[i]) % 65521
    c = (c + a) % 65521
  }
  return ((c << 16) | a) >>> 0
}

/** A zlib stream (RFC 1950) holding `b` in one stored deflate block (RFC 1951 3.2.4): any inflater reads it. */
export function storedZlib(b: Uint8Array): Buffer {
  if (b.length > 0xffff) throw new RangeError('one stored block holds at most 65,535 bytes')
  const out = Buffer.allocUnsafe(2 + 5 + b.length + 4)
  out[0] = 0x78 // deflate, 32 KiB window
  out[1] = 0x01 // no dictionary, fastest; (0x78 << 8 | 0x01) % 31 == 0
  out[2] = 0x01 // the final block, stored
  out.writeUInt16LE(b.length, 3)
  out.writeUInt16LE(~b.length & 0xffff, 5)
  out.set(b, 7)
  out.writeUInt32BE(adler32(b), 7 + b.length)
  return out
}

export function compressedBase64(encoded: NativeHistogram): string {
  // Above the threshold: a small deflate window and state, as a broad session's encoding is a few
  // KiB at most (zlib's defaults allocate ~256 KiB per call).
  const z =
    encoded.length < STORE_BELOW_BYTES
      ? storedZlib(encoded)
      : deflateSync(encoded, {windowBits: 10, memLevel: 2})
  const out = Buffer.allocUnsafe(8 + z.length)
  out.writeUInt32BE(V2_COMPRESSED_COOKIE, 0)
  out.writeUInt32BE(z.length, 4)
  z.copy(out, 8)
  return out.toString('base64')
}

/** What an empty histogram summarises to (hdr-histogram-js's summary of one: all zeros). */
const NO_LATENCY: LatencySummaryUs = {count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}

/** The native summary has exactly the results file's fields; a session without one gets zeros. */
export function latencySummary(s: NativeLatencySummary | undefined): LatencySummaryUs {
  return s ?? {...NO_LATENCY}
}

let emptyBase64: string | undefined

/**
 * A histogram with no values, encoded by native/histogram.cc as every session's is: the results
 * path needs no hdr-histogram-js (33 ms of every session command's start to import;
 * docs/sessions.md, "Start-up and fixed costs").
 */
export function emptyHistogramBase64(): string {
  return (emptyBase64 ??= compressedBase64(
    nativeSessions.histograms([new Float64Array(0)]).sessions[0].histogram,
  ))
}
