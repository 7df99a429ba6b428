import {describe, expect, it} from 'vitest'
import {readFileSync, readdirSync} from 'node:fs'
import {
  CHUNK_BYTES,
  clientMessageReader,
  type MessageReader,
  LineReader,
  MAX_LINE_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  serverMessageReader,
  encodeMessage,
  type ClientMessage,
  type ResultMessage,
  type ServerLimits,
  type ServerMessage,
} from '../../src/sessions/protocol.js'

const limits = {maxSessions: 100, maxDurationMs: 60_000}
/** Every whole message the lines of `wire` make for `reader`, which then sees the connection end. */
function messagesOf<M extends {type: string}>(reader: MessageReader<M>, wire: string): M[] {
  const out = wire
    .split('\n')
    .filter((l) => l)
    .map((l) => reader.push(l))
    .filter((m): m is M => m !== undefined)
  reader.end()
  return out
}
const clientMessages = (wire: string, lim: ServerLimits = limits) =>
  messagesOf(clientMessageReader(lim), wire)
const parseClientMessage = (text: string, lim: ServerLimits) => clientMessages(text, lim)[0]
const serverMessages = (wire: string) => messagesOf(serverMessageReader(), wire)
const parseServerMessage = (text: string) => serverMessages(text)[0]
const test = {
  type: 'test',
  workload: 'tcp_rr',
  sessions: 2,
  threads: 1,
  durationMs: 1000,
  requestSize: 1,
  responseSize: 1,
  messageSize: 1,
  serverSends: [0, 0],
}
const line = (o: unknown) => JSON.stringify(o)
const wire = (o: object) => encodeMessage(o as ClientMessage)

