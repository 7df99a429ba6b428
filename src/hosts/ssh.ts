// A far end on another host, reached with the system's OpenSSH client and nothing installed there
// (docs/hosts.md). One SSH session per host carries everything: a small POSIX shell script makes a
// private directory, receives the static agent on stdin, checks its SHA-256, runs it in host mode
// with its frames on the session's stdio (docs/agent.md), and removes the directory when the agent
// ends, whatever ended it. The phases are named: connect (ssh runs the script), copy (the binary and
// its checksum), ready (the script's marker line), hello (protocol, version and build compared),
// serve (requests, and a ping that keeps the agent's idle watchdog quiet), close.
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {Duplex, PassThrough} from 'node:stream'
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {mqbenchVersion} from '../host/info.js'
import {agentBinary, hostPlatform, packageRoot} from '../prebuilds.js'
import {AGENT_PROTOCOL_VERSION, AgentClient, AgentError} from '../vm/agent-client.js'
import type {AgentHello, AgentRequestOptions} from '../vm/agent-ops.js'

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

/** `uname -m` of a far host in node's architecture names, those prebuilds/ is laid out by. */
export const UNAME_ARCH: Record<string, string> = {x86_64: 'x64', aarch64: 'arm64'}

/**
 * The agent binary copied to a far host whose `uname -m` is `machine`: this build's for this
 * architecture, else the package's prebuild for it; refused in one line naming the host when none
 * is shipped (exit 13), since an agent of another architecture cannot run there.
 */
export function farAgentBinary(url: string, machine: string, root = packageRoot): string {
  const arch = UNAME_ARCH[machine]
  if (!arch)
    throw new MqbError(
      `far end ${url} runs ${machine}, for which mqbench builds no agent (it knows ${Object.keys(UNAME_ARCH).join(' and ')})`,
      ExitCode.noBinary,
    )
  try {
    return agentBinary(arch, root)
  } catch (err) {
    const why = (err as Error).message
    // Building from source makes this host's architecture only: not the advice for another one.
    throw new MqbError(
      arch === process.arch
        ? `far end ${url}: ${why}`
        : `far end ${url} runs ${machine}, and this mqbench ships no agent for ${hostPlatform(arch)} (${why.replace(/^no usable guest agent for \S+ \((.*?)\); build it from source.*$/, '$1')})`,
      ExitCode.noBinary,
    )
  }
}

/** How long the agent may hear nothing before it stops on its own (a host whose link vanished). */
export const AGENT_IDLE_MS = 10_000
const PING_MS = 2_000
/** ssh gives up on a silent link after ServerAliveInterval x ServerAliveCountMax seconds. */
const ALIVE_INTERVAL_S = 2
const ALIVE_COUNT = 3
const ARCH_MARK = 'MQBENCH-ARCH '
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
 * The script the far host runs (POSIX sh; no single quotes, it travels inside them). It says its
 * `uname -m` first, so that the agent for its architecture is sent; then reads a line with the
 * agent's size and SHA-256, then the agent. Exit codes 96/97 are the script's own failures (98:
 * mqbench sent no agent, having refused the host); anything else is the agent's status (128 +
 * signal when it was killed). The EXIT trap removes the directory on every way out; the agent ends
 * when the session's stdin ends or stays silent too long.
 */
