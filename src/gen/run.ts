// runGen: checks the device, starts the receiver (if any) and then one native sender thread per
// queue, reports progress once a second, stops on the abort signal, and returns the per-queue
// result with the kernel's own counters before and after. TypeScript never touches a frame.
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError, badInput, errnoCode, fromNative} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {onlineCpus} from '../host/cpus.js'
import {probeWritableFile, writeFileAtomic} from '../host/files.js'
import {gen, ifctl, type NativeRxHandle, type XdpMode} from '../native.js'
import type {GenResult} from '../results/schema.js'
import {linkExists} from '../host/netns.js'
import {runOk} from '../util/exec.js'
import {
  type BackendChoice,
  type GenBackendFlag,
  checkBackendOptions,
  chooseBackend,
  tapBackendRefusal,
  xdpError,
} from './backend.js'
import {mtuFor} from './frame.js'
import {
  type CounterSnapshot,
  type DeviceFacts,
  type KernelCounters,
  deviceFacts,
  kernelDelta,
  snapshotCounters,
} from './kernel.js'
import {buildPlan, bypassTxQueue, DEFAULT_BURST, type GenPlan, type PlanInput} from './plan.js'
import {summarise} from './result.js'
import {LIMITS} from '../limits.js'

/** The plan's inputs (queues, CPUs, frame, flows, addresses, rate, count, burst) plus where and how long to send. */
export interface GenOptions extends PlanInput {
  /** auto: xdp where the kernel and device take AF_XDP sockets, packet otherwise (docs/gen.md) */
  backend: GenBackendFlag
  /** xdp backend: auto tries zero-copy and falls back to copy */
  xdpMode?: XdpMode
  dev: string
  netns?: string
  tapFds?: number[]
  durationMs: number
  qdiscBypass?: boolean
  /** packet backend: batch through a PACKET_TX_RING instead of sendmmsg */
  txRing?: boolean
  /** receiver on the far end: AF_PACKET on dev, or (tapFds) readers of the tap queue fds mqbench sends out of (made non-blocking) */
  rx?: {dev: string; netns?: string; tapFds?: number[]}
  /** pcap file for the first frames of each queue */
  pcap?: string
  /** frames per queue written to pcap (default 16) */
  pcapFramesPerQueue?: number
  /**
   * No receiver here, but a reader that drains the device after the senders end (qemu reading a
   * tap: tun counts a frame as sent when qemu reads it): wait, up to this long, until the device's
   * counters stop moving before they are read.
   */
  settleMs?: number
}

/**
 * Reads `read` until two reads `stableMs` apart agree, or `maxMs` has passed; returns the last.
 * The sleep is passed in so that tests run it without waiting.
 */
export async function settled<T>(
  read: () => T,
  same: (a: T, b: T) => boolean,
  o: {stableMs: number; maxMs: number; sleep?: (ms: number) => Promise<unknown>},
): Promise<T> {
  const wait = o.sleep ?? sleep
  let last = read()
  for (let waited = 0; waited < o.maxMs; waited += o.stableMs) {
    await wait(o.stableMs)
    const now = read()
    if (same(last, now)) return now
    last = now
  }
  return last
}

export interface GenProgress {
  elapsedMs: number
  queues: Array<{queue: number; packets: number; bytes: number}>
}

export interface GenKernel {
  tx: KernelCounters
  rx?: KernelCounters
}

const RX_READY_TIMEOUT_MS = 3000
// Frames still in flight when the last sender ends (backlogs, NAPI) reach the receiver within
// a few milliseconds; this is ample on a loaded 2-vCPU VM.
const RX_DRAIN_MS = 300
// A locally administered address for frames injected into a tap "from the wire".
const TAP_PEER_MAC = '02:6d:71:62:00:01'

const PCAP_FRAMES_PER_QUEUE = 16

function checkDevice(opts: GenOptions): DeviceFacts {
  const facts = deviceFacts(opts.dev, opts.netns ?? '')
  if (!facts.up)
    throw new MqbError(
      `interface ${opts.dev} is down; bring it up with \`ip ${opts.netns ? `-n ${opts.netns} ` : ''}link set ${opts.dev} up\``,
      ExitCode.noDevice,
    )
  if (opts.frameSize > facts.mtu + 14)
    throw badInput(
      `frame size ${opts.frameSize} needs an MTU of at least ${mtuFor(opts.frameSize)} on ${opts.dev}, which has ${facts.mtu}; raise it with \`ip link set ${opts.dev} mtu ${mtuFor(opts.frameSize)}\``,
    )
  if (opts.backend !== 'tap' && opts.queues > facts.txQueues) {
    const how =
      facts.kind === 'veth'
        ? `raise it with \`ethtool -L ${opts.dev} tx ${opts.queues}\` (a veth allows up to the numtxqueues it was created with)`
        : `raise it with \`ethtool -L ${opts.dev} combined ${opts.queues}\` (or tx) where the driver allows; \`ethtool -l ${opts.dev}\` shows the maximum`
    throw new MqbError(
      `--queues ${opts.queues} is above the ${facts.txQueues} TX queue${facts.txQueues === 1 ? '' : 's'} of ${opts.dev}; ${how}`,
      ExitCode.unsupported,
    )
  }
  return facts
}

