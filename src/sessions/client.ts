// The client side of one test, shared by rr and stream: control connection, native engine,
// measurement window, interim figures, and the server's figures at the end. It returns raw
// per-session figures; rr.ts and stream.ts turn them into results.
import {setTimeout as sleep} from 'node:timers/promises'
import {Socket} from 'node:net'
import {performance} from 'node:perf_hooks'
import {ExitCode, MqbError, errnoCode, fromNative} from '../errors.js'
import {
  sessions as nativeSessions,
  type NativeHistogram,
  type NativeLatencySummary,
  type NativeSessionResult,
  type NativeSessionsResult,
  type SessionEngineHandle,
  type SessionPoll,
  type SessionWorkload,
} from '../native.js'
import {cpuWindow} from '../observe/cpu.js'
import type {CpuUtilisation, SessionPinning, SessionQueue} from '../results/schema.js'
import {attributeSession, type AttributionContext} from './attribution.js'
import {
  LineReader,
  PROTOCOL_VERSION,
  serverMessageReader,
  encodeMessage,
  type ClientMessage,
  type ResultMessage,
  type ServerMessage,
  type WelcomeMessage,
} from './protocol.js'
import {checkClientLimits} from './host-limits.js'
import {resolveTarget} from './target.js'

export const CONNECT_TIMEOUT_MS = 3000
const REPLY_TIMEOUT_MS = 5000
const RESULT_TIMEOUT_MS = 10_000

export interface SessionPlan {
  server: string
  port: number
  netns?: string
  token?: string
  allowRemote?: boolean
  workload: SessionWorkload
  sessions: number
  threads: number
  cpus?: number[]
  requestSize: number
  responseSize: number
  burst: number
  messageSize: number
  /** per session: 1 when the client sends (stream) */
  clientSends: number[]
  durationMs: number
  intervalMs?: number
  /** sample each session's socket (queue attribution, TCP_INFO); default on, false for the cost bench */
  probe?: boolean
  /** how the testbed names a session's queue (attribution.ts); absent: no per-queue figures */
  attribution?: AttributionContext
  /** the queues the testbed has now (per-queue groups list idle ones too) */
  queueCount?: number
}

export interface SessionHooks {
  signal?: AbortSignal
  /** ops (transactions or bytes) per second over the last interval */
  onInterval?: (elapsedMs: number, opsPerSecond: number) => void
}

export interface SessionRun {
  host: string
  sessions: NativeSessionResult[]
  /** rr: every session's latency merged in native code (summary, encoded histogram, memory) */
  total?: Omit<NativeSessionsResult, 'sessions'>
  /** from starting the data connections until every session was connected (the ramp) */
  connectMs: number
  /** the measurement window as the client saw it (CPU times cover the same span) */
  elapsedMs: number
  local: {utilisation: CpuUtilisation; busyMs: number}
  remote?: ResultMessage
  /** why the run stopped early when the server went away; undefined when it ran to the end */
  partial?: string
  interrupted: boolean
  /** where both ends' engine threads ran: ours from the plan, the server's from its welcome */
  pinnedCpus: SessionPinning
  /** each session's queue and each queue's merged latency, when the plan named a method */
  queues?: RunQueues
}

export interface RunQueues {
  queueCount: number
  attribution: SessionQueue[]
  /** per queue 0..queueCount-1: its sessions' latency merged; [] when no session had a queue */
  merged: Array<{latency: NativeLatencySummary; histogram: NativeHistogram}>
}

/** A run that ended early with what it had measured: commands print and save `result`, then exit `partial`. */
export class PartialRunError<R> extends MqbError {
  constructor(
    message: string,
    readonly result: R,
    /** why the run stopped early (the server died, ...), without what the message says was kept */
    readonly reason: string = message,
  ) {
    super(message, ExitCode.partial)
  }
}

class Control {
  private queue: ServerMessage[] = []
  private waiter?: (m: ServerMessage | Error) => void
  closedReason?: string

