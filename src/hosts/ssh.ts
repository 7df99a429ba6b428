// A far end on another host, reached with the system's OpenSSH client and nothing installed there
// (docs/hosts.md). One SSH session per host carries everything: a small POSIX shell script makes a
// private directory, receives the static agent on stdin, checks its SHA-256, runs it in host mode
// with its frames on the session's stdio (docs/agent.md), and removes the directory when the agent
// ends, whatever ended it. The phases are named: connect (ssh runs the script), copy (the binary and
// its checksum), ready (the script's marker line), hello (protocol, version and build compared),
// serve (requests, and a ping that keeps the agent's idle watchdog quiet), close.
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {mqbenchVersion} from '../host/info.js'
import {agentBinary} from '../native.js'
import {AGENT_PROTOCOL_VERSION} from '../vm/agent-client.js'
import type {AgentHello} from '../vm/agent-ops.js'
import {encodeFrame, FrameDecoder} from '../vm/framing.js'

/** A far end named `ssh://[user@]host[:port]`. */
export interface SshTarget {
  url: string
  user?: string
  host: string
  port?: number
}

const SSH_URL = /^ssh:\/\/(?:([^@/:\s]+)@)?(\[[0-9a-fA-F:.]+\]|[^@/:\s[\]]+)(?::(\d{1,5}))?\/?$/

export const isSshUrl = (s: string | undefined): s is string =>
  typeof s === 'string' && s.startsWith('ssh://')

/** Parses `ssh://[user@]host[:port]`; a malformed one is a one-line bad-input error. */
export function parseSshUrl(url: string): SshTarget {
  const m = SSH_URL.exec(url)
  const port = m?.[3] === undefined ? undefined : Number(m[3])
  if (!m || (port !== undefined && (port < 1 || port > 65535)))
    throw new MqbError(`${url}: expected ssh://[user@]host[:port]`, ExitCode.badInput)
  return {url, user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port}
}

/**
 * The agent binary copied to far hosts. One function, so that the prebuilt agent the package will
 * ship can replace the build tree's without touching the transport.
 */
export function farAgentBinary(): string {
  return agentBinary()
}

/** How long the agent may hear nothing before it stops on its own (a host whose link vanished). */
export const AGENT_IDLE_MS = 10_000
const PING_MS = 2_000
/** ssh gives up on a silent link after ServerAliveInterval x ServerAliveCountMax seconds. */
const ALIVE_INTERVAL_S = 2
const ALIVE_COUNT = 3
const READY_MARK = 'MQBENCH-AGENT-READY\n'
const AGENT_LOG_PREFIX = 'mqbench-agent: '

/**
 * The ssh command line: batch mode (the user's keys, agent, config and known_hosts; never a
 * password or host-key prompt), keepalives that notice a dead link in seconds, then the person's
 * own config file (MQBENCH_SSH_CONFIG, as ssh -F) and options (MQBENCH_SSH_OPTIONS, each
 * `Key=Value` separated by spaces, as ssh -o).
 */
export function sshArgs(t: SshTarget, env: NodeJS.ProcessEnv = process.env): string[] {
  const args = ['-T', '-o', 'BatchMode=yes', '-o', `ServerAliveInterval=${ALIVE_INTERVAL_S}`]
  // ssh's own LogLevel (INFO) stays: its "Timeout, server ... not responding" is the reason we give
  args.push('-o', `ServerAliveCountMax=${ALIVE_COUNT}`, '-o', 'ConnectTimeout=10')
  if (env.MQBENCH_SSH_CONFIG) args.push('-F', env.MQBENCH_SSH_CONFIG)
  for (const o of (env.MQBENCH_SSH_OPTIONS ?? '').split(/\s+/).filter(Boolean)) args.push('-o', o)
  if (t.port !== undefined) args.push('-p', String(t.port))
  if (t.user) args.push('-l', t.user)
  args.push('--', t.host)
  return args
}