describe('control protocol', () => {
  it('accepts the messages a client sends', () => {
    expect(
      parseClientMessage(line({type: 'hello', version: 1, token: 't', caps: ['tcp_rr']}), limits),
    ).toEqual({type: 'hello', version: 1, token: 't', caps: ['tcp_rr']})
    expect(parseClientMessage(encodeMessage(test as ClientMessage), limits)).toEqual(test)
    expect(parseClientMessage(encodeMessage({type: 'done'}).trim(), limits)).toEqual({type: 'done'})
  })

  it.each([
    ['garbage', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['null', 'not a JSON object'],
    [line({type: 'reboot'}), 'unknown message type'],
    [line({type: 'hello', version: '1'}), 'version must be an integer'],
    [wire({...test, sessions: 101}), 'sessions 101 is out of range 1..100'],
    [wire({...test, sessions: 1.5}), 'sessions must be an integer'],
    [wire({...test, durationMs: 60_001}), 'durationMs 60001 is out of range'],
    [wire({...test, workload: 'tcp_syn_flood'}), 'unknown workload'],
    [wire({...test, serverSends: [0]}), 'carried 1 of 2 sessions'],
    [line({...test, chunks: undefined}), 'chunks must be an integer'],
    [
      wire({...test, workload: 'udp_stream', messageSize: 1400, serverSends: [1, 1]}),
      'never sends a UDP stream',
    ],
    [wire({...test, workload: 'udp_stream', messageSize: 4}), 'messageSize 4 is out of range 8..65507'],
    [wire({...test, workload: 'udp_rr', requestSize: 70_000}), 'requestSize 70000 is out of range 1..65507'],
    [line({type: 'hello', version: 1, token: 'x'.repeat(2000)}), 'token is longer than 1024'],
    [line({type: 'hello', version: 1, caps: [{}]}), 'caps must be a list'],
  ])('refuses %s with a reason', (input, reason) => {
    expect(() => parseClientMessage(input, limits)).toThrow(ProtocolError)
    expect(() => parseClientMessage(input, limits)).toThrow(reason)
  })

  it('refuses an oversized line before parsing it', () => {
    expect(() =>
      parseClientMessage(`{"type":"hello","pad":"${'a'.repeat(MAX_LINE_BYTES)}"}`, limits),
    ).toThrow(/longer than/)
  })

  it('throws only ProtocolError for random and truncated input', () => {
    let seed = 7
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const valid = [wire(test), line({type: 'hello', version: 1}), line({type: 'done'})]
    for (let i = 0; i < 3000; i++) {
      const base = valid[i % valid.length]
      const input =
        i % 2
          ? base.slice(0, Math.floor(rnd() * base.length))
          : Array.from({length: Math.floor(rnd() * 80)}, () =>
              String.fromCharCode(Math.floor(rnd() * 128)),
            ).join('')
      try {
        parseClientMessage(input, limits)
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
      }
    }
  })

  it('validates what the server sends too', () => {
    expect(parseServerMessage(line({type: 'ready', port: 5000, cookie: 7}))).toEqual({
      type: 'ready',
      port: 5000,
      cookie: 7,
    })
    expect(() => parseServerMessage(line({type: 'ready', port: 0, cookie: 7}))).toThrow(/port 0/)
    expect(parseServerMessage(line({type: 'error', reason: 'busy'}))).toEqual({type: 'error', reason: 'busy'})
    const r = serverMessages(
      [
        line({type: 'result', cpu: {totalPct: 5}, busyMs: 10, sessions: 1, chunks: 1}),
        line({type: 'chunk', seq: 0, first: 0, items: [{ops: 3, datagrams: 'x'}]}),
      ].join('\n'),
    )[0]
    expect(r).toMatchObject({type: 'result', busyMs: 10, sessions: [{ops: 3, datagrams: 0, retransmits: 0}]})
  })

  it('splits a byte stream into lines and stops an endless line', () => {
    const lines: string[] = []
    let oversized = 0
    const r = new LineReader(
      (l) => lines.push(l),
      () => oversized++,
    )
    r.push('{"a":1}\n{"b"')
    r.push(':2}\n\n')
    expect(lines).toEqual(['{"a":1}', '{"b":2}'])
    r.push('x'.repeat(MAX_LINE_BYTES + 1))
    expect(oversized).toBe(1)
  })

  it('sends any number of sessions in chunks no line limit can stop, and assembles them', () => {
    const sessions = Array.from({length: 30_000}, (_, i) => ({
      ops: 2 ** 40 + i,
      datagrams: i,
      retransmits: 7,
    }))
    const result: ResultMessage = {
      type: 'result',
      cpu: {userPct: 1, sysPct: 2, softirqPct: 0, irqPct: 0, totalPct: 3, cpus: 2},
      busyMs: 1,
      processUs: {user: 1, sys: 2},
      sessions,
    }
    const text = encodeMessage(result)
    const lines = text.split('\n').filter((l) => l)
    expect(lines.length).toBeGreaterThan(30)
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(CHUNK_BYTES)
    expect(serverMessages(text)).toEqual([result])
    const sends = Array.from({length: 100_000}, (_, i) => i % 2)
    const big = {...test, sessions: 100_000, serverSends: sends} as ClientMessage
    expect(clientMessages(encodeMessage(big), {maxSessions: 100_000, maxDurationMs: 60_000})).toEqual([big])
  })

  it('refuses a chunk that arrives without its header, twice, late or too long', () => {
    const lines = wire({...test, sessions: 4, serverSends: [0, 0, 0, 0]}).split('\n')
    const head = JSON.stringify({...JSON.parse(lines[0]), chunks: 2})
    const c = (seq: number, first: number, items: unknown[]) => line({type: 'chunk', seq, first, items})
    expect(() => clientMessages(c(0, 0, [0]))).toThrow('without a message announcing it')
    expect(() => clientMessages([head, c(1, 2, [0, 0])].join('\n'))).toThrow(
      'chunk 1 arrived where chunk 0 of 2 was expected',
    )
    expect(() => clientMessages([head, c(0, 0, [0, 0]), c(1, 2, [0, 0, 0])].join('\n'))).toThrow(
      'beyond the 4 announced',
    )
    expect(() => clientMessages([head, c(0, 0, [0, 0])].join('\n'))).toThrow(
      'test truncated: the connection closed after 2 of 4 sessions (chunk 1 of 2)',
    )
    const long = c(0, 0, new Array(MAX_LINE_BYTES / 2).fill(0))
    expect(() => clientMessages([head, long].join('\n'))).toThrow(`longer than ${MAX_LINE_BYTES} bytes`)
  })
})

// The vectors both implementations of the protocol pass (docs/protocol.md): this one and the
// guest agent's C++ server.
describe('protocol test vectors', () => {
  const dir = new URL('../fixtures/protocol/', import.meta.url)
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'))
  interface Vector {
    from: 'client' | 'server'
    limits?: ServerLimits
    lines: string[]
    messages?: Array<ClientMessage | ServerMessage>
    closed?: boolean
    error?: string
  }
  it('covers both directions, valid and refused', () => {
    expect(files.length).toBeGreaterThan(20)
    expect(files.some((f) => f.startsWith('client-'))).toBe(true)
    expect(files.some((f) => f.startsWith('server-'))).toBe(true)
  })
  it.each(files)('%s', (f) => {
    const v = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Vector
    const read = () => {
      const r: MessageReader<ClientMessage | ServerMessage> =
        v.from === 'client' ? clientMessageReader(v.limits!) : serverMessageReader()
      const out = v.lines.map((l) => r.push(l)).filter((m) => m !== undefined)
      if (v.closed || v.messages) r.end()
      return out
    }
    if (v.error) {
      expect(read).toThrow(ProtocolError)
      expect(read).toThrow(v.error)
      return
    }
    expect(read()).toEqual(v.messages)
    // The lines are exactly what the encoder writes: the vectors pin the chunk packing too.
    expect(v.messages!.map((m) => encodeMessage(m)).join('')).toBe(v.lines.map((l) => l + '\n').join(''))
    for (const m of v.messages!) if ('version' in m) expect(m.version).toBe(PROTOCOL_VERSION)
  })
})
