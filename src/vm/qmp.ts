// mqbench's own QMP client: connect to qemu's monitor socket, read the greeting, negotiate
// capabilities, then run commands (matched to replies by id) and pass events to listeners.
import {connect, type Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError} from '../errors.js'
import {LineDecoder} from './framing.js'

export interface QmpEvent {
  event: string
  data?: Record<string, unknown>
  timestamp?: {seconds: number; microseconds: number}
}

/**
 * A QMP command that failed: qemu's error reply (`errorClass` is its `class`, e.g. GenericError,
 * DeviceNotFound), or `Closed` / `Timeout` when qemu went away or did not answer.
 */
export class QmpError extends MqbError {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command}: ${desc}`, ExitCode.farEnd)
    this.name = 'QmpError'
  }
}

/** Connects to a unix socket, retrying until it exists and accepts (qemu creates it at start). */
export async function connectUnix(
  path: string,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<Socket> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path)
        s.once('connect', () => {
          s.off('error', reject)
          resolve(s)
        })
        s.once('error', reject)
      })
    } catch (err) {
      if (Date.now() > deadline || !alive()) throw err
      await sleep(50)
    }
  }
}

export class QmpClient {
  private decoder = new LineDecoder()
  private nextId = 1
  private pending = new Map<
    string,
    {command: string; resolve: (v: unknown) => void; reject: (e: Error) => void}
  >()
  private listeners = new Set<(e: QmpEvent) => void>()
  private greeting?: (v: Record<string, unknown>) => void
  private closed = false
  /** qemu's version as the greeting states it */
  version = ''

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk) => this.onData(chunk))
    sock.on('close', () => this.fail(new Error('QMP connection closed (qemu exited)')))
    sock.on('error', (err) => this.fail(err))
  }

  static async connect(
    path: string,
    opts: {timeoutMs?: number; alive?: () => boolean} = {},
  ): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000
    const sock = await connectUnix(path, timeoutMs, opts.alive)
    const c = new QmpClient(sock)
    const greeting = await c.withTimeout(
      new Promise<Record<string, unknown>>((resolve) => (c.greeting = resolve)),
      timeoutMs,
      'greeting',
    )
    const qemu = (greeting.QMP as {version?: {qemu?: {major: number; minor: number; micro: number}}})?.version
      ?.qemu
    if (qemu) c.version = `${qemu.major}.${qemu.minor}.${qemu.micro}`
    await c.execute('qmp_capabilities')
    return c
  }

  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Runs a command; resolves with its `return`, rejects with a QmpError for an `error` reply. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closed) return Promise.reject(new QmpError(command, 'Closed', 'the connection is closed'))
    const id = `mqb-${this.nextId++}`
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(id, {command, resolve: resolve as (v: unknown) => void, reject})
    })
    this.sock.write(`${JSON.stringify({execute: command, ...(args ? {arguments: args} : {}), id})}\n`)
    return this.withTimeout(reply, timeoutMs, command).finally(() => this.pending.delete(id))
  }

  /** Resolves with the first event named `name` (and matching `match`), or rejects after the timeout. */
  waitEvent(
    name: string,
    timeoutMs: number,
    match: (e: QmpEvent) => boolean = () => true,
  ): Promise<QmpEvent> {
    let off = () => {}
    const p = new Promise<QmpEvent>((resolve) => {
      off = this.onEvent((e) => {
        if (e.event === name && match(e)) resolve(e)
      })
    })
    return this.withTimeout(p, timeoutMs, `waiting for ${name}`).finally(() => off())
  }

  close(): void {
    this.closed = true
    this.sock.destroy()
  }

  private onData(chunk: Buffer): void {
    for (const msg of this.decoder.push(chunk)) {
      if (msg instanceof Error) continue
      if ('QMP' in msg) {
        this.greeting?.(msg)
        continue
      }
      if (typeof msg.event === 'string') {
        for (const l of this.listeners) l(msg as unknown as QmpEvent)
        continue
      }
      const id = typeof msg.id === 'string' ? msg.id : undefined
      const p = id ? this.pending.get(id) : undefined
      if (!p) continue
      if ('error' in msg) {
        const e = msg.error as {class?: string; desc?: string}
        p.reject(new QmpError(p.command, e.class ?? 'GenericError', e.desc ?? 'failed'))
      } else p.resolve(msg.return)
    }
  }

  private fail(err: Error): void {
    this.closed = true
    for (const p of this.pending.values()) p.reject(new QmpError(p.command, 'Closed', err.message))
    this.pending.clear()
  }

  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QmpError(what, 'Timeout', `no answer from qemu within ${ms} ms`)),
        ms,
      )
    })
    return Promise.race([p, t]).finally(() => clearTimeout(timer))
  }
}
