// The test server (netserver's role): one control connection per test, one native engine per
// test for the data connections. It only accepts: it never connects out and answers UDP only
// to the control connection's own address, so a client cannot aim it at a third party. Each
// control connection is validated message by message; a bad one is closed with a logged reason
// and nothing else is disturbed.
import {randomInt, createHash, timingSafeEqual} from 'node:crypto'
import {createServer, type Server, type Socket} from 'node:net'
import {ExitCode, MqbError, fromNative} from '../errors.js'
import {onlineCpus} from '../host/cpus.js'
import {sessions as nativeSessions, type SessionEngineHandle} from '../native.js'
import {cpuWindow} from '../observe/cpu.js'
import {
  clientMessageReader,
  LineReader,
  PROTOCOL_VERSION,
  ProtocolError,
  SERVER_CAPS,
  encodeMessage,
  type ClientMessage,
  type ServerLimits,
  type ServerMessage,
  type ServerSessionFigures,
  type TestMessage,
} from './protocol.js'
import {openFilesInUse, openFilesShortfall} from './host-limits.js'
import {isLoopback} from './target.js'
import {LIMITS} from '../limits.js'

export const DEFAULT_PORT = 12866
export const DEFAULT_LIMITS = {
  maxSessions: LIMITS.defaultServerSessions,
  maxTests: LIMITS.defaultServerTests,
  maxDurationMs: 3_600_000,
}
/** A client that says nothing for this long after connecting is dropped. */
const HELLO_TIMEOUT_MS = 5000
/** How long past its announced duration a test may run before the server ends it. */
const OVERRUN_GRACE_MS = 30_000

export interface ServerOptions {
  bind?: string
  port?: number
  netns?: string
  token?: string
  maxSessions?: number
  maxTests?: number
  maxDurationMs?: number
  /** pin engine thread i of every test to cpus[i mod n] (netperf -T); at most n threads per test */
  cpus?: number[]
  /** where the server reports refused connections and finished tests (default: nowhere) */
  log?: (line: string) => void
}

export interface ServerHandle {
  address: string
  port: number
  close(): Promise<void>
}

const digest = (s: string) => createHash('sha256').update(s).digest()
const tokenMatches = (expected: string, given: string | undefined) =>
  given !== undefined && timingSafeEqual(digest(expected), digest(given))

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const bind = opts.bind ?? '127.0.0.1'
  if (!isLoopback(bind) && !opts.token) {
    throw new MqbError(`listening on ${bind} needs a token that clients must present`, ExitCode.badInput, [
      'give one with --token or MQBENCH_TOKEN, or keep the default loopback address',
    ])
  }
  const limits: ServerLimits & {maxTests: number} = {
    maxSessions: opts.maxSessions ?? DEFAULT_LIMITS.maxSessions,
    maxTests: opts.maxTests ?? DEFAULT_LIMITS.maxTests,
    maxDurationMs: opts.maxDurationMs ?? DEFAULT_LIMITS.maxDurationMs,
  }
  const log = opts.log ?? (() => {})
  // Raises the open-file limit to its hard value once; each test is checked against it.
  const hostLimits = nativeSessions.hostLimits({netns: opts.netns})
  let listened: {fd: number; port: number}
  try {
    listened = nativeSessions.listen({
      netns: opts.netns,
      host: bind,
      port: opts.port ?? DEFAULT_PORT,
      backlog: 128,
    })
  } catch (err) {
    const e = fromNative(err)
    if ((err as {code?: string}).code === 'EADDRINUSE')
      throw new MqbError(
        `${e.message}: another server is using the port; pick another with --port`,
        ExitCode.busy,
      )
    throw e
  }
  const ctx = {
    bind,
    netns: opts.netns,
    token: opts.token,
    cpus: opts.cpus,
    limits,
    hostLimits,
    log,
    activeTests: 0,
    sockets: new Set<Socket>(),
    running: new Set<Promise<void>>(),
  }
  const server: Server = createServer((sock) => serveConnection(sock, ctx))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({fd: listened.fd}, () => resolve())
  })
  return {
    address: bind,
    port: listened.port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of ctx.sockets) s.destroy()
      })
      await Promise.allSettled([...ctx.running])
    },
  }
}

