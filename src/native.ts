// The one typed door to the C++ addon. Each area adds its own interface below and reads its
// functions through `native()`; nothing else in src/ loads the .node file.
import {getSystemErrorName} from 'node:util'
import {ExitCode, MqbError} from './errors.js'
import {loadAddon, type BinaryChoice} from './prebuilds.js'

export {agentBinary, locateAgent} from './prebuilds.js'

export interface NativeAddon {
  /** CLOCK_MONOTONIC in nanoseconds: the time base of every native timestamp. */
  monotonicNs(): bigint
  /** The areas compiled into this build ("gen", "sessions", ...). */
  areas: string[]
  [fn: string]: unknown
}

let cached: {addon: NativeAddon; choice: BinaryChoice} | undefined

/** The addon, loaded once: a build from source if there is one, else the package's prebuild (src/prebuilds.ts). */
export function native(): NativeAddon {
  cached ??= loadAddon<NativeAddon>()
  return cached.addon
}

/** Which addon binary is in use and how it was chosen (loads it). */
export function addonInUse(): BinaryChoice {
  native()
  return cached!.choice
}

/**
 * Errors from the addon carry the errno of a failed system call as `.errno`, negative as on node's
 * own errors (-1 for EPERM); this names it as `.code` the way node does. Other values pass as they are.
 */
export function withErrnoCode<T>(value: T): T {
  if (value instanceof Error) {
    const e = value as NodeJS.ErrnoException
    if (typeof e.errno === 'number' && e.errno < 0 && e.code === undefined) e.code = errnoName(e.errno)
  }
  return value
}

/**
 * node's name for a (negative) errno. Linux gives EOPNOTSUPP and ENOTSUP one number (95), which
 * node names ENOTSUP; the kernel's own name, and what ethtool and tun answer, is EOPNOTSUPP.
 */
export function errnoName(errno: number): string {
  const name = getSystemErrorName(errno)
  return name === 'ENOTSUP' ? 'EOPNOTSUPP' : name
}

/** One call into the addon: an error it throws, rejects with or returns comes out with `.code`. */
function coded<R>(call: () => R): R {
  try {
    const r = call()
    if (r instanceof Promise)
      return r.then(withErrnoCode, (err) => {
        throw withErrnoCode(err)
      }) as R
    return withErrnoCode(r)
  } catch (err) {
    throw withErrnoCode(err)
  }
}

/** A native engine handle whose methods' errors come out with `.code`; holding it holds the handle. */
function codedHandle<H extends object>(handle: H): H {
  return new Proxy(handle, {
    get(target, key) {
      const v: unknown = Reflect.get(target, key)
      return typeof v === 'function' ? (...args: unknown[]) => coded(() => v.apply(target, args)) : v
    },
  })
}

/** A native function by name, typed by the caller; a clear error if this build lacks it. */
export function nativeFn<F>(name: string): F {
  const fn = native()[name]
  if (typeof fn !== 'function')
    throw new MqbError(
      `this build of the native addon has no ${name}(); rebuild it with \`npm run build:native\``,
      ExitCode.failure,
    )
  return ((...args: unknown[]) => coded(() => fn(...args))) as F
}

// ---- ifctl: multiqueue taps and ethtool channels (native/addon_ifctl.cc) ----

export interface TapHandle {
  name: string
  /** fds[i] serves queue i; the tap disappears when the last one closes */
  fds: number[]
  vnetHdrLen: number
}

export interface Channels {
  maxRx: number
  maxTx: number
  maxOther: number
  maxCombined: number
  rx: number
  tx: number
  other: number
  combined: number
}

