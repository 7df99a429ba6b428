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

function serveConnection(sock: Socket, ctx: Ctx): void {
  const peer = (sock.remoteAddress ?? '?').replace(/^::ffff:/, '')
  const who = `${peer}:${sock.remotePort ?? '?'}`
  ctx.sockets.add(sock)
  let state: 'hello' | 'test' | 'running' | 'closed' = 'hello'
  let test:
    | {
        engine: SessionEngineHandle
        cpu: ReturnType<typeof cpuWindow>
        sessions: number
        timer: NodeJS.Timeout
        /** per session: ops when the client opened its window (`measure`) */
        windowStart?: Float64Array
      }
    | undefined
  let finishing: Promise<void> | undefined

  const send = (m: ServerMessage) => {
    if (!sock.destroyed && sock.writable) sock.write(encodeMessage(m))
  }
  const refuse = (reason: string) => {
    if (state === 'closed') return
    ctx.log(`${who}: closing control connection: ${reason}`)
    send({type: 'error', reason})
    state = 'closed'
    void finishTest(false)
    sock.end()
    setTimeout(() => sock.destroy(), 1000).unref()
  }
  const helloTimer = setTimeout(() => refuse(`no hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS)
  helloTimer.unref()

  // Ends the test's engine (once) and, when asked and still possible, sends the result.
  const finishTest = (reply: boolean): Promise<void> => {
    if (!test) return Promise.resolve()
    if (finishing) return finishing
    const t = test
    clearTimeout(t.timer)
    finishing = (async () => {
      nativeSessions.stop(t.engine)
      let figures: ServerSessionFigures[] = []
      try {
        const r = await nativeSessions.join(t.engine)
        figures = r.sessions.slice(0, t.sessions).map((s, i) => ({
          ops: s.ops,
          datagrams: s.datagrams,
          retransmits: s.retransmits,
          // over the client's window: from its `measure` to its `done`, which stopped the engine
          ...(t.windowStart ? {windowOps: s.ops - (t.windowStart[i] ?? 0)} : {}),
        }))
      } catch (err) {
        ctx.log(`${who}: test engine failed: ${(err as Error).message}`)
      }
      const cpu = t.cpu.end()
      ctx.activeTests--
      if (reply) {
        send({
          type: 'result',
          cpu: cpu.utilisation,
          busyMs: cpu.busyMs,
          processUs: {user: cpu.process.userUs, sys: cpu.process.sysUs},
          sessions: figures,
        })
        sock.end()
      }
      ctx.log(`${who}: test finished (${t.sessions} sessions)`)
    })()
    ctx.running.add(finishing)
    void finishing.finally(() => ctx.running.delete(finishing!))
    return finishing
  }

  const startTest = (m: TestMessage) => {
    if (ctx.activeTests >= ctx.limits.maxTests)
      return refuse(`busy: ${ctx.activeTests} tests are running (the limit is ${ctx.limits.maxTests})`)
    const files = openFilesShortfall(m.sessions, ctx.hostLimits, openFilesInUse())
    if (files) return refuse(`this server cannot hold the test: ${files}`)
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
        peer,
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
      return refuse(`cannot start the test: ${(err as Error).message}`)
    }
    ctx.activeTests++
    const timer = setTimeout(() => {
      ctx.log(`${who}: test ran ${OVERRUN_GRACE_MS} ms past its duration; ending it`)
      void finishTest(true)
    }, m.durationMs + OVERRUN_GRACE_MS)
    timer.unref()
    test = {engine: started.engine, cpu: cpuWindow(), sessions: m.sessions, timer}
    state = 'running'
    ctx.log(`${who}: test ${m.workload} with ${m.sessions} sessions on data port ${started.port}`)
    send({type: 'ready', port: started.port, cookie})
  }

  const messages = clientMessageReader(ctx.limits)
  const onLine = (line: string) => {
    if (state === 'closed') return
    let m
    try {
      m = messages.push(line)
    } catch (err) {
      return refuse(err instanceof ProtocolError ? `bad message: ${err.message}` : String(err))
    }
    if (!m) return // a test's per-session list is still arriving
    if (state === 'hello') {
      if (m.type !== 'hello') return refuse(`expected hello, got ${m.type}`)
      clearTimeout(helloTimer)
      if (m.version !== PROTOCOL_VERSION)
        return refuse(
          `protocol version mismatch: server speaks ${PROTOCOL_VERSION}, client ${m.version}; use the same mqbench version on both ends`,
        )
      if (ctx.token && !tokenMatches(ctx.token, m.token)) return refuse('wrong or missing token')
      state = 'test'
      return send({
        type: 'welcome',
        version: PROTOCOL_VERSION,
        caps: [...SERVER_CAPS],
        limits: {maxSessions: ctx.limits.maxSessions, maxDurationMs: ctx.limits.maxDurationMs},
        // so that the client records where this end ran (results: pinnedCpus.server)
        cpus: ctx.cpus ?? [],
      })
    }
    if (state === 'test') {
      if (m.type !== 'test') return refuse(`expected test, got ${m.type}`)
      return startTest(m)
    }
    if (m.type === 'measure' && test && !test.windowStart) {
      // Counted here, per session, rather than by the engine's per-thread windows: a UDP server
      // session's datagrams land on whichever thread's socket the kernel picks.
      test.windowStart = Float64Array.from(nativeSessions.poll(test.engine).ops)
      return
    }
    if (m.type !== 'done') return refuse(`expected done, got ${m.type}`)
    state = 'closed'
    void finishTest(true)
  }

  const reader = new LineReader(onLine, () => refuse('message longer than the line limit'))
  sock.on('data', (chunk) => reader.push(chunk))
  sock.on('error', () => {})
  sock.on('close', () => {
    clearTimeout(helloTimer)
    ctx.sockets.delete(sock)
    state = 'closed'
    void finishTest(false)
  })
}