/** Opens the tap's queue fds unless the caller passed them; the returned undo closes what was opened. */
function tapFds(opts: GenOptions, cleanup?: CleanupRegistry): {fds: number[]; close: () => void} {
  if (opts.tapFds) {
    if (opts.tapFds.length < opts.queues)
      throw badInput(
        `--queues ${opts.queues} needs ${opts.queues} tap queue fds, ${opts.tapFds.length} given`,
      )
    return {fds: opts.tapFds.slice(0, opts.queues), close: () => {}}
  }
  const existed = linkExists(opts.dev, opts.netns ?? '')
  if (existed) {
    const refusal = tapBackendRefusal(opts.dev, deviceFacts(opts.dev, opts.netns ?? '').kind)
    if (refusal) throw refusal
  }
  let h
  try {
    h = ifctl.tapOpen({name: opts.dev, queues: opts.queues, netns: opts.netns})
  } catch (err) {
    if (errnoCode(err) === 'EINVAL')
      throw new MqbError(`${(err as Error).message.replace(/: Invalid argument$/, '')}`, ExitCode.unsupported)
    throw fromNative(err, {capability: 'CAP_NET_ADMIN', dev: opts.dev})
  }
  const fds = h.fds
  // Closing the last fd of a tap mqbench created removes it; an existing tap only loses these queues.
  const closeFds = () => fds.forEach((fd) => ifctl.closeFd(fd))
  const close = cleanup ? cleanup.add(`tap ${opts.dev} queue fds`, closeFds) : closeFds
  // tun refuses writes while the tap is down; a tap mqbench created is brought up here.
  if (!existed) runOk('ip', [...(opts.netns ? ['-n', opts.netns] : []), 'link', 'set', opts.dev, 'up'])
  return {fds, close}
}

function senderError(err: unknown, where: string | {backend: string; dev: string; xdpMode?: XdpMode}): Error {
  if (typeof where !== 'string' && where.backend === 'xdp')
    return xdpError(err, {dev: where.dev, xdpMode: where.xdpMode ?? 'auto'})
  const dev = typeof where === 'string' ? where : where.dev
  const code = errnoCode(err)
  if (code === 'EMSGSIZE')
    return badInput(`${(err as Error).message}: the frame is larger than ${dev}'s MTU allows`)
  return fromNative(err, {capability: 'CAP_NET_RAW', dev})
}

