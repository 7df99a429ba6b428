// The control protocol between `mqbench rr|stream` and `mqbench server`: JSON lines over one TCP
// connection per test (docs/protocol.md, with test vectors in test/fixtures/protocol/). The
// client speaks first:
//
//   client: hello {version, token?, caps}        server: welcome {version, caps, limits, cpus}
//   client: test {workload, sessions, sizes..., chunks} + `chunks` x chunk {seq, first, items}
//                                                server: ready {port, cookie}
//     ... data connections to `port`, each starting with the cookie and its session index ...
//   client: measure (when the server has cap "window": the client's measurement window opens)
//   client: done                                 server: result {cpu, sessions, chunks} + chunks
//
// Whatever carries one entry per session travels in chunk messages after its header, each line
// packed to at most CHUNK_BYTES, so no valid test meets the line limit however many sessions it
// has. Either side may send `error {reason}` and close. Every message is validated here, field by
// field, before anything acts on it: the server faces whatever reaches its port.
import type {CpuUtilisation} from '../results/schema.js'
import type {SessionWorkload} from '../native.js'
import {LIMITS} from '../limits.js'
import {ExitCode, MqbError} from '../errors.js'

export const PROTOCOL_VERSION = 2
/** A control line longer than this is hostile or broken: the connection is closed. */
export const MAX_LINE_BYTES = 64 * 1024
/** A sender packs per-session items into chunk lines of at most this many bytes (half the line limit). */
export const CHUNK_BYTES = 32 * 1024
export const WORKLOADS: readonly SessionWorkload[] = [
  'tcp_rr',
  'udp_rr',
  'tcp_crr',
  'tcp_stream',
  'udp_stream',
]
// window: the server counts each session over the window the client opens with `measure` and
// closes with `done`, so that both ends' figures (UDP_STREAM: sent and received) cover one window.
export const SERVER_CAPS = [...WORKLOADS, 'burst', 'bidir', 'window'] as const

export interface ServerLimits {
  maxSessions: number
  maxDurationMs: number
}

export interface HelloMessage {
  type: 'hello'
  version: number
  token?: string
  caps: string[]
}

/** A test as the server acts on it: the `test` header with its chunks' items assembled. */
export interface TestMessage {
  type: 'test'
  workload: SessionWorkload
  sessions: number
  threads: number
  durationMs: number
  requestSize: number
  responseSize: number
  messageSize: number
  /** per session: 1 when the server sends (TCP_MAERTS, the reverse half of --bidir) */
  serverSends: number[]
}

export interface DoneMessage {
  type: 'done'
}

/** The client opened its measurement window (sent only to a server with cap `window`). */
export interface MeasureMessage {
  type: 'measure'
}

export type ClientMessage = HelloMessage | TestMessage | MeasureMessage | DoneMessage

export interface WelcomeMessage {
  type: 'welcome'
  version: number
  caps: string[]
  limits: ServerLimits
  /**
   * The CPUs the server pins its engine threads to (thread i on cpus[i mod n], its --cpus); [] when
   * not pinned. Undefined from a server older than the field, which the client records as unknown.
   */
  cpus?: number[]
}

/** Bounds of a welcome's `cpus`: as many entries as a test has threads at most, CPU numbers as Linux allows. */
export const MAX_PINNED_CPUS = LIMITS.maxThreads
export const MAX_CPU_NUMBER = 65535

export interface ReadyMessage {
  type: 'ready'
  port: number
  cookie: number
}

export interface ServerSessionFigures {
  /** transactions answered (rr) or bytes received/sent (stream) */
  ops: number
  datagrams: number
  retransmits: number
  /** ops between the client's `measure` and `done` (absent: no window was opened) */
  windowOps?: number
}

/** The server's figures as the client uses them: the `result` header with its chunks assembled. */
export interface ResultMessage {
  type: 'result'
  cpu: CpuUtilisation
  /** ms of CPU work across all CPUs over the test, from /proc/stat */
  busyMs: number
  /** the server process's own CPU time (rusage) */
  processUs: {user: number; sys: number}
  sessions: ServerSessionFigures[]
}

export interface ErrorMessage {
  type: 'error'
  reason: string
}

export type ServerMessage = WelcomeMessage | ReadyMessage | ResultMessage | ErrorMessage

