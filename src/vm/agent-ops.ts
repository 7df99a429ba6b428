// The guest agent's operations as TypeScript sees them (docs/agent.md, "Ops"): each op's arguments
// and reply written once, in AgentOps, and one method per op on AgentFacade, so that no caller
// types a reply inline. As qemu-ga's QAPI schema serves its dispatcher and its callers, the op list
// here is held against the agent's own (`hello`'s `ops`) by test/unit/agent-ops.test.ts.
//
// The facade needs only `request`: AgentClient (a guest's virtio-serial socket, an agent's --stdio
// here or over ssh) and the relay's client both extend it.
import type {
  Channels,
  NativeGenOptions,
  NativeGenQueueOptions,
  NativeGenQueueStats,
  NativeRxThreadStats,
} from '../native.js'

export interface AgentRequestOptions {
  /** each attempt's wait (default 5000 ms) */
  timeoutMs?: number
  /** attempts after the first, with the same id (default 2) */
  retries?: number
}

/** What the facade needs of a channel: one request, its result or an AgentError. */
export interface AgentChannel {
  request<T = Record<string, unknown>>(
    op: string,
    args?: Record<string, unknown>,
    opts?: AgentRequestOptions,
  ): Promise<T>
}

export interface AgentHello {
  agent: string
  version: string
  protocol: number
  kernel: string
  /** the guest's online CPUs */
  cpus: number
  /** FNV-1a of the agent's own binary, 16 hex digits */
  build: string
  pid: number
  ops: string[]
  /** 'host' when started with `--host DIR` (an SSH far end: docs/hosts.md), else 'guest' */
  mode?: string
  /** host mode: the private directory it may write in, removed with it */
  dir?: string
  /** host mode: the address its servers bind */
  address?: string
}

/** ETHTOOL_GCHANNELS in the guest: the same ioctl and fields as the host's (native/ethtool.cc). */
export type AgentChannels = Channels

export interface AgentFile {
  data: string
  encoding: 'utf8' | 'base64'
  bytes: number
  truncated: boolean
}

export interface AgentDirEntry {
  name: string
  type: 'file' | 'dir' | 'link' | 'other'
}

export interface AgentExecResult {
  /** the exit status, or 128 + the signal for a command killed by one */
  status: number
  signal: number
  timedOut: boolean
  stdout: string
  stderr: string
  truncated: boolean
}

export interface AgentServerOptions {
  bind?: string
  port?: number
  token?: string
  maxSessions?: number
  maxDurationMs?: number
  maxTests?: number
  threads?: number
  cpus?: number[]
}

/** The host's native gen options less what only the host has (docs/agent.md, gen_start). */
export type AgentGenOptions = Omit<
  NativeGenOptions,
  'tap' | 'netns' | 'capturePerQueue' | 'xdp' | 'xdpMode' | 'queues'
> & {
  queues: Array<Omit<NativeGenQueueOptions, 'tapFd'>>
}

export interface AgentGenStats {
  queues: NativeGenQueueStats[]
  failed: boolean
  error: string
}

export interface AgentRxOptions {
  dev: string
  /** receive queues to tell apart (one socket each) */
  sockets: number
  /** sender queues */
  queues: number
  flowsPerQueue: number
  cpus?: number[]
}

export interface AgentRxStats {
  ready: boolean
  threads: NativeRxThreadStats[]
  failed: boolean
  error: string
}

export interface AgentCopyOptions {
  bind: string
  port: number
  bytes: number
  timeoutMs?: number
}

/** The copy receiver's figures (native/copy.cc): `checksum` is the FNV-1a of every byte read. */
export interface AgentCopyReceived {
  connected: boolean
  bytes: number
  expected: number
  checksum: string
  done: boolean
  startNs: number
  endNs: number
  failed: boolean
  error: string
}

/** Every op: its arguments and its reply. The one description the facade and its test read. */
export interface AgentOps {
  hello: {args: Record<string, never>; reply: AgentHello}
  channels_get: {args: {dev: string}; reply: AgentChannels}
  channels_set: {args: {dev: string; combined?: number; rx?: number; tx?: number}; reply: AgentChannels}
  read_file: {args: {path: string; maxBytes?: number}; reply: AgentFile}
  write_file: {
    args: {path: string; data: string; encoding?: 'utf8' | 'base64'; append?: boolean}
    reply: {bytes: number}
  }
  list_dir: {args: {path: string}; reply: {entries: AgentDirEntry[]; truncated: boolean}}
  exec: {args: {argv: string[]; timeoutMs?: number}; reply: AgentExecResult}
  server_start: {args: AgentServerOptions; reply: {address: string; port: number}}
  server_stop: {args: Record<string, never>; reply: {stopped: boolean; tests: number}}
  gen_start: {args: AgentGenOptions; reply: {queues: number}}
  gen_stats: {args: Record<string, never>; reply: AgentGenStats}
  gen_stop: {args: {wait?: boolean}; reply: AgentGenStats}
  rx_start: {args: AgentRxOptions; reply: {threads: number}}
  rx_stats: {args: Record<string, never>; reply: AgentRxStats}
  rx_stop: {args: Record<string, never>; reply: AgentRxStats}
  copy_recv_start: {args: AgentCopyOptions; reply: {port: number}}
  copy_recv_stats: {args: Record<string, never>; reply: AgentCopyReceived}
  copy_recv_stop: {args: Record<string, never>; reply: AgentCopyReceived}
}
export type AgentOp = keyof AgentOps

