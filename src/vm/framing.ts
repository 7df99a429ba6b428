// The two wire formats mqbench speaks to a guest, as pure decoders (fed bytes, give messages):
// QMP's newline-delimited JSON, and the agent's 4-byte big-endian length + UTF-8 JSON frames
// (docs/agent.md).
import {LIMITS} from '../limits.js'

/** Splits QMP's byte stream into JSON objects, one per line. */
export class LineDecoder {
  private buf = ''
  /** Feeds bytes; returns the complete messages, or Error entries for lines that are not JSON objects. */
  push(chunk: Buffer | string): Array<Record<string, unknown> | Error> {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    const out: Array<Record<string, unknown> | Error> = []
    let nl: number
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim()
      this.buf = this.buf.slice(nl + 1)
      if (!line) continue
      try {
        const v = JSON.parse(line) as unknown
        out.push(isObject(v) ? v : new Error(`not a JSON object: ${line.slice(0, 80)}`))
      } catch {
        out.push(new Error(`not JSON: ${line.slice(0, 80)}`))
      }
    }
    return out
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

export const AGENT_FRAME_LIMIT = LIMITS.maxAgentFrameBytes

/** One agent frame: the length prefix and the JSON. */
export function encodeFrame(msg: Record<string, unknown>): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8')
  if (body.length > AGENT_FRAME_LIMIT)
    throw new Error(`agent message of ${body.length} bytes exceeds the ${AGENT_FRAME_LIMIT}-byte frame limit`)
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length)
  return Buffer.concat([head, body])
}

/**
 * Reassembles agent frames from a byte stream. A declared length over the limit is skipped
 * (its bytes are discarded as they arrive) and reported, so the stream stays in sync.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0)
  private skip = 0
  constructor(private readonly limit = AGENT_FRAME_LIMIT) {}

  push(chunk: Buffer): Array<Record<string, unknown> | Error> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const out: Array<Record<string, unknown> | Error> = []
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length)
        this.skip -= n
        this.buf = this.buf.subarray(n)
        if (this.skip > 0) break
      }
      if (this.buf.length < 4) break
      const len = this.buf.readUInt32BE(0)
      if (len > this.limit) {
        out.push(new Error(`frame of ${len} bytes exceeds the ${this.limit}-byte limit; skipped`))
        this.buf = this.buf.subarray(4)
        this.skip = len
        continue
      }
      if (this.buf.length < 4 + len) break
      const body = this.buf.subarray(4, 4 + len).toString('utf8')
      this.buf = this.buf.subarray(4 + len)
      try {
        const v = JSON.parse(body) as unknown
        out.push(isObject(v) ? v : new Error('frame is not a JSON object'))
      } catch {
        out.push(new Error(`frame is not JSON: ${body.slice(0, 80)}`))
      }
    }
    return out
  }
}
