// The server's control-connection handling on loopback (no privileges needed).
import {connect} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {startServer, type ServerHandle} from '../../src/sessions/index.js'
import {encodeMessage} from '../../src/sessions/protocol.js'

function exchange(port: number, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({host: '127.0.0.1', port})
    let buf = ''
    sock.on('data', (d) => (buf += d.toString()))
    sock.on('error', reject)
    sock.on('close', () => resolve(buf.split('\n').filter(Boolean)))
    sock.write(lines.join(''))
  })
}

describe('sessions server (loopback)', () => {
  let server: ServerHandle
  const log: string[] = []
  beforeAll(async () => {
    server = await startServer({port: 0, maxSessions: 4, log: (l) => log.push(l)})
  })
  afterAll(() => server.close())

  it('refuses to listen beyond loopback without a token', async () => {
    const err = await startServer({bind: '0.0.0.0', port: 0}).catch((e) => e)
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.badInput)
    expect((err as MqbError).message).toMatch(/needs a token/)
  })

  it('answers a version mismatch with a reason and logs it', async () => {
    const replies = await exchange(server.port, ['{"type":"hello","version":99}\n'])
    expect(JSON.parse(replies[0])).toEqual({
      type: 'error',
      reason: expect.stringMatching(/version mismatch: server speaks 2, client 99/),
    })
    expect(log.some((l) => /version mismatch/.test(l))).toBe(true)
  })

  it('enforces its session limit and the message order', async () => {
    const hello = '{"type":"hello","version":2}\n'
    const test = encodeMessage({
      type: 'test',
      workload: 'tcp_rr',
      sessions: 5,
      threads: 1,
      durationMs: 1000,
      requestSize: 1,
      responseSize: 1,
      messageSize: 1,
      serverSends: [0, 0, 0, 0, 0],
    })
    const replies = await exchange(server.port, [hello, test])
    expect(JSON.parse(replies[0])).toMatchObject({type: 'welcome', version: 2, limits: {maxSessions: 4}})
    expect(JSON.parse(replies[1]).reason).toMatch(/sessions 5 is out of range 1..4/)
    const early = await exchange(server.port, ['{"type":"done"}\n'])
    expect(JSON.parse(early[0]).reason).toMatch(/expected hello, got done/)
  })
})