/** Each op's facade method; the compiler holds it complete against AgentOps. */
export const AGENT_OP_METHODS = {
  hello: 'hello',
  channels_get: 'channelsGet',
  channels_set: 'channelsSet',
  read_file: 'readFile',
  write_file: 'writeFile',
  list_dir: 'listDir',
  exec: 'exec',
  server_start: 'serverStart',
  server_stop: 'serverStop',
  gen_start: 'genStart',
  gen_stats: 'genStats',
  gen_stop: 'genStop',
  rx_start: 'rxStart',
  rx_stats: 'rxStats',
  rx_stop: 'rxStop',
  copy_recv_start: 'copyRecvStart',
  copy_recv_stats: 'copyRecvStats',
  copy_recv_stop: 'copyRecvStop',
} as const satisfies Record<AgentOp, keyof AgentFacade>

/** One typed method per agent op, over whatever carries the requests. */
export abstract class AgentFacade implements AgentChannel {
  abstract request<T = Record<string, unknown>>(
    op: string,
    args?: Record<string, unknown>,
    opts?: AgentRequestOptions,
  ): Promise<T>

  /** One op, its arguments and reply typed by AgentOps. */
  call<Op extends AgentOp>(
    op: Op,
    args: AgentOps[Op]['args'],
    opts?: AgentRequestOptions,
  ): Promise<AgentOps[Op]['reply']> {
    return this.request<AgentOps[Op]['reply']>(op, args as Record<string, unknown>, opts)
  }

  hello(opts?: AgentRequestOptions) {
    return this.call('hello', {}, opts)
  }
  channelsGet(dev: string, opts?: AgentRequestOptions) {
    return this.call('channels_get', {dev}, opts)
  }
  /** Sets the counts given and reads them back. */
  channelsSet(args: AgentOps['channels_set']['args'], opts?: AgentRequestOptions) {
    return this.call('channels_set', args, opts)
  }
  readFile(path: string, maxBytes?: number, opts?: AgentRequestOptions) {
    return this.call('read_file', maxBytes === undefined ? {path} : {path, maxBytes}, opts)
  }
  writeFile(
    path: string,
    data: string,
    how: {encoding?: 'utf8' | 'base64'; append?: boolean} = {},
    opts?: AgentRequestOptions,
  ) {
    return this.call('write_file', {path, data, ...how}, opts)
  }
  listDir(path: string, opts?: AgentRequestOptions) {
    return this.call('list_dir', {path}, opts)
  }
  /** Runs argv in the guest (PATH lookup, busybox there); `timeoutMs` bounds the command itself. */
  exec(argv: string[], timeoutMs?: number, opts?: AgentRequestOptions) {
    return this.call('exec', timeoutMs === undefined ? {argv} : {argv, timeoutMs}, opts)
  }
  serverStart(args: AgentServerOptions, opts?: AgentRequestOptions) {
    return this.call('server_start', args, opts)
  }
  serverStop(opts?: AgentRequestOptions) {
    return this.call('server_stop', {}, opts)
  }
  genStart(args: AgentGenOptions, opts?: AgentRequestOptions) {
    return this.call('gen_start', args, opts)
  }
  genStats(opts?: AgentRequestOptions) {
    return this.call('gen_stats', {}, opts)
  }
  /** Ends the run (or, with `wait`, lets it end by its bounds) and gives the final figures. */
  genStop(wait?: boolean, opts?: AgentRequestOptions) {
    return this.call('gen_stop', wait === undefined ? {} : {wait}, opts)
  }
  rxStart(args: AgentRxOptions, opts?: AgentRequestOptions) {
    return this.call('rx_start', args, opts)
  }
  rxStats(opts?: AgentRequestOptions) {
    return this.call('rx_stats', {}, opts)
  }
  rxStop(opts?: AgentRequestOptions) {
    return this.call('rx_stop', {}, opts)
  }
  copyRecvStart(args: AgentCopyOptions, opts?: AgentRequestOptions) {
    return this.call('copy_recv_start', args, opts)
  }
  copyRecvStats(opts?: AgentRequestOptions) {
    return this.call('copy_recv_stats', {}, opts)
  }
  copyRecvStop(opts?: AgentRequestOptions) {
    return this.call('copy_recv_stop', {}, opts)
  }
}

/** The facade over any channel (a scripted one in tests, a relay's caller). */
export class Agent extends AgentFacade {
  constructor(private readonly channel: AgentChannel) {
    super()
  }
  request<T = Record<string, unknown>>(
    op: string,
    args?: Record<string, unknown>,
    opts?: AgentRequestOptions,
  ): Promise<T> {
    return this.channel.request<T>(op, args, opts)
  }
}
