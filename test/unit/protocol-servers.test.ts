// Both session servers, the TypeScript one (`mqbench server`) and the guest agent's C++ one
// (server_start), held to the same test vectors (test/fixtures/protocol/, docs/protocol.md) over
// a real control connection on loopback: each client vector is played to each server, which must
// welcome, get ready, refuse with the vector's reason or close as the vector says. The C++
// server's welcome must equal the welcome vector byte for byte, and its result lines must be
// exactly what the TypeScript encoder makes of the same figures.
import {readFileSync, readdirSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  MAX_LINE_BYTES,
  encodeMessage,
  serverMessageReader,
  type ServerLimits,
  type ServerMessage,
} from '../../src/sessions/protocol.js'
import {openFilesShortfall} from '../../src/sessions/host-limits.js'
import {startServer} from '../../src/sessions/server.js'
import {StdioAgent} from '../helpers/agent.js'

interface Vector {
  name: string
  from: 'client' | 'server'
  limits?: ServerLimits
  lines: string[]
  messages?: Array<{type: string; sessions?: unknown}>
  closed?: boolean
  error?: string
}

const dir = new URL('../fixtures/protocol/', import.meta.url)
const vectors: Vector[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(new URL(f, dir), 'utf8'))}))
const clientVectors = vectors.filter((v) => v.from === 'client')
const welcomeVector = vectors.find((v) => v.name === 'server-welcome')!
const token = 's3cret' // the token of the hello vectors
const hello = JSON.stringify({type: 'hello', version: 2, token})