export function remoteScript(idleMs = AGENT_IDLE_MS): string {
  return [
    'umask 077',
    `printf "${ARCH_MARK}%s\\n" "$(uname -m)"`,
    'read n h || exit 98',
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

/** The line that precedes the agent on the script's stdin: its size and SHA-256. */
export const agentHeader = (binary: Buffer): string =>
  `${binary.length} ${createHash('sha256').update(binary).digest('hex')}\n`

/** Why the session ended, from ssh's exit status and the last line it or the script wrote. */
export function describeExit(code: number | null, signal: string | null, lastLine: string): string {
  const said = lastLine ? `: ${lastLine}` : ''
  if (signal) return `the local ssh process was killed by ${signal}`
  if (code === 255) return `the SSH connection failed${said || ' (ssh said nothing more)'}`
  if (code === 96 || code === 97 || code === 98) return `the far host could not start the agent${said}`
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

type Failure = {at: Date; afterMs: number; why: string}

/**
 * The ssh process running the script: started, given the agent for the host's architecture, and
 * read up to the ready mark; then its stdio is the agent's byte stream. It keeps the tail of what
 * ssh and the script wrote, and says why the session ended.
 */
class SshSession {
  private stderrTail = ''
  private readonly startedAt = Date.now()
  /** set once the session ended while nobody was closing it: when, and why */
  failure?: Failure
  closing = false
  readonly exited: Promise<void>
  private onEnd: Array<() => void> = []

  constructor(
    readonly url: string,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-4096)
    })
    child.stdin.on('error', () => {})
    child.on('error', () => {})
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        if (!this.closing) {
          const agentEnded = code !== 255 && code !== 96 && code !== 97 && code !== 98
          const why = describeExit(code, signal, this.lastStderrLine(agentEnded))
          this.failure = {at: new Date(), afterMs: Date.now() - this.startedAt, why}
        }
        for (const f of this.onEnd) f()
        resolve()
      }),
    )
  }

  /** Calls `f` when the ssh process has ended. */
  whenEnded(f: () => void): void {
    this.onEnd.push(f)
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

  /**
   * The phases before the agent serves: the host names its architecture, gets that agent with its
   * size and checksum, and says it is ready. The byte stream after the ready mark is the agent's.
   */
  async startAgent(
    choose: (machine: string) => Buffer,
    timeoutMs: number,
  ): Promise<{stream: Duplex; binary: Buffer}> {
    const child = this.child
    let seen = Buffer.alloc(0)
    let wake = () => {}
    const onData = (b: Buffer) => {
      seen = Buffer.concat([seen, b])
      wake()
    }
    let ended: string | undefined
    const onClose = (code: number | null, signal: string | null) => {
      ended = describeExit(code, signal, this.lastStderrLine())
      wake()
    }
    child.stdout.on('data', onData)
    child.on('close', onClose)
    const deadline = Date.now() + timeoutMs
    const fail = (why: string) =>
      new MqbError(`far end ${this.url}: cannot start the agent: ${why}`, ExitCode.unreachable)
    /** Waits for `mark` on stdout; gives the line it starts (up to its newline) and drops it. */
    const until = async (mark: string): Promise<string> => {
      for (;;) {
        const i = seen.indexOf(mark, 0, 'latin1')
        const nl = i < 0 ? -1 : seen.indexOf('\n', i)
        if (nl >= 0) {
          const line = seen
            .subarray(i + mark.length, nl)
            .toString('latin1')
            .trim()
          seen = seen.subarray(nl + 1)
          return line
        }
        if (ended) throw fail(ended)
        if (seen.length > 4096)
          throw fail(`the far shell wrote something else: ${seen.toString('latin1', 0, 80).trim()}`)
        const left = deadline - Date.now()
        if (left <= 0) throw fail(`no answer within ${timeoutMs / 1000} s`)
        await new Promise<void>((r) => {
          const t = setTimeout(r, left)
          wake = () => {
            clearTimeout(t)
            r()
          }
        })
      }
    }
    let binary: Buffer
    try {
      binary = choose(await until(ARCH_MARK))
      child.stdin.write(agentHeader(binary))
      child.stdin.write(binary)
      await until(READY_MARK.trim())
    } finally {
      child.stdout.off('data', onData)
      child.off('close', onClose)
    }
    const readable = new PassThrough()
    if (seen.length) readable.write(seen)
    child.stdout.pipe(readable)
    return {stream: Duplex.from({readable, writable: child.stdin}), binary}
  }

  /** Synchronous last resort: ends the local ssh (its own process group) at once. */
  kill(): void {
    this.closing = true
    const c = this.child
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return
    try {
      process.kill(-c.pid, 'SIGTERM')
    } catch {}
  }
}

/**
 * A far host with the agent running on it, until close(): an AgentClient whose one channel is the
 * ssh session (the frames, ids and errors are the client's). The channel is never opened again: a
 * lost session is the host's failure, and every request in flight ends with its line.
 */
export class FarHost extends AgentClient {
  private ping?: NodeJS.Timeout
  /** the agent's hello, compared with what was copied */
  agentHello!: AgentHello
  private listeners = new Set<(f: Failure) => void>()

  private constructor(
    readonly sshTarget: SshTarget,
    private readonly session: SshSession,
    stream: Duplex,
  ) {
    let given = false
    super(sshTarget.url, {
      label: `far end ${sshTarget.url}: agent`,
      open: async () => {
        if (!given) {
          given = true
          return stream
        }
        await session.exited
        throw new MqbError(`far end ${sshTarget.url}: the SSH session ended`, ExitCode.unreachable)
      },
    })
    session.whenEnded(() => {
      clearInterval(this.ping)
      if (session.failure) for (const l of this.listeners) l(session.failure)
      // Requests in flight end now, with the host's line (request() words them).
      super.close()
    })
  }

  /** The host as the person named it. */
  get name(): string {
    return this.sshTarget.url
  }

  /** The far host's address as its sshd saw the connection: where its servers listen. */
  get address(): string {
    return this.agentHello.address || this.sshTarget.host
  }