const sshCommand = (t: SshTarget, remote: string) => ['ssh', ...sshArgs(t), remote]

/**
 * The script the far host runs (POSIX sh; no single quotes, it travels inside them). $1 is the
 * agent's size, $2 its SHA-256. Exit codes 96/97 are the script's own failures; anything else is
 * the agent's status (128 + signal when it was killed). The EXIT trap removes the directory on
 * every way out; the agent ends when the session's stdin ends or stays silent too long.
 */
export function remoteScript(idleMs = AGENT_IDLE_MS): string {
  return [
    'umask 077',
    'n=$1; h=$2',
    'd=$(mktemp -d "${TMPDIR:-/tmp}/mqbench-agent.XXXXXXXX") || { echo "cannot make a private directory in ${TMPDIR:-/tmp}" >&2; exit 96; }',
    'trap "rm -rf -- \\"$d\\"" EXIT',
    'trap "exit 129" HUP; trap "exit 130" INT; trap "exit 143" TERM',
    'head -c "$n" > "$d/mqbench-agent" || { echo "cannot write the agent to $d" >&2; exit 96; }',
    's=$(sha256sum < "$d/mqbench-agent") || { echo "sha256sum failed" >&2; exit 96; }',
    '[ "${s%% *}" = "$h" ] || { echo "the copied agent has SHA-256 ${s%% *}, not $h" >&2; exit 97; }',
    'chmod 700 "$d/mqbench-agent"',
    'set -- ${SSH_CONNECTION:-}',
    `printf "${READY_MARK.trim()}\\n"`,
    `"$d/mqbench-agent" --stdio --host "$d" --address "\${3:-}" --idle ${idleMs}`,
  ].join('\n')
}

/** Why the session ended, from ssh's exit status and the last line it or the script wrote. */
export function describeExit(code: number | null, signal: string | null, lastLine: string): string {
  const said = lastLine ? `: ${lastLine}` : ''
  if (signal) return `the local ssh process was killed by ${signal}`
  if (code === 255) return `the SSH connection failed${said || ' (ssh said nothing more)'}`
  if (code === 96 || code === 97) return `the far host could not start the agent${said}`
  // (the far shell's own word for it, "Killed", adds nothing)
  if (code !== null && code > 128) return `its agent was killed by signal ${code - 128}`
  return `its agent exited with status ${code}${said}`
}

/** The FNV-1a 64 hash the agent reports as `build` (native/agent/ops_system.cc). */
export function fnv1a64(bytes: Buffer): string {
  let h = 0xcbf29ce484222325n
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n)
  return h.toString(16).padStart(16, '0')
}

/** One line refusing an agent of another protocol, version or build, or undefined when it matches. */
export function skew(
  hello: Pick<AgentHello, 'protocol' | 'version' | 'build' | 'mode'>,
  want: {version: string; build: string},
): string | undefined {
  if (hello.protocol !== AGENT_PROTOCOL_VERSION)
    return `its agent speaks protocol ${hello.protocol}, this mqbench ${AGENT_PROTOCOL_VERSION}`
  if (hello.version !== want.version)
    return `its agent is version ${hello.version}, this mqbench ${want.version}; rebuild the agent (npm run build:native)`
  if (hello.build !== want.build)
    return `its agent build ${hello.build} is not the file copied (${want.build})`
  if (hello.mode !== 'host') return 'its agent did not start in host mode'
  return undefined
}

interface Pending {
  op: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

/** An error the far agent answered with: the op and its one-line reason. */
export class FarAgentError extends MqbError {
  constructor(
    readonly op: string,
    readonly reason: string,
    readonly errno: number,
  ) {
    super(`far agent ${op}: ${reason}`, ExitCode.failure)
  }
}

/** A far host with the agent running on it, until close(). */
export class FarHost {
  private nextId = 1
  private pending = new Map<number, Pending>()
  private decoder = new FrameDecoder()
  private ping?: NodeJS.Timeout
  private stderrTail = ''
  private closing = false
  private exited: Promise<void>
  private readonly startedAt = Date.now()
  /** set once the session ended unexpectedly: when, and why */
  failure?: {at: Date; afterMs: number; why: string}
  hello!: AgentHello
  private listeners = new Set<(f: NonNullable<FarHost['failure']>) => void>()