export const ifctl = {
  tapOpen: (opts: {name: string; queues: number; vnetHdr?: boolean; offloads?: boolean; netns?: string}) =>
    nativeFn<(o: typeof opts) => TapHandle>('tapOpen')(opts),
  /** TUNSETQUEUE attach/detach: the live queue count of a multiqueue tap, as qemu changes it. */
  tapSetQueueAttached: (fd: number, attached: boolean) =>
    nativeFn<(fd: number, a: boolean) => void>('tapSetQueueAttached')(fd, attached),
  closeFd: (fd: number) => nativeFn<(fd: number) => void>('closeFd')(fd),
  /** ETHTOOL_GCHANNELS; throws with .code EOPNOTSUPP where the driver has no channels. */
  getChannels: (dev: string, netns = '') =>
    nativeFn<(d: string, n: string) => Channels>('getChannels')(dev, netns),
  /** ETHTOOL_SCHANNELS; fields left out keep their value. */
  setChannels: (dev: string, ch: {rx?: number; tx?: number; combined?: number}, netns = '') =>
    nativeFn<(d: string, c: typeof ch, n: string) => void>('setChannels')(dev, ch, netns),
}

// ---- fs: advisory file locks (native/addon_fs.cc) ----

export const fileLock = {
  /** flock(LOCK_EX|LOCK_NB): true when taken, false when another open file holds the lock. */
  tryLock: (fd: number) => nativeFn<(fd: number) => boolean>('fileTryLock')(fd),
  unlock: (fd: number) => nativeFn<(fd: number) => void>('fileUnlock')(fd),
}

// ---- relay: the multiqueue tap relay (native/addon_relay.cc) ----

export interface RelayDirectionCounters {
  frames: number
  /** frame bytes, virtio_net_hdr excluded */
  bytes: number
  /** frames the other tap refused (write error) */
  drops: number
}

export interface RelayStatus {
  /** index = queue pair; aToB: read from tap A, written to tap B */
  queues: Array<{queue: number; aToB: RelayDirectionCounters; bToA: RelayDirectionCounters}>
  running: boolean
  failed: boolean
  error?: string
  /** the failure's errno (negative, as on node's errors) and its name; absent when not a system error */
  errno?: number
  code?: string
}

/**
 * Handle of a running relay. Like every native engine handle (gen, rx, sessions), dropping it
 * without stop() stops and joins the workers when the object is garbage-collected.
 */
export interface RelayHandle {
  status(): RelayStatus
  /** Stops and joins the workers (within ~100 ms); idempotent. */
  stop(): void
}

export const relay = {
  /** Starts one worker per queue pair (fdsA[i] <-> fdsB[i]); the fds stay the caller's to close. */
  start: (opts: {fdsA: number[]; fdsB: number[]; cpus?: number[]; vnetHdrLen: number}) =>
    codedHandle(nativeFn<(o: typeof opts) => RelayHandle>('relayStart')(opts)),
  status: (h: RelayHandle): RelayStatus => {
    const s = h.status()
    return s.errno === undefined ? s : {...s, code: errnoName(s.errno)}
  },
  /** Stops and joins the workers (within ~100 ms); idempotent. */
  stop: (h: RelayHandle) => h.stop(),
}

// ---- copy: a bulk copy over one TCP connection, checksummed at both ends (native/addon_copy.cc) ----

export interface CopyStatus {
  /** the connection is up (the sender's connect or the receiver's accept returned) */
  connected: boolean
  bytes: number
  /** 64-bit FNV-1a of every byte so far, 16 hex digits */
  checksum: string
  startNs: number
  endNs: number
  done: boolean
}

export interface CopyHandle {
  status(): CopyStatus
  stop(): void
  /** settles when the receiver has read everything and closed, or rejects with what ended the copy */
  wait(): Promise<CopyStatus>
}

export const copy = {
  /** Sends exactly `bytes` bytes of seeded content to a copy receiver (the agent's copy_recv_start). */
  send: (opts: {
    host: string
    port: number
    bytes: number
    seed: number
    rateBytesPerSec?: number
    timeoutMs?: number
    netns?: string
  }) => codedHandle(nativeFn<(o: typeof opts) => CopyHandle>('copySend')(opts)),
}

// ---- gen: packet generator and receiver (native/addon_gen.cc) ----