interface Ctx {
  bind: string
  netns?: string
  token?: string
  cpus?: number[]
  limits: ServerLimits & {maxTests: number}
  hostLimits: {openFiles: number; openFilesHard: number}
  log: (line: string) => void
  activeTests: number
  sockets: Set<Socket>
  running: Set<Promise<void>>
}

interface RunningTest {
  engine: SessionEngineHandle
  cpu: ReturnType<typeof cpuWindow>
  sessions: number
  timer: NodeJS.Timeout
  /** per session: ops when the client opened its window (`measure`) */
  windowStart?: Float64Array
}

function serveConnection(sock: Socket, ctx: Ctx): void {
  new ControlConnection(sock, ctx)
}

/**
 * One control connection's lifecycle, in phases: hello (version, token) -> welcome; test ->
 * startTest (limits, the engine) -> ready; measure (the client's window opens); done or a lost
 * connection -> finishTest (the engine's figures, the result). Any bad step is refuse(): one
 * logged reason, an `error` message, and the connection closed.
 */
class ControlConnection {
  private readonly who: string
  private readonly peer: string
  private state: 'hello' | 'test' | 'running' | 'closed' = 'hello'
  private test?: RunningTest
  private finishing?: Promise<void>
  private readonly helloTimer: NodeJS.Timeout
  private readonly messages: ReturnType<typeof clientMessageReader>

  constructor(
    private readonly sock: Socket,
    private readonly ctx: Ctx,
  ) {
    this.peer = (sock.remoteAddress ?? '?').replace(/^::ffff:/, '')
    this.who = `${this.peer}:${sock.remotePort ?? '?'}`
    ctx.sockets.add(sock)
    this.helloTimer = setTimeout(
      () => this.refuse(`no hello within ${HELLO_TIMEOUT_MS} ms`),
      HELLO_TIMEOUT_MS,
    )
    this.helloTimer.unref()
    this.messages = clientMessageReader(ctx.limits)
    const reader = new LineReader(
      (line) => this.onLine(line),
      () => this.refuse('message longer than the line limit'),
    )
    sock.on('data', (chunk) => reader.push(chunk))
    sock.on('error', () => {})
    sock.on('close', () => {
      clearTimeout(this.helloTimer)
      ctx.sockets.delete(sock)
      this.state = 'closed'
      void this.finishTest(false)
    })
  }

  private send(m: ServerMessage): void {
    if (!this.sock.destroyed && this.sock.writable) this.sock.write(encodeMessage(m))
  }

  private refuse(reason: string): void {
    if (this.state === 'closed') return
    this.ctx.log(`${this.who}: closing control connection: ${reason}`)
    this.send({type: 'error', reason})
    this.state = 'closed'
    void this.finishTest(false)
    this.sock.end()
    setTimeout(() => this.sock.destroy(), 1000).unref()
  }

  /** Ends the test's engine (once) and, when asked and still possible, sends the result. */
  private finishTest(reply: boolean): Promise<void> {
    if (!this.test) return Promise.resolve()
    if (this.finishing) return this.finishing
    const t = this.test
    clearTimeout(t.timer)
    const finishing = (async () => {
      nativeSessions.stop(t.engine)
      const figures = await this.figures(t)
      const cpu = t.cpu.end()
      this.ctx.activeTests--
      if (reply) {
        this.send({
          type: 'result',
          cpu: cpu.utilisation,
          busyMs: cpu.busyMs,
          processUs: {user: cpu.process.userUs, sys: cpu.process.sysUs},
          sessions: figures,
        })
        this.sock.end()
      }
      this.ctx.log(`${this.who}: test finished (${t.sessions} sessions)`)
    })()
    this.finishing = finishing
    this.ctx.running.add(finishing)
    void finishing.finally(() => this.ctx.running.delete(finishing))
    return finishing
  }

  /** The engine's per-session figures once its threads ended; none when it failed (logged). */
  private async figures(t: RunningTest): Promise<ServerSessionFigures[]> {
    try {
      const r = await nativeSessions.join(t.engine)
      return r.sessions.slice(0, t.sessions).map((s, i) => ({
        ops: s.ops,
        datagrams: s.datagrams,
        retransmits: s.retransmits,
        // over the client's window: from its `measure` to its `done`, which stopped the engine
        ...(t.windowStart ? {windowOps: s.ops - (t.windowStart[i] ?? 0)} : {}),
      }))
    } catch (err) {
      this.ctx.log(`${this.who}: test engine failed: ${(err as Error).message}`)
      return []
    }
  }