  private constructor(
    readonly target: SshTarget,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4096)
    })
    child.stdin.on('error', () => {})
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        clearInterval(this.ping)
        if (!this.closing && !this.failure) {
          const afterMs = Date.now() - this.startedAt
          const agentEnded = code !== 255 && code !== 96 && code !== 97
          const why = describeExit(code, signal, this.lastStderrLine(agentEnded))
          this.failure = {at: new Date(), afterMs, why}
          for (const l of this.listeners) l(this.failure)
        }
        const why = this.failure ? this.failureLine() : 'the SSH session was closed'
        for (const p of this.pending.values()) {
          clearTimeout(p.timer)
          p.reject(new MqbError(why, ExitCode.unreachable))
        }
        this.pending.clear()
        resolve()
      }),
    )
  }

  /** The host as the person named it. */
  get name(): string {
    return this.target.url
  }

  /** The far host's address as its sshd saw the connection: where its servers listen. */
  get address(): string {
    return this.hello.address || this.target.host
  }

  /**
   * The last line ssh or the far script wrote (when `agent`, the agent's own, whose lines it
   * prefixes): the agent logs each test it serves, which says nothing about a lost connection.
   */
  lastStderrLine(agent = false): string {
    const lines = this.stderrTail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && l.startsWith(AGENT_LOG_PREFIX) === agent)
    return lines[lines.length - 1]?.replace(AGENT_LOG_PREFIX, '') ?? ''
  }

  /** One line: the host, when (seconds into its session and the wall time) and why it failed. */
  failureLine(): string {
    const f = this.failure
    if (!f) return `far end ${this.name} is up`
    return `far end ${this.name} lost ${(f.afterMs / 1000).toFixed(1)} s after it was opened (${f.at.toISOString()}): ${f.why}`
  }

  /** Calls `listener` once the session ends unexpectedly. */
  onFailure(listener: (f: NonNullable<FarHost['failure']>) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Connects, copies the agent, starts it and compares its hello; any failure is one line naming
   * the host, and nothing is left there (the script's trap removes the directory).
   */
  static async open(
    url: string,
    opts: {
      binary?: string
      readyTimeoutMs?: number
      /** the command that runs `remote` on the host; ssh by default (tests run it with a local sh) */
      transport?: (target: SshTarget, remote: string) => string[]
    } = {},
  ): Promise<FarHost> {
    const target = parseSshUrl(url)
    const binary = readFileSync(opts.binary ?? farAgentBinary())
    const sha = createHash('sha256').update(binary).digest('hex')
    const remote = `sh -c '${remoteScript()}' mqbench-agent ${binary.length} ${sha}`
    const [cmd, ...args] = (opts.transport ?? sshCommand)(target, remote)
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches mqbench, which stops the far end in order; ssh is
      // ended by close() or by the cleanup registry.
      detached: true,
    })
    const host = new FarHost(target, child)
    child.on('error', () => {})
    try {
      await host.copyAndWait(binary, opts.readyTimeoutMs ?? 30_000)
      const hello = await host.request<AgentHello>('hello', {}, {timeoutMs: 10_000})
      const wrong = skew(hello, {version: mqbenchVersion(), build: fnv1a64(binary)})
      if (wrong) throw new MqbError(`far end ${url} refused: ${wrong}`, ExitCode.unsupported)
      host.hello = hello
    } catch (err) {
      await host.close()
      throw err
    }
    host.ping = setInterval(() => {
      host.request('hello', {}, {timeoutMs: AGENT_IDLE_MS}).catch(() => {})
    }, PING_MS)
    host.ping.unref()
    return host
  }

  private copyAndWait(binary: Buffer, timeoutMs: number): Promise<void> {
    const child = this.child
    return new Promise((resolve, reject) => {
      let seen = ''
      const fail = (why: string) => {
        cleanupListeners()
        reject(new MqbError(`far end ${this.name}: cannot start the agent: ${why}`, ExitCode.unreachable))
      }
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs)
      const onData = (b: Buffer) => {
        seen += b.toString('latin1')
        const i = seen.indexOf(READY_MARK)
        if (i < 0) {
          if (seen.length > 4096) fail(`the far shell wrote something else: ${seen.slice(0, 80).trim()}`)
          return
        }
        cleanupListeners()
        const rest = Buffer.from(seen.slice(i + READY_MARK.length), 'latin1')
        child.stdout.on('data', (c: Buffer) => this.onFrames(c))
        if (rest.length) this.onFrames(rest)
        resolve()
      }
      const onClose = (code: number | null, signal: string | null) =>
        fail(describeExit(code, signal, this.lastStderrLine()))
      const cleanupListeners = () => {
        clearTimeout(timer)
        child.stdout.off('data', onData)
        child.off('close', onClose)
      }
      child.stdout.on('data', onData)
      child.on('close', onClose)
      child.stdin.write(binary)
    })
  }

  private onFrames(chunk: Buffer): void {
    for (const msg of this.decoder.push(chunk)) {
      if (msg instanceof Error) continue
      const id = typeof msg.id === 'number' ? msg.id : -1
      const p = this.pending.get(id)
      if (!p) continue
      this.pending.delete(id)
      clearTimeout(p.timer)
      if (msg.ok === true) p.resolve(msg.result ?? {})
      else
        p.reject(
          new FarAgentError(
            p.op,
            typeof msg.error === 'string' ? msg.error : 'failed',
            typeof msg.errno === 'number' ? msg.errno : 0,
          ),
        )
    }
  }

  /**
   * One request to the far agent. The SSH channel is a reliable byte stream, so nothing is
   * retried: a lost channel is the host's failure, and every request in flight ends with its line.
   */
  request<T = Record<string, unknown>>(
    op: string,
    args: Record<string, unknown> = {},
    opts: {timeoutMs?: number} = {},
  ): Promise<T> {
    if (this.failure) return Promise.reject(new MqbError(this.failureLine(), ExitCode.unreachable))
    if (this.closing) return Promise.reject(new MqbError(`far end ${this.name} is closed`, ExitCode.failure))
    const id = this.nextId++
    const timeoutMs = opts.timeoutMs ?? 10_000
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(
          new MqbError(
            `far end ${this.name}: no answer to ${op} within ${timeoutMs / 1000} s`,
            ExitCode.unreachable,
          ),
        )
      }, timeoutMs)
      this.pending.set(id, {op, resolve: resolve as (v: unknown) => void, reject, timer})
      this.child.stdin.write(encodeFrame({v: AGENT_PROTOCOL_VERSION, id, op, ...args}))
    })
  }

  /** Waits up to `ms` for the session to end (after a fault, so that its reason is known). */
  async settle(ms: number): Promise<void> {
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, ms).unref())])
  }

  /**
   * Ends the session: the agent sees its input end, stops what it runs, and the script removes
   * its directory. ssh is sent SIGTERM if it has not ended within `graceMs`.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.closing = true
    clearInterval(this.ping)
    this.child.stdin.end()
    await this.settle(graceMs)
    this.kill()
    await this.settle(1_000)
  }

  /** Synchronous last resort (the cleanup registry, process exit): ends the local ssh at once. */
  kill(): void {
    this.closing = true
    clearInterval(this.ping)
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return
    try {
      process.kill(-this.child.pid, 'SIGTERM')
    } catch {}
  }
}