/** A control connection that collects the server's lines until it closes. */
class Conversation {
  private readonly sock: Socket
  private text = ''
  private waiters: Array<() => void> = []
  closed = false
  constructor(port: number) {
    this.sock = connect({host: '127.0.0.1', port})
    this.sock.on('data', (d) => {
      this.text += d.toString()
      this.wake()
    })
    this.sock.on('error', () => {})
    this.sock.on('close', () => {
      this.closed = true
      this.wake()
    })
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w()
  }
  send(line: string) {
    this.sock.write(line + '\n')
  }
  end() {
    this.sock.end()
  }
  private until(pred: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no ${what} within 20 s; got ${this.text.slice(0, 300)}`)),
        20_000,
      )
      const check = () => {
        if (pred()) {
          clearTimeout(t)
          resolve()
        } else this.waiters.push(check)
      }
      check()
    })
  }
  /** The next whole line (without its newline). */
  async line(): Promise<string> {
    await this.until(() => this.text.includes('\n') || this.closed, 'line')
    const nl = this.text.indexOf('\n')
    if (nl < 0) throw new Error(`the server closed the connection; left: ${JSON.stringify(this.text)}`)
    const l = this.text.slice(0, nl)
    this.text = this.text.slice(nl + 1)
    return l
  }
  /** Everything until the server closes. */
  async rest(): Promise<string> {
    await this.until(() => this.closed, 'close')
    const r = this.text
    this.text = ''
    return r
  }
}

/** Plays one client vector to the server on `port` and checks its answers. */
async function play(port: number, v: Vector): Promise<void> {
  const c = new Conversation(port)
  const first = JSON.parse(v.lines[0]) as {type?: string}
  if (first.type !== 'hello') {
    c.send(hello)
    expect(JSON.parse(await c.line())).toMatchObject({type: 'welcome', version: 2})
  }
  for (const l of v.lines) c.send(l)
  if (v.error !== undefined) {
    if (v.closed) {
      c.end()
      // Nothing more can be said to a client that has gone: the server ends the test and logs why.
      expect(await c.rest()).toBe('')
      return
    }
    const m = JSON.parse(await c.line()) as {type: string; reason: string}
    expect(m.type).toBe('error')
    const oversized = v.lines.some((l) => Buffer.byteLength(l) > MAX_LINE_BYTES)
    if (oversized) expect(m.reason).toMatch(/longer than (65536 bytes|the line limit)/)
    else expect(m.reason).toContain(v.error)
    expect(await c.rest()).toBe('')
    return
  }
  const last = v.messages!.at(-1)!
  if (last.type === 'hello') {
    const welcome = await c.line()
    if (v.limits!.maxSessions === 20000) expect(welcome).toBe(welcomeVector.lines[0])
    c.end()
  } else if (last.type === 'done' || last.type === 'measure') {
    expect(JSON.parse(await c.line())).toEqual({type: 'error', reason: `expected test, got ${last.type}`})
  } else {
    const ready = JSON.parse(await c.line()) as {type: string; port: number; cookie: number}
    expect(ready).toMatchObject({type: 'ready', port: expect.any(Number), cookie: expect.any(Number)})
    // the window (cap "window"): every session is then counted from measure to done as well
    c.send(JSON.stringify({type: 'measure'}))
    c.send(JSON.stringify({type: 'done'}))
    const text = await c.rest()
    const reader = serverMessageReader()
    const messages = text
      .split('\n')
      .filter((l) => l)
      .map((l) => reader.push(l))
      .filter((m): m is ServerMessage => m !== undefined)
    expect(messages).toHaveLength(1)
    const result = messages[0]
    if (result.type !== 'result') throw new Error(`expected a result, got ${text.slice(0, 200)}`)
    expect(result.sessions).toHaveLength(JSON.parse(v.lines[0]).sessions)
    expect(result.cpu.cpus).toBeGreaterThan(0)
    expect(result.sessions.every((s) => s.windowOps === 0)).toBe(true) // no data connection moved anything
    // the same packing as the TypeScript encoder, byte for byte
    expect(text).toBe(encodeMessage(result))
  }
}

const byLimits = (v: Vector) => JSON.stringify(v.limits)
const limitSets = [...new Set(clientVectors.map(byLimits))]

describe('the TypeScript session server against the protocol vectors', () => {
  for (const key of limitSets) {
    const limits = JSON.parse(key) as ServerLimits
    describe(`limits ${key}`, () => {
      let server: Awaited<ReturnType<typeof startServer>>
      beforeAll(async () => {
        server = await startServer({port: 0, token, ...limits})
      })
      afterAll(() => server?.close())
      for (const v of clientVectors.filter((x) => byLimits(x) === key)) it(v.name, () => play(server.port, v))
    })
  }
})

describe('the C++ session server (agent server_start) against the protocol vectors', () => {
  let agent: StdioAgent
  beforeAll(() => {
    agent = new StdioAgent()
  })
  afterAll(async () => {
    expect(await agent.close()).toBe(0)
  })
  for (const key of limitSets) {
    const limits = JSON.parse(key) as ServerLimits
    describe(`limits ${key}`, () => {
      let port = 0
      beforeAll(async () => {
        port = (await agent.call('server_start', {port: 0, token, ...limits})).port as number
      })
      afterAll(() => agent.call('server_stop'))
      for (const v of clientVectors.filter((x) => byLimits(x) === key))
        it(v.name, async () => {
          await play(port, v)
          // a connection that closed mid-list is logged with the vector's reason
          if (v.closed && v.error) await expect.poll(() => agent.stderr).toContain(v.error)
        })
    })
  }
})

// issue 15: each server tells the client its pinning (--cpus) in its welcome, so that rr and stream
// results record where the server's threads ran.
describe('both session servers say their pinning in the welcome', () => {
  const pinnedVector = vectors.find((v) => v.name === 'server-welcome-pinned')!
  const pinned = JSON.parse(pinnedVector.lines[0]) as {cpus: number[]; limits: ServerLimits}
  const greet = async (port: number) => {
    const c = new Conversation(port)
    c.send(hello)
    const welcome = await c.line()
    c.end()
    return welcome
  }
  it('the TypeScript server', async () => {
    const server = await startServer({port: 0, token, ...pinned.limits, cpus: pinned.cpus})
    try {
      expect(await greet(server.port)).toBe(pinnedVector.lines[0])
    } finally {
      await server.close()
    }
  })
  it('the C++ server', async () => {
    const agent = new StdioAgent()
    try {
      const port = (await agent.call('server_start', {port: 0, token, ...pinned.limits, cpus: pinned.cpus}))
        .port as number
      expect(await greet(port)).toBe(pinnedVector.lines[0])
      await agent.call('server_stop')
    } finally {
      expect(await agent.close()).toBe(0)
    }
  })
})

// Differential fuzz: the vectors' lines mutated field by field and byte by byte, each case played
// to both servers; they must answer alike (the same message types, the same refusal reasons).
describe('both session servers answer mutated vectors alike', () => {
  const limits = {maxSessions: 20000, maxDurationMs: 3600000}
  let agent: StdioAgent
  let ts: Awaited<ReturnType<typeof startServer>>
  let cppPort = 0
  beforeAll(async () => {
    agent = new StdioAgent()
    ts = await startServer({port: 0, token, ...limits})
    cppPort = (await agent.call('server_start', {port: 0, token, ...limits})).port as number
  })
  afterAll(async () => {
    await ts?.close()
    await agent.call('server_stop')
    expect(await agent.close()).toBe(0)
  })

  let seed = 2026
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]
  const oddValues = [
    null,
    true,
    -1,
    0,
    1,
    2,
    1.5,
    2 ** 31,
    1e300,
    -0,
    'x',
    '',
    'tcp_rr',
    'udp_stream',
    [],
    [0, 1],
    {},
  ]
  const mutateObject = (line: string): string => {
    const o = JSON.parse(line) as Record<string, unknown>
    const keys = Object.keys(o)
    switch (Math.floor(rnd() * 4)) {
      case 0:
        o[pick(keys)] = pick(oddValues)
        break
      case 1:
        delete o[pick(keys)]
        break
      case 2:
        o[pick(['extra', 'type', 'items', 'chunks', 'seq', 'first'])] = pick(oddValues)
        break
      default:
        if (Array.isArray(o.items)) o.items = o.items.map((x) => (rnd() < 0.1 ? pick(oddValues) : x))
        else o.type = pick(['hello', 'test', 'done', 'chunk', 'result', 'HELLO'])
    }
    return JSON.stringify(o)
  }
  const mutateBytes = (line: string): string => {
    const at = Math.floor(rnd() * line.length)
    switch (Math.floor(rnd() * 3)) {
      case 0:
        return line.slice(0, at)
      case 1:
        return line.slice(0, at) + pick(['"', '{', '}', ',', '\\', 'é', '\u0000', ' ']) + line.slice(at)
      default:
        return line.slice(0, at) + line.slice(at + 1)
    }
  }
  const sources = clientVectors.filter((v) => v.lines.every((l) => l.length < 10_000))

  /** What a server said, without the figures that differ between any two runs. */
  async function answer(port: number, lines: string[]): Promise<string[]> {
    const c = new Conversation(port)
    for (const l of lines) c.send(l)
    const text = await c.rest()
    return text
      .split('\n')
      .filter((l) => l)
      .map((l) => {
        const m = JSON.parse(l) as {type: string; reason?: string; seq?: number}
        return m.type === 'error' ? `error: ${m.reason}` : m.type === 'chunk' ? 'chunk' : m.type
      })
      .filter((t, i, all) => t !== 'chunk' || all[i - 1] !== 'chunk')
  }

  it('300 cases', async () => {
    for (let i = 0; i < 300; i++) {
      const v = pick(sources)
      const lines = v.lines.map((l) => (rnd() < 0.5 ? l : rnd() < 0.7 ? mutateObject(l) : mutateBytes(l)))
      if (!lines[0].includes('"hello"') || rnd() < 0.2) lines.unshift(hello)
      lines.push(JSON.stringify({type: 'done'}))
      const [a, b] = await Promise.all([answer(ts.port, lines), answer(cppPort, lines)])
      expect({case: i, lines, cpp: b}).toEqual({case: i, lines, cpp: a})
    }
  })
})

describe('the C++ session server and the open-file limit', () => {
  it('raises RLIMIT_NOFILE to its hard value and refuses a larger test as the TypeScript server words it', async () => {
    const agent = new StdioAgent(['prlimit', '--nofile=100:300'])
    try {
      const port = (await agent.call('server_start', {port: 0, token})).port as number
      const c = new Conversation(port)
      c.send(hello)
      expect(JSON.parse(await c.line())).toMatchObject({type: 'welcome'})
      const test = {
        type: 'test' as const,
        workload: 'tcp_rr' as const,
        sessions: 250,
        threads: 1,
        durationMs: 1000,
      }
      const sizes = {requestSize: 1, responseSize: 1, messageSize: 1, serverSends: new Array(250).fill(0)}
      for (const l of encodeMessage({...test, ...sizes})
        .trim()
        .split('\n'))
        c.send(l)
      // Worded as the TypeScript server words it, with the agent's own count of open descriptors.
      const refusal = JSON.parse(await c.line()) as {type: string; reason: string}
      const inUse = Number(/ and (\d+) are open/.exec(refusal.reason)?.[1])
      expect(refusal).toEqual({
        type: 'error',
        reason: `this server cannot hold the test: ${openFilesShortfall(250, {openFiles: 300, openFilesHard: 300}, inUse)}`,
      })
      // 44 sessions fit the 300 files (with the reserve and what is open)
      const d = new Conversation(port)
      d.send(hello)
      await d.line()
      const fits = {...test, ...sizes, sessions: 44, serverSends: new Array(44).fill(0)}
      for (const l of encodeMessage(fits).trim().split('\n')) d.send(l)
      expect(JSON.parse(await d.line())).toMatchObject({type: 'ready'})
      d.end()
    } finally {
      await agent.close()
    }
  })
})
