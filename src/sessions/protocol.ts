// The control protocol between `mqbench rr|stream` and `mqbench server`: JSON lines over one TCP
// connection per test. The client speaks first:
//
//   client: hello {version, token?, caps}        server: welcome {version, caps, limits}
//   client: test {workload, sessions, sizes...}  server: ready {port, cookie}
//     ... data connections to `port`, each starting with the cookie and its session index ...
//   client: done                                 server: result {cpu, sessions[]} and closes
//
// Either side may send `error {reason}` and close. Every message is validated here, field by
// field, before anything acts on it: the server faces whatever reaches its port.
import type {CpuUtilisation} from '../results/schema.js'
import type {SessionWorkload} from '../native.js'
import {LIMITS} from '../limits.js'

export const PROTOCOL_VERSION = 1
/** A control line longer than this is hostile or broken: the connection is closed. */
export const MAX_LINE_BYTES = 64 * 1024
export const WORKLOADS: readonly SessionWorkload[] = [
  'tcp_rr',
  'udp_rr',
  'tcp_crr',
  'tcp_stream',
  'udp_stream',
]
export const SERVER_CAPS = [...WORKLOADS, 'burst', 'bidir'] as const

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

export type ClientMessage = HelloMessage | TestMessage | DoneMessage

export interface WelcomeMessage {
  type: 'welcome'
  version: number
  caps: string[]
  limits: ServerLimits
}

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
}

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

export class ProtocolError extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'ProtocolError'
  }
}

export function encodeMessage(m: ClientMessage | ServerMessage): string {
  return JSON.stringify(m) + '\n'
}

function parseObject(line: string): Record<string, unknown> {
  if (Buffer.byteLength(line) > MAX_LINE_BYTES)
    throw new ProtocolError(`message longer than ${MAX_LINE_BYTES} bytes`)
  let v: unknown
  try {
    v = JSON.parse(line)
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

/** Validates one control line from a client; throws ProtocolError with a reason to log. */
export function parseClientMessage(line: string, limits: ServerLimits): ClientMessage {
  const o = parseObject(line)
  switch (o.type) {
    case 'hello':
      // Accept any version number here: the server answers a mismatch with a clear error.
      return {
        type: 'hello',
        version: int(o, 'version', 0, 1_000_000),
        token: str(o, 'token', 1024, true),
        caps: strings(o, 'caps', 64),
      }
    case 'test': {
      const workload = str(o, 'workload', 32) as SessionWorkload
      if (!WORKLOADS.includes(workload))
        throw new ProtocolError(`unknown workload ${JSON.stringify(workload).slice(0, 40)}`)
      const sessions = int(o, 'sessions', 1, limits.maxSessions)
      const udp = workload.startsWith('udp_')
      const maxSize = udp ? LIMITS.maxUdpPayloadBytes : LIMITS.maxMessageBytes
      const serverSends = o.serverSends
      if (
        !Array.isArray(serverSends) ||
        serverSends.length !== sessions ||
        !serverSends.every((x) => x === 0 || x === 1)
      ) {
        throw new ProtocolError('serverSends must be a list of 0/1, one per session')
      }
      if (udp && serverSends.some((x) => x === 1))
        throw new ProtocolError('the server never sends a UDP stream')
      return {
        type: 'test',
        workload,
        sessions,
        threads: int(o, 'threads', 1, LIMITS.maxThreads),
        durationMs: int(o, 'durationMs', 1, limits.maxDurationMs),
        requestSize: int(o, 'requestSize', 1, maxSize),
        responseSize: int(o, 'responseSize', 1, maxSize),
        messageSize: int(o, 'messageSize', workload === 'udp_stream' ? 8 : 1, maxSize),
        serverSends: serverSends as number[],
      }
    }
    case 'done':
      return {type: 'done'}
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(o.type ?? null).slice(0, 40)}`)
  }
}

/** Validates one line from the server (the client trusts it no more than the server trusts it). */
export function parseServerMessage(line: string): ServerMessage {
  const o = parseObject(line)
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
      }
    }
    case 'ready':
      return {type: 'ready', port: int(o, 'port', 1, 65535), cookie: int(o, 'cookie', 0, 0xffffffff)}
    case 'result': {
      if (!Array.isArray(o.sessions) || typeof o.cpu !== 'object' || o.cpu === null)
        throw new ProtocolError('result without cpu or sessions')
      const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0)
      const sessions = (o.sessions as Array<Record<string, unknown>>).map((s) => ({
        ops: num(s?.ops),
        datagrams: num(s?.datagrams),
        retransmits: num(s?.retransmits),
      }))
      const p = (o.processUs ?? {}) as Record<string, unknown>
      return {
        type: 'result',
        cpu: o.cpu as CpuUtilisation,
        busyMs: num(o.busyMs),
        processUs: {user: num(p.user), sys: num(p.sys)},
        sessions,
      }
    }
    case 'error':
      return {type: 'error', reason: str(o, 'reason', 1024) ?? ''}
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(o.type ?? null).slice(0, 40)}`)
  }
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
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      if (line.trim()) this.onLine(line)
    }
    if (this.buf.length > MAX_LINE_BYTES) {
      this.buf = ''
      this.onOversized()
    }
  }
}