export interface NativeGenQueueOptions {
  cpu: number
  /** 0: unlimited */
  ratePps: number
  /** 0: bounded by durationMs only */
  count: number
  srcPort: number
  tapFd?: number
}

export type XdpMode = 'auto' | 'zerocopy' | 'copy'

export interface NativeGenOptions {
  tap: boolean
  /** an AF_XDP socket per queue (thread i binds queue id i) instead of AF_PACKET */
  xdp?: boolean
  xdpMode?: XdpMode
  dev?: string
  netns?: string
  qdiscBypass?: boolean
  /** PACKET_TX_RING instead of sendmmsg (packet backend) */
  txRing?: boolean
  ipv6: boolean
  srcMac: number[]
  dstMac: number[]
  srcIp: number[]
  dstIp: number[]
  dstPort: number
  frameSize: number
  flowsPerQueue: number
  burst: number
  durationMs: number
  queues: NativeGenQueueOptions[]
  /** keep the first N frames each queue sends, for pcap() */
  capturePerQueue?: number
}

export interface NativeGenQueueStats {
  queue: number
  packets: number
  bytes: number
  /** send attempts the device or socket pushed back (retried; not lost) */
  refused: number
  /** CLOCK_MONOTONIC of the thread's first and last send; endNs is 0 while it runs */
  startNs: number
  endNs: number
  /** AF_XDP only: the mode the kernel bound the queue's socket in */
  xdpMode?: 'copy' | 'zerocopy'
}

export interface NativeRxQueueStats {
  packets: number
  bytes: number
  lost: number
  reordered: number
  duplicates: number
}

export interface NativeRxThreadStats {
  foreign: number
  socketDrops: number
  /** indexed by the queue id in the frames' payload header */
  queues: NativeRxQueueStats[]
}

/**
 * A running generator or receiver. A handle dropped without stop() is stopped and its threads
 * joined when it is garbage-collected; a pending wait() keeps it alive.
 */
export interface NativeHandle<S> {
  stats(): S
  stop(): void
  /** settles once, when every thread has ended; call it once */
  wait(): Promise<S>
}

export interface NativeGenHandle extends NativeHandle<NativeGenQueueStats[]> {
  /**
   * the captured frames (capturePerQueue) as a pcap file, for the caller to write (atomically);
   * only after wait() has settled
   */
  pcap(): Buffer
}

export interface NativeRxHandle extends NativeHandle<NativeRxThreadStats[]> {
  /** every receive socket is open: frames sent from now on are counted */
  ready(): boolean
  /** the error a receive thread failed with, or null */
  error(): (Error & {code?: string}) | null
}

export const gen = {
  startGen: (opts: NativeGenOptions) =>
    codedHandle(nativeFn<(o: NativeGenOptions) => NativeGenHandle>('startGen')(opts)),
  /** AF_PACKET receiver on dev (one socket per receive queue in a PACKET_FANOUT_QM group), or readers of tap queue fds. */
  startRx: (opts: {
    dev?: string
    netns?: string
    sockets?: number
    tapFds?: number[]
    queues: number
    flowsPerQueue: number
    cpus?: number[]
  }) => codedHandle(nativeFn<(o: typeof opts) => NativeRxHandle>('startRx')(opts)),
  /** Opens and closes an AF_PACKET socket on dev: throws (EPERM, ENODEV) when a sender could not start. */
  probePacket: (dev: string, netns = '') =>
    nativeFn<(d: string, n: string) => void>('probePacket')(dev, netns),
  /** Binds and closes an AF_XDP socket on queue 0 of dev: the mode queue 0 would run in, or throws (EAFNOSUPPORT, EPERM, ENOBUFS, EOPNOTSUPP, EBUSY, EINVAL, EMSGSIZE). */
  probeXdp: (o: {dev: string; netns?: string; xdpMode: XdpMode; burst: number; frameSize: number}) =>
    nativeFn<(o: object) => 'copy' | 'zerocopy'>('probeXdp')(o),
}