/** One line of a per-session list: items `first` .. `first + items.length - 1`, chunk `seq` of its header's `chunks`. */
export interface ChunkMessage {
  type: 'chunk'
  seq: number
  first: number
  items: unknown[]
}

/** A message outside the protocol; where one escapes, the far end broke the protocol. */
export class ProtocolError extends MqbError {
  constructor(reason: string) {
    super(reason, ExitCode.farEnd)
    this.name = 'ProtocolError'
  }
}

const line = (o: object) => JSON.stringify(o) + '\n'

/**
 * A header line followed by its per-session items in chunk lines of at most CHUNK_BYTES each
 * (one item per chunk at the least, so even an item near the budget still goes through).
 */
function withChunks(header: Record<string, unknown>, items: readonly unknown[]): string {
  const chunks: string[] = []
  const envelope = line({type: 'chunk', seq: 0, first: 0, items: []}).length + 24
  let first = 0
  while (first < items.length) {
    let bytes = envelope
    let end = first
    while (end < items.length) {
      const b = JSON.stringify(items[end]).length + 1
      if (end > first && bytes + b > CHUNK_BYTES) break
      bytes += b
      end++
    }
    chunks.push(line({type: 'chunk', seq: chunks.length, first, items: items.slice(first, end)}))
    first = end
  }
  return line({...header, chunks: chunks.length}) + chunks.join('')
}

/** The wire form of a message: one line, or for test and result a header and its chunk lines. */
export function encodeMessage(m: ClientMessage | ServerMessage): string {
  if (m.type === 'test') {
    const {serverSends, ...header} = m
    return withChunks(header, serverSends)
  }
  if (m.type === 'result') {
    const {sessions, ...header} = m
    return withChunks({...header, sessions: sessions.length}, sessions)
  }
  return line(m)
}

function parseObject(text: string): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_LINE_BYTES)
    throw new ProtocolError(`message longer than ${MAX_LINE_BYTES} bytes`)
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new ProtocolError('not JSON')
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError('not a JSON object')
  return v as Record<string, unknown>
}

function int(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key]
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ProtocolError(`${key} must be an integer`)
  if (v < min || v > max) throw new ProtocolError(`${key} ${v} is out of range ${min}..${max}`)
  return v
}

function str(o: Record<string, unknown>, key: string, maxLen: number, optional = false): string | undefined {
  const v = o[key]
  if (v === undefined && optional) return undefined
  if (typeof v !== 'string') throw new ProtocolError(`${key} must be a string`)
  if (v.length > maxLen) throw new ProtocolError(`${key} is longer than ${maxLen} characters`)
  return v
}

function strings(o: Record<string, unknown>, key: string, maxItems: number): string[] {
  const v = o[key]
  if (v === undefined) return []
  if (!Array.isArray(v) || v.length > maxItems || !v.every((s) => typeof s === 'string' && s.length <= 64)) {
    throw new ProtocolError(`${key} must be a list of at most ${maxItems} short strings`)
  }
  return v as string[]
}

function chunk(o: Record<string, unknown>): ChunkMessage {
  if (!Array.isArray(o.items) || o.items.length === 0)
    throw new ProtocolError('chunk items must be a non-empty list')
  return {type: 'chunk', seq: int(o, 'seq', 0, 1e9), first: int(o, 'first', 0, 1e9), items: o.items}
}

/**
 * Collects the chunks that follow a header. Chunks must arrive in order, each starting where the
 * previous one ended, and carry exactly the announced count between them: anything else (a lost,
 * reordered, repeated or oversized chunk, or a header that ends before its chunks do) is refused.
 */
