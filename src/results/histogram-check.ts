// Checking that an encoded latency histogram decodes, without decoding it. A results file holds
// one histogram per session (10,000 in a large run); building each one (hdr-histogram-js sizes a
// counts array for 1 ns .. 60 s and walks it) cost a report about 40 µs per session just to
// validate. This walks the same bytes the decoder reads (the V2 compressed encoding: base64,
// cookie, zlib, header, zig-zag LEB128 counts) and names the first thing the decoder would
// reject, at a fraction of the cost.
import {inflateSync} from 'node:zlib'
import {HISTOGRAM_LOWEST_NS, HISTOGRAM_SIGNIFICANT_DIGITS} from './histogram.js'

const COMPRESSED_COOKIE_BASE = 0x1c849304
const ENCODING_COOKIE_BASE = 0x1c849303
/** HdrHistogram V2 writes counts as LEB128 of at most 9 bytes ("word size" 9 in the cookie). */
const V2_WORD_SIZE = 9
const HEADER_BYTES = 40
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** undefined when `b64` decodes as a histogram of mqbench's precision, else what is wrong. */
export function histogramEncodingProblem(b64: string): string | undefined {
  if (!BASE64.test(b64) || b64.length % 4 !== 0) return 'not base64'
  const outer = Buffer.from(b64, 'base64')
  if (outer.length < 8) return 'too short'
  if ((outer.readInt32BE(0) & ~0xf0) !== COMPRESSED_COOKIE_BASE)
    return 'not an HdrHistogram V2 compressed encoding'
  const length = outer.readInt32BE(4)
  if (length < 0 || 8 + length > outer.length)
    return `declares ${length} compressed bytes, holds ${outer.length - 8}`
  let raw: Buffer
  try {
    raw = inflateSync(outer.subarray(8, 8 + length))
  } catch (err) {
    return `does not inflate (${(err as Error).message})`
  }
  if (raw.length < HEADER_BYTES) return 'header cut short'
  const cookie = raw.readInt32BE(0)
  if ((cookie & ~0xf0) !== ENCODING_COOKIE_BASE) return 'no V2 encoding cookie after inflating'
  const payload = raw.readInt32BE(4)
  if (payload < 0 || HEADER_BYTES + payload > raw.length)
    return `declares ${payload} bytes of counts, holds ${raw.length - HEADER_BYTES}`
  const digits = raw.readInt32BE(12)
  const lowest = raw.readBigInt64BE(16)
  const highest = raw.readBigInt64BE(24)
  // One precision everywhere, so that any two histograms merge bucket for bucket.
  if (digits !== HISTOGRAM_SIGNIFICANT_DIGITS || lowest !== BigInt(HISTOGRAM_LOWEST_NS))
    return `precision ${digits} digits from ${lowest} ns, not mqbench's ${HISTOGRAM_SIGNIFICANT_DIGITS} from ${HISTOGRAM_LOWEST_NS}`
  if (highest < 2n * lowest) return `highest trackable value ${highest} is below twice the lowest`
  // The counts: zig-zag LEB128 values, each at most 9 bytes, ending exactly at the payload's end.
  const end = HEADER_BYTES + payload
  let at = HEADER_BYTES
  while (at < end) {
    let n = 1
    while (n < V2_WORD_SIZE && (raw[at + n - 1] & 0x80) !== 0) n++
    at += n
  }
  if (at !== end) return 'the last count runs past the payload'
  return undefined
}