// ---- sessions: rr / stream client and server engines (native/addon_sessions.cc) ----

export type SessionWorkload = 'tcp_rr' | 'udp_rr' | 'tcp_crr' | 'tcp_stream' | 'udp_stream'

export interface SessionEngineOptions {
  side: 'client' | 'server'
  workload: SessionWorkload
  /** client: the server's data address; server: the address to bind */
  host: string
  port: number
  netns?: string
  /** server: the only source address data may come from (the control connection's peer) */
  peer?: string
  sessions: number
  threads: number
  cpus?: number[]
  requestSize?: number
  responseSize?: number
  burst?: number
  messageSize?: number
  /** per session: 1 when this side sends (stream) */
  sends?: number[]
  /** 32-bit token carried by every data connection's hello */
  cookie: number
  /** how often each thread samples its sessions' sockets (native/session_probe.h); 0/absent: never */
  sampleMs?: number
}

export interface SessionPoll {
  nowNs: number
  connected: number
  failed: boolean
  error: string
  /** per session: transactions (rr) or bytes (stream) so far */
  ops: Float64Array
  errors: Float64Array
}

export interface NativeSessionResult {
  thread: number
  cpu: number
  ops: number
  /** ops within the thread's measurement window, and that window's length */
  windowOps: number
  windowNs: number
  errors: number
  datagrams: number
  /** the longest time without progress inside the window */
  maxGapNs: number
  retransmits: number
  connected: boolean
  dead: boolean
  /** rr clients: the session's latency summary and histogram, computed in native/histogram.cc */
  latency?: NativeLatencySummary
  histogram?: NativeHistogram
  /** what sampling the session's socket found (native/session_probe.h); absent when never sampled */
  probe?: NativeSessionProbe
}

/** SO_INCOMING_CPU / SO_INCOMING_NAPI_ID / sched_getcpu / TCP_INFO samples of one session, folded. */
export interface NativeSessionProbe {
  samples: number
  /** CPUs that received the socket's packets (-1: none received yet) */
  rxCpuFirst: number
  rxCpuLast: number
  rxCpuChanges: number
  rxCpusSeen: number[]
  /** the CPUs the session's thread sent from */
  txCpuFirst: number
  txCpuLast: number
  txCpuChanges: number
  txCpusSeen: number[]
  /** samples on CPUs 64 and above, which the CPU lists leave out */
  cpusBeyond: number
  napiFirst: number
  napiLast: number
  napiChanges: number
  tcp?: {
    samples: number
    rttMinUs: number
    rttMeanUs: number
    rttMaxUs: number
    rttLastUs: number
    rttvarMaxUs: number
    rttvarLastUs: number
    cwndMin: number
    cwndMax: number
    cwndLast: number
    totalRetrans: number
    deliveryRateMaxBps: number
    deliveryRateLastBps: number
  }
}

