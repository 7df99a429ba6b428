// The host side of the agent channel (docs/agent.md): requests with ids over a byte stream (the
// virtio-serial port's unix socket by default, or any other, e.g. an agent's --stdio over ssh), a
// timeout per attempt, retries with the same id (the agent answers a repeated id from its cache),
// and a reconnect whenever the stream drops (qemu restarted the chardev, the guest rebooted, a
// migration moved it).
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {Duplex} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError} from '../errors.js'
import {AgentFacade, type AgentHello, type AgentRequestOptions} from './agent-ops.js'
import {encodeFrame, FrameDecoder} from './framing.js'
import {connectUnix} from './qmp.js'

export const AGENT_PROTOCOL_VERSION = 1

/** An agent op that failed: the agent's one-line reason and errno, or a lost channel. */
export class AgentError extends MqbError {
  constructor(
    readonly op: string,
    message: string,
    readonly errno = 0,
    /** true when the agent answered (with an error); false for a timeout or a lost channel */
    readonly answered = true,
    /** whose agent, as the message names it: a far host's is `far end ssh://HOST: agent` */
    who = 'guest agent',
  ) {
    super(`${who} ${op}: ${message}`, ExitCode.farEnd)
    this.name = 'AgentError'
  }
}

/** Opens one byte stream to the agent at `target`; a dropped stream is opened again. */
export type AgentChannelOpener = (target: string, timeoutMs: number, alive?: () => boolean) => Promise<Duplex>

/**
 * A channel to an agent run as a child process that speaks frames on its stdin and stdout
 * (`mqbench-agent --stdio`): `argv` is the agent here, or `ssh HOST mqbench-agent --stdio` for a
 * far end. Each open starts one process; destroying the stream closes its stdin, and the agent
 * stops at the end of its input after answering what it was running.
 */
export function processChannel(argv: string[]): AgentChannelOpener {
  return async () => {
    const proc = spawn(argv[0], argv.slice(1), {stdio: ['pipe', 'pipe', 'ignore']})
    await once(proc, 'spawn')
    proc.stdin.on('error', () => {})
    return Duplex.from({readable: proc.stdout, writable: proc.stdin})
  }
}

interface Pending {
  op: string
  frame: Buffer
  resolve: (v: unknown) => void
  reject: (e: Error) => void
}

export class AgentClient extends AgentFacade {
  private sock?: Duplex
  private nextId = 1
  private pending = new Map<number, Pending>()
  private closed = false
  private connecting?: Promise<void>
  /** how many times the channel was (re)established */
  connections = 0

  constructor(
    private target: string,
    private opts: {
      alive?: () => boolean
      connectTimeoutMs?: number
      open?: AgentChannelOpener
      /** whose agent the errors name (AgentError's `who`) */
      label?: string
    } = {},
  ) {
    super()
  }

  private error(op: string, message: string, errno = 0, answered = true): AgentError {
    return new AgentError(op, message, errno, answered, this.opts.label)
  }

  /** The socket the channel connects to (the destination's after a migration). */
  get path(): string {
    return this.target
  }

  /**
   * Moves the channel to another socket: after a live migration the guest's port is served by the
   * destination qemu, and whatever the source still held (requests written after the guest
   * stopped there, answers it had not passed on) is lost. The old connection is dropped at once
   * (a late frame from it is never read) and every request in flight is sent again, with its id,
   * on the new one: the agent answers a repeat from its cache, so each is answered exactly once.
   */
  retarget(path: string, alive?: () => boolean): void {
    this.target = path
    if (alive) this.opts = {...this.opts, alive}
    const old = this.sock
    this.sock = undefined
    old?.destroy()
    if (!this.closed && this.pending.size > 0) void this.reconnect()
  }

