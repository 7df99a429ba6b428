// The guest agent over --stdio, for host-side tests: frames out on its stdin, responses matched
// by id from its stdout. The vm testbed's own client (src/vm/) talks to the same agent over the
// virtio-serial socket; this helper only exists so the agent can be tested without a guest.
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {agentBinary} from '../../src/native.js'

export interface AgentResponse {
  v: number
  id: number
  ok: boolean
  result?: Record<string, unknown>
  error?: string
  errno?: number
}

export function frame(body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  const head = Buffer.alloc(4)
  head.writeUInt32BE(b.length)
  return Buffer.concat([head, b])
}

export class StdioAgent {
  readonly proc: ChildProcessWithoutNullStreams
  readonly responses: AgentResponse[] = []
  stderr = ''
  private buf = Buffer.alloc(0)
  private waiters: Array<() => void> = []
  private nextId = 1

  /** `prefix`: a command to run the agent under, e.g. ['ip', 'netns', 'exec', NS]. */
  constructor(prefix: string[] = []) {
    const argv = [...prefix, agentBinary(), '--stdio']
    this.proc = spawn(argv[0], argv.slice(1), {stdio: 'pipe'})
    this.proc.stdin.on('error', () => {})
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.proc.stdout.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
        const n = this.buf.readUInt32BE(0)
        this.responses.push(JSON.parse(this.buf.subarray(4, 4 + n).toString()) as AgentResponse)
        this.buf = this.buf.subarray(4 + n)
      }
      for (const w of this.waiters.splice(0)) w()
    })
  }

  write(bytes: Buffer): void {
    this.proc.stdin.write(bytes)
  }

  /** Resolves once `pred` holds for the responses so far; rejects after timeoutMs. */
  waitFor(pred: (r: AgentResponse[]) => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no matching agent response within ${timeoutMs} ms`)),
        timeoutMs,
      )
      const check = () => {
        if (pred(this.responses)) {
          clearTimeout(t)
          resolve()
        } else if (this.proc.exitCode !== null) {
          clearTimeout(t)
          reject(new Error(`the agent exited (${this.proc.exitCode}): ${this.stderr}`))
        } else this.waiters.push(check)
      }
      check()
    })
  }

  /** Sends one request and resolves with its response. */
  async request(op: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<AgentResponse> {
    const id = this.nextId++
    this.write(frame(JSON.stringify({v: 1, id, op, ...args})))
    await this.waitFor((rs) => rs.some((r) => r.id === id), timeoutMs)
    return this.responses.find((r) => r.id === id)!
  }

  /** The result of a request that must succeed. */
  async call(
    op: string,
    args: Record<string, unknown> = {},
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const r = await this.request(op, args, timeoutMs)
    if (!r.ok) throw new Error(`agent ${op} failed: ${r.error}`)
    return r.result!
  }

  /** Closes stdin and resolves with the exit code (the agent stops its engines first). */
  close(): Promise<number | null> {
    this.proc.stdin.end()
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) return resolve(this.proc.exitCode)
      this.proc.once('exit', (code) => resolve(code))
    })
  }
}