  constructor(
    readonly sock: Socket,
    readonly where: string,
  ) {
    const messages = serverMessageReader()
    const bad = (err: unknown) => this.close(`the server sent a bad message (${(err as Error).message})`)
    const reader = new LineReader(
      (line) => {
        try {
          const m = messages.push(line)
          if (m) this.deliver(m)
        } catch (err) {
          bad(err)
        }
      },
      () => this.close('the server sent an oversized message'),
    )
    sock.on('data', (c) => reader.push(c))
    sock.on('error', (err) => this.close(`control connection error: ${err.message}`))
    sock.on('close', () => {
      try {
        messages.end()
        this.close('the server closed the control connection')
      } catch (err) {
        bad(err)
      }
    })
  }

  private deliver(m: ServerMessage): void {
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w(m)
    } else this.queue.push(m)
  }

  close(reason: string): void {
    if (this.closedReason) return
    this.closedReason = reason
    this.sock.destroy()
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w(new Error(reason))
    }
  }

  send(m: ClientMessage): void {
    if (!this.closedReason) this.sock.write(encodeMessage(m))
  }

  /** The next message; an `error` message from the server becomes an MqbError. */
  async next(timeoutMs: number): Promise<ServerMessage> {
    let m: ServerMessage | Error | undefined = this.queue.shift()
    if (!m) {
      if (this.closedReason) m = new Error(this.closedReason)
      else {
        m = await new Promise<ServerMessage | Error>((resolve) => {
          const t = setTimeout(() => {
            this.waiter = undefined
            resolve(new Error(`no answer from the server within ${timeoutMs} ms`))
          }, timeoutMs)
          this.waiter = (x) => {
            clearTimeout(t)
            resolve(x)
          }
        })
      }
    }
    if (m instanceof Error)
      throw new MqbError(`mqbench server at ${this.where}: ${m.message}`, ExitCode.unreachable)
    if (m.type === 'error')
      throw new MqbError(
        `mqbench server at ${this.where} refused the test: ${m.reason}`,
        m.reason.includes('version') ? ExitCode.unsupported : ExitCode.unreachable,
      )
    return m
  }
}

async function openControl(host: string, port: number, netns: string | undefined): Promise<Control> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
  let fd: number
  try {
    fd = await nativeSessions.connect({netns, host, port, timeoutMs: CONNECT_TIMEOUT_MS})
  } catch (err) {
    const code = errnoCode(err)
    if (
      code &&
      ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(code)
    ) {
      throw new MqbError(`${(err as Error).message}`, ExitCode.unreachable, [
        `is \`mqbench server\` running there${netns ? ` (reachable from namespace ${netns})` : ''}? start it with \`mqbench server --port ${port}\``,
      ])
    }
    throw fromNative(err)
  }
  return new Control(new Socket({fd, readable: true, writable: true}), where)
}

async function waitConnected(engine: SessionEngineHandle, sessions: number, where: string): Promise<void> {
  const deadline = Date.now() + 5000 + sessions * 10
  for (;;) {
    const p = nativeSessions.poll(engine)
    if (p.failed) return // join() rejects with the engine's error
    if (p.connected >= sessions) return
    if (Date.now() > deadline)
      throw new MqbError(
        `only ${p.connected} of ${sessions} data sessions connected to ${where} in time`,
        ExitCode.unreachable,
      )
    await sleep(20)
  }
}

const opsTotal = (p: SessionPoll) => p.ops.reduce((s, x) => s + x, 0)

/** hello, welcome: the server answers, takes our token and can run the workload. */
async function greet(ctl: Control, plan: Pick<SessionPlan, 'token' | 'workload'>): Promise<WelcomeMessage> {
  ctl.send({type: 'hello', version: PROTOCOL_VERSION, token: plan.token, caps: [plan.workload]})
  const welcome = await ctl.next(REPLY_TIMEOUT_MS)
  if (welcome.type !== 'welcome')
    throw new MqbError(
      `mqbench server at ${ctl.where} answered hello with ${welcome.type}`,
      ExitCode.unreachable,
    )
  if (!welcome.caps.includes(plan.workload))
    throw new MqbError(`mqbench server at ${ctl.where} cannot run ${plan.workload}`, ExitCode.unsupported)
  return welcome
}

/**
 * Reaches the server, says hello and leaves: for a command that changes the host before its load
 * (`check` sets channels), so that an absent server, a wrong token or a refused target fails
 * before anything changes.
 */