  /**
   * Sends one request and resolves with its result. Each attempt waits `timeoutMs`; a lost
   * answer is asked for again with the same id, up to `retries` more times.
   */
  async request<T = Record<string, unknown>>(
    op: string,
    args: Record<string, unknown> = {},
    opts: AgentRequestOptions = {},
  ): Promise<T> {
    const id = this.nextId++
    const frame = encodeFrame({v: AGENT_PROTOCOL_VERSION, id, op, ...args})
    const attempts = 1 + (opts.retries ?? 2)
    const timeoutMs = opts.timeoutMs ?? 5000
    let last: Error | undefined
    for (let a = 0; a < attempts; a++) {
      if (this.closed) throw this.error(op, 'the agent channel is closed', 0, false)
      try {
        await this.ensureConnected()
        return (await this.attempt(id, op, frame, timeoutMs)) as T
      } catch (err) {
        if (err instanceof AgentError && err.answered) throw err
        last = err as Error
      }
    }
    throw this.error(op, `no answer after ${attempts} attempts (${last?.message ?? 'timeout'})`, 0, false)
  }

  /** Asks `hello` until the agent answers (it starts late in boot), within `timeoutMs`. */
  async waitReady(timeoutMs: number, alive: () => boolean = () => true): Promise<AgentHello> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        const hello = await this.hello({timeoutMs: 1000, retries: 0})
        if (hello.protocol !== AGENT_PROTOCOL_VERSION)
          throw this.error(
            'hello',
            `the guest agent speaks protocol ${hello.protocol}, this mqbench ${AGENT_PROTOCOL_VERSION}; rebuild both`,
          )
        return hello
      } catch (err) {
        if (err instanceof AgentError && err.answered) throw err
        if (Date.now() > deadline || !alive() || this.closed) throw err
      }
    }
  }

  /**
   * Drops the connection; the next request makes a new one. After a guest reset: the agent
   * then sees the host leave and starts the next connection on a frame boundary.
   */
  dropConnection(): void {
    this.retarget(this.target)
  }

  close(): void {
    this.closed = true
    this.sock?.destroy()
    for (const p of this.pending.values())
      p.reject(this.error(p.op, 'the agent channel was closed', 0, false))
    this.pending.clear()
  }

  private attempt(id: number, op: string, frame: Buffer, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(this.error(op, `no answer within ${timeoutMs} ms`, 0, false))
      }, timeoutMs)
      this.pending.set(id, {
        op,
        frame,
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.sock?.write(frame)
    })
  }

  private ensureConnected(): Promise<void> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve()
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined))
    return this.connecting
  }

  private async connect(): Promise<void> {
    const target = this.target
    const sock = await (this.opts.open ?? connectUnix)(
      target,
      this.opts.connectTimeoutMs ?? 10_000,
      this.opts.alive,
    )
    // Closed meanwhile, or moved to another socket (a retarget during the connect).
    if (this.closed || target !== this.target) {
      sock.destroy()
      if (!this.closed) return this.connect()
      return
    }
    // One decoder per connection: a frame cut short by a drop never runs into the next one's.
    const decoder = new FrameDecoder()
    this.sock = sock
    this.connections++
    sock.on('data', (chunk: Buffer) => {
      if (this.sock === sock) this.onData(decoder, chunk)
    })
    sock.on('error', () => {})
    sock.on('close', () => {
      if (this.sock === sock) this.sock = undefined
      if (this.closed) return
      // Requests in flight are sent again on the new connection with their ids.
      void this.reconnect()
    })
    for (const p of this.pending.values()) sock.write(p.frame)
  }

  private async reconnect(): Promise<void> {
    while (!this.closed && this.pending.size > 0) {
      try {
        await this.ensureConnected()
        return
      } catch {
        await sleep(100)
      }
    }
  }

  private onData(decoder: FrameDecoder, chunk: Buffer): void {
    for (const msg of decoder.push(chunk)) {
      if (msg instanceof Error) continue
      const id = typeof msg.id === 'number' ? msg.id : -1
      const p = this.pending.get(id)
      if (!p) continue // a late duplicate of an answer already taken
      this.pending.delete(id)
      if (msg.ok === true) p.resolve(msg.result ?? {})
      else
        p.reject(
          this.error(
            p.op,
            typeof msg.error === 'string' ? msg.error : 'failed',
            typeof msg.errno === 'number' ? msg.errno : 0,
          ),
        )
    }
  }
}
