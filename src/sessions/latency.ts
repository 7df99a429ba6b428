// The last step of a native latency histogram into the results file: native/histogram.cc hands
// out each histogram already summarised and in HdrHistogram's V2 encoding, and this wraps the
// encoding as encodeIntoCompressedBase64 does (cookie, length, zlib deflate, base64), so that
// hdr-histogram-js (src/results/histogram.ts) decodes it, and no session's histogram is ever
// rebuilt or walked in JavaScript.
import {deflateSync} from 'node:zlib'
import type {NativeHistogram, NativeLatencySummary} from '../native.js'
import {emptyHistogram, summarizeHistogram} from '../results/histogram.js'
import type {LatencySummaryUs} from '../results/schema.js'

/** HdrHistogram's V2 compressed-encoding cookie with the word-size bits hdr-histogram-js sets. */
const V2_COMPRESSED_COOKIE = 0x1c849304 | 0x10

export function compressedBase64(encoded: NativeHistogram): string {
  // A small deflate window and state: a session's encoding is tens to hundreds of bytes, and a
  // run compresses thousands of them (zlib's defaults allocate ~256 KiB per call).
  const z = deflateSync(encoded, {windowBits: 10, memLevel: 2})
  const out = Buffer.allocUnsafe(8 + z.length)
  out.writeUInt32BE(V2_COMPRESSED_COOKIE, 0)
  out.writeUInt32BE(z.length, 4)
  z.copy(out, 8)
  return out.toString('base64')
}

/** The native summary has exactly the results file's fields; a session without one gets zeros. */
export function latencySummary(s: NativeLatencySummary | undefined): LatencySummaryUs {
  return s ?? summarizeHistogram(emptyHistogram())
}