export async function probeServer(
  plan: Pick<SessionPlan, 'server' | 'port' | 'netns' | 'token' | 'allowRemote' | 'workload'>,
): Promise<void> {
  const host = await resolveTarget(plan.server, {
    netns: plan.netns,
    allowRemote: plan.allowRemote,
    what: 'server',
  })
  const ctl = await openControl(host, plan.port, plan.netns)
  try {
    await greet(ctl, plan)
  } finally {
    ctl.sock.destroy()
  }
}

export async function runSessions(plan: SessionPlan, hooks: SessionHooks = {}): Promise<SessionRun> {
  const host = await resolveTarget(plan.server, {
    netns: plan.netns,
    allowRemote: plan.allowRemote,
    what: 'server',
  })
  checkClientLimits({sessions: plan.sessions, netns: plan.netns, where: host})
  const ctl = await openControl(host, plan.port, plan.netns)
  try {
    const welcome = await greet(ctl, plan)
    if (plan.sessions > welcome.limits.maxSessions)
      throw new MqbError(
        `${plan.sessions} sessions exceed the server's limit of ${welcome.limits.maxSessions} (its --max-sessions)`,
        ExitCode.badInput,
      )
    if (plan.durationMs > welcome.limits.maxDurationMs)
      throw new MqbError(
        `a ${plan.durationMs} ms test exceeds the server's limit of ${welcome.limits.maxDurationMs} ms (its --max-duration)`,
        ExitCode.badInput,
      )
    ctl.send({
      type: 'test',
      workload: plan.workload,
      sessions: plan.sessions,
      threads: plan.threads,
      durationMs: plan.durationMs,
      requestSize: plan.requestSize,
      responseSize: plan.responseSize,
      messageSize: plan.messageSize,
      serverSends: plan.clientSends.map((x) => (x ? 0 : 1)),
    })
    const ready = await ctl.next(REPLY_TIMEOUT_MS)
    if (ready.type !== 'ready')
      throw new MqbError(
        `mqbench server at ${ctl.where} answered the test with ${ready.type}`,
        ExitCode.unreachable,
      )
    const run = await measure(
      plan,
      hooks,
      ctl,
      host,
      ready.port,
      ready.cookie,
      welcome.caps.includes('window'),
    )
    return {...run, pinnedCpus: sessionPinning(plan.cpus, welcome)}
  } finally {
    ctl.sock.destroy()
  }
}

/** Both ends' pinning as a result records it; the server's is left out when its welcome did not say. */
export function sessionPinning(
  clientCpus: number[] | undefined,
  welcome: Pick<WelcomeMessage, 'cpus'>,
): SessionPinning {
  return {client: clientCpus ?? [], ...(welcome.cpus ? {server: welcome.cpus} : {})}
}

function startEngine(plan: SessionPlan, host: string, dataPort: number, cookie: number): SessionEngineHandle {
  return nativeSessions.start({
    side: 'client',
    workload: plan.workload,
    host,
    port: dataPort,
    netns: plan.netns,
    sessions: plan.sessions,
    threads: plan.threads,
    cpus: plan.cpus,
    requestSize: plan.requestSize,
    responseSize: plan.responseSize,
    burst: plan.burst,
    messageSize: plan.messageSize,
    sends: plan.clientSends,
    cookie,
    sampleMs: sampleMs(plan),
  }).engine
}

/** Sockets are sampled at each interval (1 s without one), unless sampling is off. */
const sampleMs = (plan: Pick<SessionPlan, 'probe' | 'intervalMs'>) =>
  plan.probe === false ? 0 : (plan.intervalMs ?? 1000)

/**
 * The window, from open to its end: interval lines on a fixed grid (1 s, 2 s, ...), not 1 s after
 * the previous line, so that timer drift cannot push the last one past the end of the run and lose
 * it; a grid line taken within the 1 ms slack of the end is the last line (the end adds none after
 * it). Returns why it ended early, if it did.
 */