export async function runGen(
  opts: GenOptions,
  hooks: {
    signal?: AbortSignal
    onProgress?: (p: GenProgress) => void
    /**
     * where the tap queue fds this run opens are registered, so a signal handler closes them at
     * once; without it they close at the end of the run (and, like every fd, when the process ends)
     */
    cleanup?: CleanupRegistry
  } = {},
): Promise<GenResult & {kernel?: GenKernel}> {
  if (!(opts.durationMs > 0))
    throw badInput('a generator run needs a duration above 0 (it always stops by itself)')
  const netns = opts.netns ?? ''
  // Fail on an unwritable pcap path now, not after the run; an earlier file stays until replaced.
  if (opts.pcap) probeWritableFile(opts.pcap)
  checkBackendOptions(opts)
  let facts: DeviceFacts | undefined
  let tap: {fds: number[]; close: () => void} | undefined
  let choice: BackendChoice | undefined
  if (opts.backend !== 'tap') {
    facts = checkDevice(opts)
    const plan = {burst: opts.burst ?? DEFAULT_BURST, frameSize: opts.frameSize}
    choice = chooseBackend(opts, () =>
      gen.probeXdp({dev: opts.dev, netns, xdpMode: opts.xdpMode ?? 'auto', ...plan}),
    )
    if (choice.backend === 'packet') {
      try {
        gen.probePacket(opts.dev, netns)
      } catch (err) {
        throw senderError(err, opts.dev)
      }
    }
  } else {
    tap = tapFds(opts, hooks.cleanup)
  }
  const backend = opts.backend === 'tap' ? 'tap' : choice!.backend
  const qdiscBypass = backend === 'packet' ? (opts.qdiscBypass ?? true) : undefined
  try {
    if (!facts) facts = checkDevice(opts)
    const rxFacts = opts.rx ? deviceFacts(opts.rx.dev, opts.rx.netns ?? '') : undefined
    if (rxFacts && !rxFacts.up)
      throw new MqbError(
        `receive interface ${rxFacts.name} is down; bring it up with \`ip ${rxFacts.netns ? `-n ${rxFacts.netns} ` : ''}link set ${rxFacts.name} up\``,
        ExitCode.noDevice,
      )
    const plan = buildPlan(
      {
        ...opts,
        srcMac: opts.srcMac ?? (opts.backend === 'tap' ? TAP_PEER_MAC : undefined),
        dstMac: opts.dstMac ?? rxFacts?.mac ?? (opts.backend === 'tap' ? facts.mac : undefined),
      },
      {onlineCpus: onlineCpus(), devMac: facts.mac},
    )
    // tun has its own ndo_select_queue (flow hash), which packet_pick_tx_queue defers to: there
    // the kernel, not the sending CPU, picks the queue (-1). An AF_XDP socket sends on the queue
    // id it is bound to (__dev_direct_xmit), whatever the CPU.
    const expectedTxQueue = plan.queues.map((q) =>
      backend !== 'packet'
        ? q.queue
        : facts!.kind === 'tun'
          ? -1
          : qdiscBypass
            ? bypassTxQueue(q.cpu, facts!.txQueues)
            : q.queue,
    )
    return await execute(
      {...opts, backend},
      plan,
      {netns, qdiscBypass, tapFds: tap?.fds, expectedTxQueue, rxFacts, choice: choice?.reason},
      hooks,
    )
  } finally {
    tap?.close()
  }
}

/** The receiver of `opts.rx` (on its tap's fds, or sockets on its device), started and ready. */
async function startReceiver(
  opts: GenOptions,
  rxFacts: DeviceFacts | undefined,
): Promise<NativeRxHandle | undefined> {
  if (!opts.rx || !rxFacts) return undefined
  let rx: NativeRxHandle
  try {
    rx = opts.rx.tapFds
      ? gen.startRx({tapFds: opts.rx.tapFds, queues: opts.queues, flowsPerQueue: opts.flowsPerQueue})
      : gen.startRx({
          dev: opts.rx.dev,
          netns: opts.rx.netns ?? '',
          sockets: Math.max(1, Math.min(rxFacts.rxQueues, LIMITS.maxQueues)),
          queues: opts.queues,
          flowsPerQueue: opts.flowsPerQueue,
        })
  } catch (err) {
    throw fromNative(err, {capability: 'CAP_NET_RAW', dev: opts.rx.dev})
  }
  await waitReady(rx, opts.rx.dev)
  return rx
}

/** What the native sender is started with: the backend, the frame, and each queue's CPU, rate and count. */
function senderSpec(
  opts: GenOptions & {backend: 'packet' | 'tap' | 'xdp'},
  plan: GenPlan,
  ctx: {netns: string; qdiscBypass?: boolean; tapFds?: number[]},
): Parameters<typeof gen.startGen>[0] {
  const f = plan.frame
  return {
    tap: opts.backend === 'tap',
    xdp: opts.backend === 'xdp',
    xdpMode: opts.xdpMode ?? 'auto',
    dev: opts.dev,
    netns: ctx.netns,
    qdiscBypass: ctx.qdiscBypass,
    txRing: opts.txRing ?? false,
    ipv6: f.ipVersion === 6,
    srcMac: f.srcMac,
    dstMac: f.dstMac,
    srcIp: f.srcIp,
    dstIp: f.dstIp,
    dstPort: f.dstPort,
    frameSize: f.frameSize,
    flowsPerQueue: plan.flowsPerQueue,
    burst: plan.burst,
    durationMs: opts.durationMs,
    queues: plan.queues.map((q, i) => ({
      cpu: q.cpu,
      ratePps: q.ratePps,
      count: q.count,
      srcPort: q.srcPort,
      tapFd: ctx.tapFds?.[i],
    })),
    capturePerQueue: opts.pcap ? (opts.pcapFramesPerQueue ?? PCAP_FRAMES_PER_QUEUE) : 0,
  }
}

