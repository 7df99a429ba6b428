import {describe, expect, it} from 'vitest'
import {
  LineReader,
  MAX_LINE_BYTES,
  ProtocolError,
  encodeMessage,
  parseClientMessage,
  parseServerMessage,
} from '../../src/sessions/protocol.js'

const limits = {maxSessions: 100, maxDurationMs: 60_000}
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

describe('control protocol', () => {
  it('accepts the messages a client sends', () => {
    expect(
      parseClientMessage(line({type: 'hello', version: 1, token: 't', caps: ['tcp_rr']}), limits),
    ).toEqual({type: 'hello', version: 1, token: 't', caps: ['tcp_rr']})
    expect(parseClientMessage(line(test), limits)).toEqual(test)
    expect(parseClientMessage(encodeMessage({type: 'done'}).trim(), limits)).toEqual({type: 'done'})
  })

  it.each([
    ['garbage', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['null', 'not a JSON object'],
    [line({type: 'reboot'}), 'unknown message type'],
    [line({type: 'hello', version: '1'}), 'version must be an integer'],
    [line({...test, sessions: 101}), 'sessions 101 is out of range 1..100'],
    [line({...test, sessions: 1.5}), 'sessions must be an integer'],
    [line({...test, durationMs: 60_001}), 'durationMs 60001 is out of range'],
    [line({...test, workload: 'tcp_syn_flood'}), 'unknown workload'],
    [line({...test, serverSends: [0]}), 'one per session'],
    [
      line({...test, workload: 'udp_stream', messageSize: 1400, serverSends: [1, 1]}),
      'never sends a UDP stream',
    ],
    [line({...test, workload: 'udp_stream', messageSize: 4}), 'messageSize 4 is out of range 8..65507'],
    [line({...test, workload: 'udp_rr', requestSize: 70_000}), 'requestSize 70000 is out of range 1..65507'],
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
    const valid = [line(test), line({type: 'hello', version: 1}), line({type: 'done'})]
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
    const r = parseServerMessage(
      line({type: 'result', cpu: {totalPct: 5}, busyMs: 10, sessions: [{ops: 3, datagrams: 'x'}]}),
    )
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
})