  private startTest(m: TestMessage): void {
    const ctx = this.ctx
    if (ctx.activeTests >= ctx.limits.maxTests)
      return this.refuse(`busy: ${ctx.activeTests} tests are running (the limit is ${ctx.limits.maxTests})`)
    const files = openFilesShortfall(m.sessions, ctx.hostLimits, openFilesInUse())
    if (files) return this.refuse(`this server cannot hold the test: ${files}`)
    // Pinned, one thread per listed CPU at most: two threads of one test on one CPU only take turns.
    const threads = Math.max(1, Math.min(m.threads, m.sessions, (ctx.cpus ?? onlineCpus()).length))
    const cookie = randomInt(0, 0xffffffff)
    let started: {engine: SessionEngineHandle; port: number}
    try {
      started = nativeSessions.start({
        side: 'server',
        workload: m.workload,
        host: ctx.bind,
        port: 0,
        netns: ctx.netns,
        peer: this.peer,
        sessions: m.sessions,
        threads,
        cpus: ctx.cpus,
        requestSize: m.requestSize,
        responseSize: m.responseSize,
        messageSize: m.messageSize,
        sends: m.serverSends,
        cookie,
      })
    } catch (err) {
      return this.refuse(`cannot start the test: ${(err as Error).message}`)
    }
    ctx.activeTests++
    const timer = setTimeout(() => {
      ctx.log(`${this.who}: test ran ${OVERRUN_GRACE_MS} ms past its duration; ending it`)
      void this.finishTest(true)
    }, m.durationMs + OVERRUN_GRACE_MS)
    timer.unref()
    this.test = {engine: started.engine, cpu: cpuWindow(), sessions: m.sessions, timer}
    this.state = 'running'
    ctx.log(`${this.who}: test ${m.workload} with ${m.sessions} sessions on data port ${started.port}`)
    this.send({type: 'ready', port: started.port, cookie})
  }

  private onHello(m: ClientMessage): void {
    if (m.type !== 'hello') return this.refuse(`expected hello, got ${m.type}`)
    clearTimeout(this.helloTimer)
    if (m.version !== PROTOCOL_VERSION)
      return this.refuse(
        `protocol version mismatch: server speaks ${PROTOCOL_VERSION}, client ${m.version}; use the same mqbench version on both ends`,
      )
    if (this.ctx.token && !tokenMatches(this.ctx.token, m.token)) return this.refuse('wrong or missing token')
    this.state = 'test'
    this.send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      caps: [...SERVER_CAPS],
      limits: {maxSessions: this.ctx.limits.maxSessions, maxDurationMs: this.ctx.limits.maxDurationMs},
      // so that the client records where this end ran (results: pinnedCpus.server)
      cpus: this.ctx.cpus ?? [],
    })
  }

  private onRunning(m: ClientMessage): void {
    if (m.type === 'measure' && this.test && !this.test.windowStart) {
      // Counted here, per session, rather than by the engine's per-thread windows: a UDP server
      // session's datagrams land on whichever thread's socket the kernel picks.
      this.test.windowStart = Float64Array.from(nativeSessions.poll(this.test.engine).ops)
      return
    }
    if (m.type !== 'done') return this.refuse(`expected done, got ${m.type}`)
    this.state = 'closed'
    void this.finishTest(true)
  }

  private onLine(line: string): void {
    if (this.state === 'closed') return
    let m
    try {
      m = this.messages.push(line)
    } catch (err) {
      return this.refuse(err instanceof ProtocolError ? `bad message: ${err.message}` : String(err))
    }
    if (!m) return // a test's per-session list is still arriving
    if (this.state === 'hello') return this.onHello(m)
    if (this.state === 'test') {
      if (m.type !== 'test') return this.refuse(`expected test, got ${m.type}`)
      return this.startTest(m)
    }
    this.onRunning(m)
  }
}