/** Lets the last frames arrive, then stops the receiver and returns its threads' counts. */
async function drainReceiver(rx: NativeRxHandle, dev: string) {
  await sleep(RX_DRAIN_MS)
  rx.stop()
  try {
    return await rx.wait()
  } catch (err) {
    throw fromNative(err, {capability: 'CAP_NET_RAW', dev})
  }
}

async function execute(
  opts: GenOptions & {backend: 'packet' | 'tap' | 'xdp'},
  plan: GenPlan,
  ctx: {
    netns: string
    qdiscBypass?: boolean
    tapFds?: number[]
    expectedTxQueue: number[]
    rxFacts?: DeviceFacts
    choice?: string
  },
  hooks: {signal?: AbortSignal; onProgress?: (p: GenProgress) => void},
): Promise<GenResult & {kernel?: GenKernel}> {
  const before: {tx: CounterSnapshot; rx?: CounterSnapshot} = {tx: snapshotCounters(opts.dev, ctx.netns)}
  const rxKind = ctx.rxFacts?.kind
  if (opts.rx && ctx.rxFacts) before.rx = snapshotCounters(opts.rx.dev, opts.rx.netns ?? '')
  const rx = await startReceiver(opts, ctx.rxFacts)
  let handle
  try {
    handle = gen.startGen(senderSpec(opts, plan, ctx))
  } catch (err) {
    await stopRx(rx)
    throw senderError(err, opts)
  }
  let interrupted = false
  const onAbort = () => {
    interrupted = true
    handle.stop()
  }
  if (hooks.signal?.aborted) onAbort()
  hooks.signal?.addEventListener('abort', onAbort, {once: true})
  const t0 = Date.now()
  const timer = hooks.onProgress
    ? setInterval(
        () =>
          hooks.onProgress!({
            elapsedMs: Date.now() - t0,
            queues: handle.stats().map(({queue, packets, bytes}) => ({queue, packets, bytes})),
          }),
        1000,
      )
    : undefined
  let tx
  try {
    tx = await handle.wait()
  } catch (err) {
    await stopRx(rx)
    throw senderError(err, opts)
  } finally {
    if (timer) clearInterval(timer)
    hooks.signal?.removeEventListener('abort', onAbort)
  }
  if (opts.pcap) {
    try {
      writeFileAtomic(opts.pcap, handle.pcap())
    } catch (err) {
      await stopRx(rx)
      throw err
    }
  }
  const rxThreads = rx ? await drainReceiver(rx, opts.rx!.dev) : undefined
  const txAfter =
    !rx && opts.settleMs
      ? await settled(
          () => snapshotCounters(opts.dev, ctx.netns),
          (a, b) => a.statistics.tx_packets === b.statistics.tx_packets,
          {stableMs: 50, maxMs: opts.settleMs},
        )
      : snapshotCounters(opts.dev, ctx.netns)
  const kernel: GenKernel = {tx: kernelDelta(opts.dev, ctx.netns, before.tx, txAfter)}
  if (opts.rx && before.rx)
    kernel.rx = kernelDelta(
      opts.rx.dev,
      opts.rx.netns ?? '',
      before.rx,
      snapshotCounters(opts.rx.dev, opts.rx.netns ?? ''),
    )
  const result = summarise({
    backend: opts.backend,
    dev: opts.dev,
    plan,
    tx,
    rx:
      rxThreads && opts.rx
        ? {
            dev: opts.rx.dev,
            threads: rxThreads,
            queueMappingOffset: rxKind === 'veth' || opts.rx.tapFds ? 0 : 1,
          }
        : undefined,
    expectedTxQueue: ctx.expectedTxQueue,
    ratePps: opts.ratePps,
    qdiscBypass: ctx.qdiscBypass,
    interrupted,
    backendChoice: ctx.choice,
  })
  return {...result, kernel}
}

export async function waitReady(rx: NativeRxHandle, dev: string): Promise<void> {
  const deadline = Date.now() + RX_READY_TIMEOUT_MS
  while (!rx.ready()) {
    if (Date.now() > deadline) {
      await stopRx(rx)
      throw new MqbError(
        `the receiver on ${dev} did not start within ${RX_READY_TIMEOUT_MS} ms`,
        ExitCode.failure,
      )
    }
    await sleep(5)
  }
  const err = rx.error()
  if (err) {
    await stopRx(rx)
    throw fromNative(err, {capability: 'CAP_NET_RAW', dev})
  }
}

export async function stopRx(rx: NativeRxHandle | undefined): Promise<void> {
  if (!rx) return
  rx.stop()
  await rx.wait().catch(() => undefined)
}