async function runWindow(
  plan: SessionPlan,
  hooks: SessionHooks,
  ctl: Control,
  engine: SessionEngineHandle,
  t0: number,
): Promise<{partial?: string; interrupted: boolean}> {
  const step = Math.min(plan.intervalMs ?? 250, 250)
  let lastOps = opsTotal(nativeSessions.poll(engine))
  let lastReport = t0
  let nextReport = t0 + (plan.intervalMs ?? 0)
  const report = (ops: number, now: number) => {
    hooks.onInterval!(now - t0, ((ops - lastOps) * 1000) / (now - lastReport))
    lastOps = ops
    lastReport = now
  }
  for (;;) {
    const left = plan.durationMs - (performance.now() - t0)
    if (left <= 0) return {interrupted: false}
    await sleep(Math.min(step, left))
    if (hooks.signal?.aborted) return {interrupted: true}
    if (ctl.closedReason) return {partial: ctl.closedReason, interrupted: false}
    const p = nativeSessions.poll(engine)
    if (p.failed) return {interrupted: false}
    const now = performance.now()
    const ended = now - t0 >= plan.durationMs
    if (
      plan.intervalMs &&
      hooks.onInterval &&
      (now >= nextReport - 1 || (ended && lastReport - t0 < plan.durationMs - 1))
    ) {
      report(opsTotal(p), now)
      while (nextReport <= now + 1) nextReport += plan.intervalMs
    }
  }
}

/** After our threads stopped: `done`, and the server's figures over the same window. */
async function serverResult(
  ctl: Control,
  partial: string | undefined,
): Promise<{remote?: ResultMessage; partial?: string}> {
  if (partial || ctl.closedReason) return {partial}
  ctl.send({type: 'done'})
  try {
    const m = await ctl.next(RESULT_TIMEOUT_MS)
    return m.type === 'result' ? {remote: m} : {}
  } catch (err) {
    return {partial: (err as Error).message}
  }
}

/**
 * After join: each session's queue by the testbed's method, and the sessions of each queue merged
 * in native code (sessions in no queue, moved or unattributed, in no group).
 */
function attributeRun(
  engine: SessionEngineHandle,
  sessions: NativeSessionResult[],
  ctx: AttributionContext,
  queueCount: number,
): RunQueues {
  const attribution = sessions.map((s) => attributeSession(s.probe, ctx))
  const groups = Int32Array.from(attribution.map((a) => a.queue ?? -1))
  const merged = attribution.some((a) => a.queue !== undefined)
    ? nativeSessions.groupLatency(engine, groups, queueCount)
    : []
  return {queueCount, attribution, merged}
}

async function measure(
  plan: SessionPlan,
  hooks: SessionHooks,
  ctl: Control,
  host: string,
  dataPort: number,
  cookie: number,
  /** the server counts over our window when told where it starts (cap `window`) */
  sharedWindow: boolean,
): Promise<Omit<SessionRun, 'pinnedCpus'>> {
  const started = performance.now()
  const engine = startEngine(plan, host, dataPort, cookie)
  let joined = false
  const join = async () => {
    nativeSessions.stop(engine)
    joined = true
    try {
      return await nativeSessions.join(engine)
    } catch (err) {
      throw errnoCode(err) === 'ECONNREFUSED'
        ? new MqbError(`${(err as Error).message} (data port ${host}:${dataPort})`, ExitCode.unreachable)
        : fromNative(err)
    }
  }
  try {
    await waitConnected(engine, plan.sessions, ctl.where)
    const connectMs = performance.now() - started
    if (nativeSessions.poll(engine).failed) await join()
    const cpu = cpuWindow()
    const t0 = performance.now()
    nativeSessions.measure(engine)
    // The server's window: from this message to `done`, sent once our threads have stopped.
    if (sharedWindow) ctl.send({type: 'measure'})
    const ended = await runWindow(plan, hooks, ctl, engine, t0)
    const result = await join()
    const elapsedMs = performance.now() - t0
    const local = cpu.end()
    const {remote, partial} = await serverResult(ctl, ended.partial)
    const {sessions: perSession, ...total} = result
    return {
      host,
      sessions: perSession,
      total,
      connectMs,
      elapsedMs,
      local: {utilisation: local.utilisation, busyMs: local.busyMs},
      remote,
      partial,
      interrupted: ended.interrupted,
      ...(plan.attribution
        ? {queues: attributeRun(engine, perSession, plan.attribution, plan.queueCount ?? 1)}
        : {}),
    }
  } finally {
    if (!joined) {
      nativeSessions.stop(engine)
      await nativeSessions.join(engine).catch(() => {})
    }
  }
}