export class ChunkAssembler<T> {
  private next = 0
  private readonly items: T[] = []
  constructor(
    /** what is being assembled, for messages: "test", "result" */
    readonly what: string,
    private readonly count: number,
    private readonly chunks: number,
    private readonly parseItem: (v: unknown, index: number) => T,
  ) {
    if (chunks < 1 || chunks > count)
      throw new ProtocolError(`${what}: ${chunks} chunks cannot carry ${count} sessions`)
  }
  get received(): number {
    return this.items.length
  }
  /** Adds one chunk; returns the whole list after the last one. */
  add(c: ChunkMessage): T[] | undefined {
    const {what} = this
    if (c.seq !== this.next)
      throw new ProtocolError(
        `${what} chunk ${c.seq} arrived where chunk ${this.next} of ${this.chunks} was expected (chunks must come in order)`,
      )
    if (c.first !== this.items.length)
      throw new ProtocolError(
        `${what} chunk ${c.seq} starts at session ${c.first}, expected ${this.items.length}`,
      )
    if (this.items.length + c.items.length > this.count)
      throw new ProtocolError(
        `${what} chunk ${c.seq} carries sessions up to ${c.first + c.items.length - 1}, beyond the ${this.count} announced`,
      )
    c.items.forEach((v, i) => this.items.push(this.parseItem(v, c.first + i)))
    this.next++
    if (this.next < this.chunks) return undefined
    if (this.items.length !== this.count)
      throw new ProtocolError(
        `${what} truncated: its ${this.chunks} chunks carried ${this.items.length} of ${this.count} sessions`,
      )
    return this.items
  }
  /** Why the list is incomplete when the connection ends or another message arrives instead. */
  incomplete(instead: string): ProtocolError {
    return new ProtocolError(
      `${this.what} truncated: ${instead} after ${this.items.length} of ${this.count} sessions (chunk ${this.next} of ${this.chunks})`,
    )
  }
}

/**
 * Validates a peer's lines one by one into whole messages, assembling header + chunks; throws
 * ProtocolError with a reason. `parse` validates one line into a whole message or a header (with
 * its assembler); chunk lines go to the pending header's assembler.
 */
export class MessageReader<M extends {type: string}> {
  private pending?: {assembler: ChunkAssembler<unknown>; finish: (items: unknown[]) => M}
  constructor(
    private readonly parse: (
      o: Record<string, unknown>,
    ) => M | {assembler: ChunkAssembler<unknown>; finish: (items: unknown[]) => M},
  ) {}
  /** One line in; a whole message out, or undefined while a list is still arriving. */
  push(text: string): M | undefined {
    const o = parseObject(text)
    if (this.pending) {
      const p = this.pending
      if (o.type !== 'chunk')
        throw p.assembler.incomplete(`a ${JSON.stringify(o.type ?? null).slice(0, 40)} message arrived`)
      const items = p.assembler.add(chunk(o))
      if (!items) return undefined
      this.pending = undefined
      return p.finish(items)
    }
    if (o.type === 'chunk') throw new ProtocolError('a chunk arrived without a message announcing it')
    const m = this.parse(o)
    if ('assembler' in m) {
      this.pending = m
      return undefined
    }
    return m
  }
  /** Throws when the connection ends in the middle of a list. */
  end(): void {
    if (this.pending) throw this.pending.assembler.incomplete('the connection closed')
  }
}

function parseTestHeader(o: Record<string, unknown>, limits: ServerLimits) {
  const workload = str(o, 'workload', 32) as SessionWorkload
  if (!WORKLOADS.includes(workload))
    throw new ProtocolError(`unknown workload ${JSON.stringify(workload).slice(0, 40)}`)
  const sessions = int(o, 'sessions', 1, limits.maxSessions)
  const udp = workload.startsWith('udp_')
  const maxSize = udp ? LIMITS.maxUdpPayloadBytes : LIMITS.maxMessageBytes
  const header = {
    type: 'test' as const,
    workload,
    sessions,
    threads: int(o, 'threads', 1, LIMITS.maxThreads),
    durationMs: int(o, 'durationMs', 1, limits.maxDurationMs),
    requestSize: int(o, 'requestSize', 1, maxSize),
    responseSize: int(o, 'responseSize', 1, maxSize),
    messageSize: int(o, 'messageSize', workload === 'udp_stream' ? 8 : 1, maxSize),
  }
  const assembler = new ChunkAssembler<number>('test', sessions, int(o, 'chunks', 1, sessions), (x, i) => {
    if (x !== 0 && x !== 1) throw new ProtocolError(`serverSends[${i}] must be 0 or 1`)
    if (udp && x === 1) throw new ProtocolError('the server never sends a UDP stream')
    return x
  })
  return {
    assembler: assembler as ChunkAssembler<unknown>,
    finish: (items: unknown[]): TestMessage => ({...header, serverSends: items as number[]}),
  }
}

