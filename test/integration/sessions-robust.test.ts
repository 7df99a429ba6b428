// The server against hostile control traffic, and the client when the server dies mid-test.
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {Socket} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'
import {sessions as nativeSessions} from '../../src/native.js'
import {runRr, startServer, type ServerHandle} from '../../src/sessions/index.js'
import {PROTOCOL_VERSION, encodeMessage, type TestMessage} from '../../src/sessions/protocol.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const bin = join(import.meta.dirname, '../../bin/run.js')
const token = 'fuzz-token'

function prng(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
}

/** The control messages of one fuzz case, by number: random, truncated, oversized, wrong version... */
function fuzzCase(i: number, rnd: () => number): {payload: string; reason?: RegExp} {
  const hello = JSON.stringify({type: 'hello', version: PROTOCOL_VERSION, token, caps: []})
  const test: TestMessage = {
    type: 'test',
    workload: 'tcp_rr',
    sessions: 1,
    threads: 1,
    durationMs: 1000,
    requestSize: 1,
    responseSize: 1,
    messageSize: 1,
    serverSends: [0],
  }
  const junk = (n: number) =>
    Array.from({length: n}, () => String.fromCharCode(Math.floor(rnd() * 256))).join('')
  switch (i % 9) {
    case 0:
      return {payload: junk(1 + Math.floor(rnd() * 200)) + '\n'}
    case 1:
      return {payload: hello.slice(0, Math.floor(rnd() * hello.length))}
    case 2:
      return {
        payload:
          JSON.stringify({type: 'hello', version: PROTOCOL_VERSION + 1 + Math.floor(rnd() * 100), token}) +
          '\n',
        reason: /version mismatch/,
      }
    case 3:
      return {
        payload: JSON.stringify({type: 'hello', version: PROTOCOL_VERSION, token: junk(8)}) + '\n',
        reason: /wrong or missing token/,
      }
    case 4:
      return {payload: `${hello}\n${junk(50)}\n`}
    case 5: {
      const keys = ['sessions', 'threads', 'durationMs', 'requestSize', 'responseSize'] as const
      const bad = {
        ...test,
        [keys[Math.floor(rnd() * keys.length)]]: [-1, 0, 1e12, 0.5, 'x', null][Math.floor(rnd() * 6)],
      }
      return {payload: `${hello}\n${encodeMessage(bad as TestMessage)}`, reason: /bad message/}
    }
    case 6:
      return i % 90 === 6
        ? {payload: 'x'.repeat(70_000), reason: /line limit/}
        : {payload: '['.repeat(5000) + ']'.repeat(5000) + '\n', reason: /bad message/}
    case 7:
      // a real test whose client vanishes before any data connection: the engine must go away
      return i % 63 === 7
        ? {payload: `${hello}\n${encodeMessage(test)}`}
        : {payload: encodeMessage(test), reason: /expected hello/}
    default:
      return {payload: `${hello}\n${JSON.stringify({type: 'done'})}\n`, reason: /expected test/}
  }
}

async function sendCase(p: NetPair, port: number, payload: string): Promise<boolean> {
  const fd = await nativeSessions.connect({netns: p.nsA, host: p.ipB, port, timeoutMs: 3000})
  const sock = new Socket({fd, readable: true, writable: true})
  return new Promise((resolve) => {
    const t = setTimeout(() => (sock.destroy(), resolve(false)), 8000)
    sock.on('data', () => {})
    sock.on('error', () => {})
    sock.on('close', () => (clearTimeout(t), resolve(true)))
    sock.write(payload, () => sock.end())
  })
}

function lines(
  child: ChildProcessWithoutNullStreams,
  stream: 'stdout' | 'stderr',
): {text: () => string; waitFor: (re: RegExp, ms: number) => Promise<RegExpMatchArray>} {
  let buf = ''
  const waiters: Array<() => void> = []
  child[stream].on('data', (d) => {
    buf += d.toString()
    for (const w of waiters.splice(0)) w()
  })
  return {
    text: () => buf,
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in: ${buf}`)), ms)
        const check = () => {
          const m = buf.match(re)
          if (m) {
            clearTimeout(t)
            resolve(m)
          } else waiters.push(check)
        }
        check()
      }),
  }
}

describeNet('sessions: robustness', () => {
  let p: NetPair
  const children: ChildProcessWithoutNullStreams[] = []
  beforeAll(() => {
    p = createNetPair(2)
  })
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  it('survives 2,000 random, truncated, oversized and wrong-version control messages, then serves a test', async () => {
    const log: string[] = []
    const server: ServerHandle = await startServer({
      netns: p.nsB,
      bind: p.ipB,
      port: 0,
      token,
      log: (l) => log.push(l),
    })
    try {
      const rnd = prng(42)
      const cases = Array.from({length: 2000}, (_, i) => fuzzCase(i, rnd))
      let closed = 0
      for (let i = 0; i < cases.length; i += 50) {
        const done = await Promise.all(cases.slice(i, i + 50).map((c) => sendCase(p, server.port, c.payload)))
        closed += done.filter(Boolean).length
      }
      expect(closed).toBe(cases.length)
      for (const re of new Set(cases.map((c) => c.reason).filter((r): r is RegExp => r !== undefined))) {
        expect(
          log.some((l) => re.test(l)),
          `a log line matching ${re}`,
        ).toBe(true)
      }
      const r = await runRr({
        server: p.ipB,
        port: server.port,
        netns: p.nsA,
        token,
        type: 'tcp_rr',
        sessions: 2,
        requestSize: 1,
        responseSize: 1,
        durationMs: 1000,
      })
      expect(r.sessions.every((s) => s.transactions > 0)).toBe(true)
    } finally {
      await server.close()
    }
  })

  it('gives partial results and a non-zero exit when the server is killed mid-test', async () => {
    const server = spawn(process.execPath, [
      bin,
      'server',
      '--netns',
      p.nsB,
      '--bind',
      p.ipB,
      '--port',
      '0',
      '--token',
      token,
    ])
    children.push(server)
    const [, port] = await lines(server, 'stdout').waitFor(/listening on [\d.]+:(\d+)/, 15_000)
    const client = spawn(process.execPath, [
      bin,
      'rr',
      '--netns',
      p.nsA,
      '--server',
      p.ipB,
      '--port',
      port,
      '--token',
      token,
      '--sessions',
      '4',
      '--duration',
      '8s',
      '--json',
    ])
    children.push(client)
    const out = lines(client, 'stdout')
    const err = lines(client, 'stderr')
    const exited = new Promise<number | null>((resolve) => client.on('exit', (code) => resolve(code)))
    await new Promise((r) => setTimeout(r, 2500))
    const killedAt = Date.now()
    server.kill('SIGKILL')
    const code = await exited
    expect(Date.now() - killedAt).toBeLessThan(4000)
    expect(code).toBe(ExitCode.partial)
    expect(err.text()).toMatch(/stopped early/)
    const partial = JSON.parse(out.text())
    expect(partial.workload).toBe('rr')
    expect(partial.sessions).toHaveLength(4)
    expect(partial.transactionsPerSecond).toBeGreaterThan(0)
    expect(partial.windowMs).toBeLessThan(7000)
  })
})