/** A latency summary in microseconds (the fields of the results file's LatencySummaryUs). */
export interface NativeLatencySummary {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** HdrHistogram's V2 encoding of a histogram in nanoseconds, before compression (native/histogram.h). */
export type NativeHistogram = Uint8Array

export interface HostSessionLimits {
  /** RLIMIT_NOFILE: the soft limit (now raised to the hard one) and the hard limit */
  openFiles: number
  openFilesHard: number
  /** the local port range, and how many ports it holds (connections to one destination) */
  portLow: number
  portHigh: number
  ports: number
}

export interface NativeSessionsResult {
  sessions: NativeSessionResult[]
  /** rr clients: every session's histogram merged, summarised and encoded */
  latency?: NativeLatencySummary
  histogram?: NativeHistogram
  /** heap bytes every session's histogram held at the end */
  histogramBytes?: number
}

/**
 * A running session engine (client or server). Dropped without stop(), it is stopped and its
 * threads joined when it is garbage-collected; a pending join() keeps it alive.
 */
export interface SessionEngineHandle {
  /** server: the data port its sockets listen on */
  port(): number
  measure(): void
  stop(): void
  poll(): SessionPoll
  join(): Promise<NativeSessionsResult>
  /** after join(): histograms merged per group (groups[i]: session i's group, -1 none) */
  groupLatency(
    groups: Int32Array,
    count: number,
  ): Array<{latency: NativeLatencySummary; histogram: NativeHistogram}>
}

export const sessions = {
  /** A listening control socket in a namespace; wrap it with net.Server.listen({fd}). */
  listen: (o: {netns?: string; host: string; port: number; backlog?: number}) =>
    nativeFn<(o: object) => {fd: number; port: number}>('sessionsListen')(o),
  /** A connected control socket from inside a namespace; wrap it with new net.Socket({fd}). */
  connect: (o: {netns?: string; host: string; port: number; timeoutMs: number}) =>
    nativeFn<(o: object) => Promise<number>>('sessionsConnect')(o),
  start: (o: SessionEngineOptions) => {
    const engine = codedHandle(nativeFn<(o: object) => SessionEngineHandle>('sessionsStart')(o))
    return {engine, port: engine.port()}
  },
  /** Opens the measurement window (each thread snapshots its sessions when it sees this). */
  measure: (e: SessionEngineHandle) => e.measure(),
  stop: (e: SessionEngineHandle) => e.stop(),
  poll: (e: SessionEngineHandle) => e.poll(),
  /** Resolves when the engine's threads have ended (call stop first); rejects with its error. */
  join: (e: SessionEngineHandle) => e.join(),
  /** After join: every group's sessions' latency merged in native code (per-queue figures). */
  groupLatency: (e: SessionEngineHandle, groups: Int32Array, count: number) => e.groupLatency(groups, count),
  /**
   * RLIMIT_NOFILE after raising its soft value to the hard one, and net.ipv4.ip_local_port_range
   * as seen in `netns`: the host limits on a test's session count.
   */
  hostLimits: (o: {netns?: string}) => nativeFn<(o: object) => HostSessionLimits>('sessionsHostLimits')(o),
  /**
   * Records each list of nanosecond values into a session histogram and reports them as a run's
   * end does (summaries, encodings, merged total): the native histogram without a network run.
   */
  histograms: (valuesNs: Float64Array[]) =>
    nativeFn<
      (v: Float64Array[]) => Omit<NativeSessionsResult, 'sessions'> & {
        sessions: Array<Required<Pick<NativeSessionResult, 'latency' | 'histogram'>>>
      }
    >('sessionsHistograms')(valuesNs),
}

export interface FrameHeaderFields {
  queue: number
  flow: number
  seq: number
  timeNs: bigint
}

/** Frame building as the senders do it, exposed for tests, pcap files and inspection. */
export const frames = {
  /** One stamped frame (without FCS): the frame options of startGen (queues may be []) plus queue, flow, srcPort, seq and timeNs. */
  build: (
    opts: Omit<NativeGenOptions, 'queues' | 'tap' | 'flowsPerQueue' | 'burst' | 'durationMs'> & {
      queues?: []
      queue: number
      flow: number
      srcPort: number
      seq: number
      timeNs: bigint
    },
  ) => nativeFn<(o: unknown) => Buffer>('buildFrame')({queues: [], ...opts}),
  /** The payload header of a received frame, or null when it is not an mqbench frame. */
  parse: (frame: Buffer) => nativeFn<(f: Buffer) => FrameHeaderFields | null>('parseFrame')(frame),
}

// ---- limits: the bounds native/ enforces (native/mqb_limits.h, native/addon_limits.cc) ----

export interface NativeLimits {
  maxQueues: number
  maxFlowsPerQueue: number
  maxGenBurst: number
  maxFrameBytes: number
  maxAgentFrameBytes: number
}

/** The native side's own figures, for test/unit/limits.test.ts to hold against LIMITS. */
export const nativeLimits = (): NativeLimits => nativeFn<() => NativeLimits>('limits')()