/** The server's reader of a client's lines: hello, test + its chunks, done. */
export function clientMessageReader(limits: ServerLimits): MessageReader<ClientMessage> {
  return new MessageReader<ClientMessage>((o) => {
    switch (o.type) {
      case 'hello':
        // Accept any version number here: the server answers a mismatch with a clear error.
        return {
          type: 'hello',
          version: int(o, 'version', 0, 1_000_000),
          token: str(o, 'token', 1024, true),
          caps: strings(o, 'caps', 64),
        }
      case 'test':
        return parseTestHeader(o, limits)
      case 'measure':
        return {type: 'measure'}
      case 'done':
        return {type: 'done'}
      default:
        throw new ProtocolError(`unknown message type ${JSON.stringify(o.type ?? null).slice(0, 40)}`)
    }
  })
}

/**
 * A welcome's `cpus`: absent stays absent (an older server's welcome reads back as it was sent);
 * anything else must be a list of CPU numbers.
 */
function pinnedCpus(o: Record<string, unknown>): {cpus?: number[]} {
  const v = o.cpus
  if (v === undefined) return {}
  if (
    !Array.isArray(v) ||
    v.length > MAX_PINNED_CPUS ||
    !v.every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) <= MAX_CPU_NUMBER)
  )
    throw new ProtocolError(
      `cpus must be a list of at most ${MAX_PINNED_CPUS} CPU numbers 0..${MAX_CPU_NUMBER}`,
    )
  return {cpus: v as number[]}
}

const finite = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0)

function parseResultHeader(o: Record<string, unknown>) {
  if (typeof o.cpu !== 'object' || o.cpu === null) throw new ProtocolError('result without cpu')
  const count = int(o, 'sessions', 1, LIMITS.maxSessions)
  const p = (o.processUs ?? {}) as Record<string, unknown>
  const header = {
    type: 'result' as const,
    cpu: o.cpu as CpuUtilisation,
    busyMs: finite(o.busyMs),
    processUs: {user: finite(p.user), sys: finite(p.sys)},
  }
  const assembler = new ChunkAssembler<ServerSessionFigures>(
    'result',
    count,
    int(o, 'chunks', 1, count),
    (x) => {
      const s = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>
      const figures: ServerSessionFigures = {
        ops: finite(s.ops),
        datagrams: finite(s.datagrams),
        retransmits: finite(s.retransmits),
      }
      if (s.windowOps !== undefined) figures.windowOps = finite(s.windowOps)
      return figures
    },
  )
  return {
    assembler: assembler as ChunkAssembler<unknown>,
    finish: (items: unknown[]): ResultMessage => ({...header, sessions: items as ServerSessionFigures[]}),
  }
}

/** The client's reader of the server's lines (it trusts the server no more than the server trusts it). */
export function serverMessageReader(): MessageReader<ServerMessage> {
  return new MessageReader<ServerMessage>((o) => {
    switch (o.type) {
      case 'welcome': {
        const limits = (o.limits ?? {}) as Record<string, unknown>
        return {
          type: 'welcome',
          version: int(o, 'version', 0, 1_000_000),
          caps: strings(o, 'caps', 64),
          limits: {
            maxSessions: int(limits, 'maxSessions', 1, LIMITS.maxSessions),
            maxDurationMs: int(limits, 'maxDurationMs', 1, 1e12),
          },
          ...pinnedCpus(o),
        }
      }
      case 'ready':
        return {type: 'ready', port: int(o, 'port', 1, 65535), cookie: int(o, 'cookie', 0, 0xffffffff)}
      case 'result':
        return parseResultHeader(o)
      case 'error':
        return {type: 'error', reason: str(o, 'reason', 1024) ?? ''}
      default:
        throw new ProtocolError(`unknown message type ${JSON.stringify(o.type ?? null).slice(0, 40)}`)
    }
  })
}

/**
 * Splits a byte stream into lines, refusing a line that grows beyond MAX_LINE_BYTES before its
 * newline arrives (so a peer cannot make the reader buffer without bound).
 */
export class LineReader {
  private buf = ''
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOversized: () => void,
  ) {}
  push(chunk: Buffer | string): void {
    this.buf += chunk.toString()
    let nl: number
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const text = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      if (text.trim()) this.onLine(text)
    }
    if (this.buf.length > MAX_LINE_BYTES) {
      this.buf = ''
      this.onOversized()
    }
  }
}