  /** set once the session ended unexpectedly: when, and why */
  get failure(): Failure | undefined {
    return this.session.failure
  }

  /** One line: the host, when (seconds into its session and the wall time) and why it failed. */
  failureLine(): string {
    const f = this.failure
    if (!f) return `far end ${this.name} is up`
    return `far end ${this.name} lost ${(f.afterMs / 1000).toFixed(1)} s after it was opened (${f.at.toISOString()}): ${f.why}`
  }

  /** Calls `listener` once the session ends unexpectedly. */
  onFailure(listener: (f: Failure) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Connects, copies the agent for the host's architecture, starts it and compares its hello; any
   * failure is one line naming the host, and nothing is left there (the script's trap removes the
   * directory).
   */
  static async open(
    url: string,
    opts: {
      /** the agent to copy, whatever the host's architecture (tests) */
      binary?: string
      readyTimeoutMs?: number
      /** the command that runs `remote` on the host; ssh by default (tests run it with a local sh) */
      transport?: (target: SshTarget, remote: string) => string[]
    } = {},
  ): Promise<FarHost> {
    const target = parseSshUrl(url)
    const remote = `sh -c '${remoteScript()}' mqbench-agent`
    const [cmd, ...args] = (opts.transport ?? sshCommand)(target, remote)
    // Its own process group: Ctrl-C reaches mqbench, which stops the far end in order; ssh is
    // ended by close() or by the cleanup registry.
    const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe'], detached: true})
    const session = new SshSession(url, child)
    let host: FarHost | undefined
    try {
      const {stream, binary} = await session.startAgent(
        (machine) => readFileSync(opts.binary ?? farAgentBinary(url, machine)),
        opts.readyTimeoutMs ?? 30_000,
      )
      host = new FarHost(target, session, stream)
      const hello = await host.hello({timeoutMs: 10_000})
      const wrong = skew(hello, {version: mqbenchVersion(), build: fnv1a64(binary)})
      if (wrong) throw new MqbError(`far end ${url} refused: ${wrong}`, ExitCode.unsupported)
      host.agentHello = hello
    } catch (err) {
      if (host) await host.close()
      else {
        session.closing = true
        child.stdin.end()
        await Promise.race([session.exited, new Promise((r) => setTimeout(r, 2_000).unref())])
        session.kill()
      }
      throw err
    }
    host.ping = setInterval(() => {
      host.request('hello', {}, {timeoutMs: AGENT_IDLE_MS}).catch(() => {})
    }, PING_MS)
    host.ping.unref()
    return host
  }

  /**
   * One request to the far agent. The SSH channel is a reliable byte stream, so nothing is
   * retried: a lost channel is the host's failure, and every request in flight ends with its line;
   * an error the agent answered names the host (exit 14).
   */
  override async request<T = Record<string, unknown>>(
    op: string,
    args: Record<string, unknown> = {},
    opts: AgentRequestOptions = {},
  ): Promise<T> {
    if (this.failure) throw new MqbError(this.failureLine(), ExitCode.unreachable)
    if (this.session.closing) throw new MqbError(`far end ${this.name} is closed`, ExitCode.failure)
    const timeoutMs = opts.timeoutMs ?? 10_000
    try {
      return await super.request<T>(op, args, {timeoutMs, retries: 0})
    } catch (err) {
      if (err instanceof AgentError && err.answered) throw err
      if (this.failure) throw new MqbError(this.failureLine(), ExitCode.unreachable)
      if (this.session.closing) throw new MqbError(`far end ${this.name} is closed`, ExitCode.failure)
      throw new MqbError(
        `far end ${this.name}: no answer to ${op} within ${timeoutMs / 1000} s`,
        ExitCode.unreachable,
      )
    }
  }

  /** Waits up to `ms` for the session to end (after a fault, so that its reason is known). */
  async settle(ms: number): Promise<void> {
    await Promise.race([this.session.exited, new Promise((r) => setTimeout(r, ms).unref())])
  }

  /**
   * Ends the session: the agent sees its input end, stops what it runs, and the script removes
   * its directory. ssh is sent SIGTERM if it has not ended within `graceMs`.
   */
  override async close(graceMs = 5_000): Promise<void> {
    this.session.closing = true
    clearInterval(this.ping)
    this.session.child.stdin.end()
    await this.settle(graceMs)
    this.kill()
    await this.settle(1_000)
    super.close()
  }

  /** Synchronous last resort (the cleanup registry, process exit): ends the local ssh at once. */
  kill(): void {
    clearInterval(this.ping)
    this.session.kill()
  }
}
