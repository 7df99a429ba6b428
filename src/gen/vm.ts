// gen on a vm testbed, both ways, counted per guest queue.
//  - to the guest: AF_PACKET senders on the host tap (tun's flow hash, not the sender, picks the
//    tap queue and so the guest RX queue: the host cannot choose one, hence many flows), counted
//    inside the guest by the agent's receiver, one socket per guest RX queue (rx_start/rx_stop).
//  - from the guest: the agent's senders, one pinned thread per guest queue (gen_start/gen_stop:
//    under PACKET_QDISC_BYPASS guest CPU i sends on TX queue i), counted per guest TX queue by the
//    driver's tx_queue_N_packets and at the host by a receiver on the tap, per tap queue (qemu
//    writes guest TX queue i into tap queue i, and tun records that queue on each frame).
// The guest side is driven through the agent: frames move in the guest's C++ engines.
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError, badInput, fromNative} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {linkInfo} from '../host/netns.js'
import {gen, type NativeGenQueueStats, type NativeRxHandle, type NativeRxThreadStats} from '../native.js'
import {queueTraffic, type DeviceSnapshot} from '../observe/index.js'
import type {GenGuest, GenResult} from '../results/schema.js'
import {AgentError} from '../vm/agent-client.js'
import type {AgentFacade, AgentGenStats} from '../vm/agent-ops.js'
import {guestSnapshot} from '../vm/guest-observe.js'
import {mtuFor} from './frame.js'
import {deviceFacts} from './kernel.js'
import {buildPlan, bypassTxQueue, placeCpus, type GenPlan} from './plan.js'
import {countReceived, summarise} from './result.js'
import {runGen, stopRx, waitReady, type GenKernel, type GenProgress} from './run.js'
import {LIMITS} from '../limits.js'

export type GenDirection = 'to-guest' | 'from-guest'

/** What gen needs of a vm testbed: the host side's names and addresses and the guest's agent. */
export interface VmGenTarget {
  /** the testbed's name, for advice that names it */
  testbed?: string
  agent: AgentFacade
  /** the host namespace that holds the tap and the bridge */
  netns: string
  tap: string
  bridge: string
  guestDev: string
  guestMac: string
  /** the bridge's address (host side) and the guest's */
  ipA: string
  ipB: string
}

export interface VmGenOptions {
  direction: GenDirection
  /** sender threads (default: the guest's live queue count) */
  queues?: number
  /** to the guest: host CPUs; from the guest: guest CPUs (default: 0, 1, ...) */
  cpus?: number[]
  frameSize: number
  /** default: enough that tun's flow hash reaches every queue (FLOWS_PER_GUEST_QUEUE per queue) */
  flowsPerQueue?: number
  ratePps?: number
  count?: number
  burst?: number
  durationMs: number
  srcPort?: number
  dstPort?: number
}

/**
 * Flows per guest queue when none are given: the host cannot pick a tap queue, tun hashes each
 * flow onto one, and with 16 flows per queue the chance that a queue gets none is below 1e-4.
 */
export const FLOWS_PER_GUEST_QUEUE = 16

// As in runGen: frames in flight when the senders end reach the receiver within this.
const DRAIN_MS = 500
// How often the guest's senders are asked whether they are done (an agent round trip is a few ms).
const GEN_POLL_MS = 200

/** Flows per sender so that the run has at least FLOWS_PER_GUEST_QUEUE per live guest queue. */
export function defaultVmFlows(senders: number, guestQueues: number): number {
  return Math.min(LIMITS.maxFlowsPerQueue, Math.ceil((FLOWS_PER_GUEST_QUEUE * guestQueues) / senders))
}

/** Per guest queue: the driver's packet deltas and this run's count in its direction. */
export function guestQueues(
  direction: GenDirection,
  before: DeviceSnapshot,
  after: DeviceSnapshot,
  live: number,
  durationMs: number,
  received?: number[][],
): GenGuest['queues'] {
  const traffic = queueTraffic(before, after, [])
  return Array.from({length: live}, (_, q) => {
    const t = traffic.find((x) => x.queue === q)
    const rxPackets = t?.rxPackets ?? 0
    const txPackets = t?.txPackets ?? 0
    const counted = received ? (received[q]?.reduce((a, b) => a + b, 0) ?? 0) : undefined
    const packets = direction === 'to-guest' ? (counted ?? rxPackets) : txPackets
    return {
      queue: q,
      ...(counted !== undefined ? {received: counted} : {}),
      rxPackets,
      txPackets,
      pps: durationMs > 0 ? (packets * 1000) / durationMs : 0,
    }
  })
}

/**
 * Starts an agent engine (`gen_start`, `rx_start`). The agent runs one of each: one left by a
 * run that was killed (SIGKILL: its receiver would run until stopped) is stopped and replaced.
 */
async function startEngine(start: () => Promise<unknown>, stop: () => Promise<unknown>, stopOp: string) {
  try {
    await start()
  } catch (err) {
    if (!(err instanceof AgentError && err.answered && err.message.includes(`${stopOp} it first`))) throw err
    await stop()
    await start()
  }
}

async function liveQueues(t: VmGenTarget): Promise<{combined: number; maxCombined: number}> {
  return t.agent.channelsGet(t.guestDev)
}

/**
 * More senders than the guest has queue pairs enabled cannot each have a queue, either way: to
 * the guest, tun has only the enabled queues attached; from it, senders would share queues and the
 * placement check fails. The count is the guest's (`ethtool -L` on the host tap cannot change it:
 * qemu attaches the queues the guest's driver enables), so the advice points into the guest.
 */
export function vmQueuesRefusal(
  requested: number,
  ch: {combined: number; maxCombined: number},
  guestDev: string,
  testbed: string,
): MqbError | undefined {
  if (requested <= ch.combined) return undefined
  const inGuest =
    requested <= ch.maxCombined
      ? `enable more in the guest (\`ethtool -L ${guestDev} combined ${requested}\` on \`mqbench testbed console ${testbed}\`)`
      : `the guest was booted with ${ch.maxCombined}: hold a testbed with more (\`mqbench testbed up NAME --kind vm --max-queues ${requested}\`)`
  return new MqbError(
    `--queues ${requested} is above the ${ch.combined} queue pair${ch.combined === 1 ? '' : 's'} the guest's ${guestDev} has enabled; ${inGuest}, or give --queues ${ch.combined} or fewer`,
    ExitCode.unsupported,
  )
}

const bytesOf = (plan: GenPlan) => ({
  ipv6: plan.frame.ipVersion === 6,
  srcMac: plan.frame.srcMac,
  dstMac: plan.frame.dstMac,
  srcIp: plan.frame.srcIp,
  dstIp: plan.frame.dstIp,
  dstPort: plan.frame.dstPort,
  frameSize: plan.frame.frameSize,
  flowsPerQueue: plan.flowsPerQueue,
  burst: plan.burst,
})

export async function runVmGen(
  t: VmGenTarget,
  opts: VmGenOptions,
  hooks: {signal?: AbortSignal; onProgress?: (p: GenProgress) => void; cleanup?: CleanupRegistry} = {},
): Promise<GenResult & {kernel?: GenKernel}> {
  const channels = await liveQueues(t)
  const live = channels.combined
  const senders = opts.queues ?? live
  const refusal = vmQueuesRefusal(senders, channels, t.guestDev, t.testbed ?? 'NAME')
  if (refusal) throw refusal
  const flowsPerQueue = opts.flowsPerQueue ?? defaultVmFlows(senders, live)
  const before = await guestSnapshot(t.agent, t.guestDev)
  const run =
    opts.direction === 'to-guest'
      ? await toGuest(t, {...opts, flowsPerQueue}, senders, live, hooks)
      : await fromGuest(t, {...opts, flowsPerQueue}, senders, live, hooks)
  const after = await guestSnapshot(t.agent, t.guestDev)
  const guest: GenGuest = {
    direction: opts.direction,
    dev: t.guestDev,
    queues: guestQueues(opts.direction, before, after, live, run.result.durationMs, run.received),
  }
  return {...run.result, guest}
}

interface DirectionRun {
  result: GenResult & {kernel?: GenKernel}
  /** to the guest: the receiver's matrix by guest RX queue */
  received?: number[][]
}

async function toGuest(
  t: VmGenTarget,
  opts: VmGenOptions & {flowsPerQueue: number},
  senders: number,
  live: number,
  hooks: {signal?: AbortSignal; onProgress?: (p: GenProgress) => void; cleanup?: CleanupRegistry},
): Promise<DirectionRun> {
  const rxArgs = {dev: t.guestDev, sockets: live, queues: senders, flowsPerQueue: opts.flowsPerQueue}
  await startEngine(
    () => t.agent.rxStart(rxArgs),
    () => t.agent.rxStop(),
    'rx_stop',
  )
  let threads: NativeRxThreadStats[]
  let result: GenResult & {kernel?: GenKernel}
  try {
    result = await runGen(
      {
        backend: 'packet',
        dev: t.tap,
        netns: t.netns,
        queues: senders,
        cpus: opts.cpus,
        frameSize: opts.frameSize,
        flowsPerQueue: opts.flowsPerQueue,
        srcMac: linkInfo(t.bridge, t.netns).mac,
        dstMac: t.guestMac,
        srcIp: t.ipA,
        dstIp: t.ipB,
        srcPort: opts.srcPort,
        dstPort: opts.dstPort,
        ratePps: opts.ratePps,
        count: opts.count,
        burst: opts.burst,
        durationMs: opts.durationMs,
        // The tap's counters move as qemu reads the frames: read them once it has.
        settleMs: DRAIN_MS,
      },
      hooks,
    )
    await sleep(DRAIN_MS)
  } finally {
    threads = (await t.agent.rxStop()).threads
  }
  // virtio-net records RX queue q as queue_mapping q + 1, as tun and NICs do.
  const counted = countReceived(
    result.queues,
    {dev: `${t.guestDev} (guest)`, threads, queueMappingOffset: 1},
    [],
  )
  result.rx = counted.rx
  result.placement = {...result.placement!, matrix: counted.matrix}
  return {result, received: counted.matrix}
}

/** The plan of `senders` pinned senders in the guest toward the host bridge; the guest's MTU must carry the frame. */
async function guestSendersPlan(
  t: VmGenTarget,
  opts: VmGenOptions & {flowsPerQueue: number},
  senders: number,
): Promise<GenPlan> {
  const hello = await t.agent.hello()
  const guestCpus = Array.from({length: Math.max(1, hello.cpus)}, (_, i) => i)
  const plan = buildPlan(
    {
      queues: senders,
      cpus: placeCpus(senders, guestCpus, opts.cpus),
      frameSize: opts.frameSize,
      flowsPerQueue: opts.flowsPerQueue,
      srcMac: t.guestMac,
      dstMac: linkInfo(t.bridge, t.netns).mac,
      srcIp: t.ipB,
      dstIp: t.ipA,
      srcPort: opts.srcPort,
      dstPort: opts.dstPort,
      ratePps: opts.ratePps,
      count: opts.count,
      burst: opts.burst,
    },
    {onlineCpus: guestCpus},
  )
  const mtu = Number((await t.agent.readFile(`/sys/class/net/${t.guestDev}/mtu`)).data)
  if (opts.frameSize > mtu + 14)
    throw badInput(
      `frame size ${opts.frameSize} needs an MTU of at least ${mtuFor(opts.frameSize)} on the guest's ${t.guestDev}, which has ${mtu}`,
    )
  return plan
}

/**
 * Runs the guest's senders through the agent to their end (or Ctrl-C), polling their counters
 * for progress; returns their final figures.
 */
async function runGuestSenders(
  t: VmGenTarget,
  plan: GenPlan,
  durationMs: number,
  hooks: {signal?: AbortSignal; onProgress?: (p: GenProgress) => void},
): Promise<{done: AgentGenStats; interrupted: boolean}> {
  let interrupted = false
  const genArgs = {
    dev: t.guestDev,
    ...bytesOf(plan),
    durationMs,
    qdiscBypass: true,
    queues: plan.queues.map((q) => ({cpu: q.cpu, ratePps: q.ratePps, count: q.count, srcPort: q.srcPort})),
  }
  await startEngine(
    () => t.agent.genStart(genArgs),
    () => t.agent.genStop(),
    'gen_stop',
  )
  // Polled, not gen_stop {wait: true}: that takes the generator out of the agent's hands, and
  // a Ctrl-C's gen_stop could then no longer end it before its duration.
  const abort = () => (interrupted = true)
  if (hooks.signal?.aborted) abort()
  hooks.signal?.addEventListener('abort', abort, {once: true})
  const t0 = Date.now()
  let lastProgress = t0
  let done: AgentGenStats
  try {
    for (;;) {
      const s = await t.agent.genStats()
      if (s.failed || interrupted || s.queues.every((q) => q.endNs > 0)) break
      if (hooks.onProgress && Date.now() - lastProgress >= 1000) {
        lastProgress = Date.now()
        hooks.onProgress({
          elapsedMs: lastProgress - t0,
          queues: s.queues.map(({queue, packets, bytes}) => ({queue, packets, bytes})),
        })
      }
      await sleep(GEN_POLL_MS)
    }
  } finally {
    hooks.signal?.removeEventListener('abort', abort)
    // Ends a run still going (Ctrl-C, an error) and collects the final figures.
    done = await t.agent.genStop()
  }
  return {done, interrupted}
}

async function fromGuest(
  t: VmGenTarget,
  opts: VmGenOptions & {flowsPerQueue: number},
  senders: number,
  live: number,
  hooks: {signal?: AbortSignal; onProgress?: (p: GenProgress) => void},
): Promise<DirectionRun> {
  const plan = await guestSendersPlan(t, opts, senders)
  const tapFacts = deviceFacts(t.tap, t.netns)
  let rx: NativeRxHandle
  try {
    rx = gen.startRx({
      dev: t.tap,
      netns: t.netns,
      sockets: Math.max(1, Math.min(tapFacts.rxQueues, LIMITS.maxQueues)),
      queues: senders,
      flowsPerQueue: plan.flowsPerQueue,
    })
  } catch (err) {
    throw fromNative(err, {capability: 'CAP_NET_RAW', dev: t.tap})
  }
  let tx: NativeGenQueueStats[] = []
  let interrupted = false
  try {
    await waitReady(rx, t.tap)
    const sent = await runGuestSenders(t, plan, opts.durationMs, hooks)
    interrupted = sent.interrupted
    const done = sent.done
    tx = done.queues
    if (done.failed) throw new MqbError(`the guest's senders failed: ${done.error}`, ExitCode.failure)
    await sleep(DRAIN_MS)
  } catch (err) {
    await stopRx(rx)
    throw err
  }
  rx.stop()
  let threads: NativeRxThreadStats[]
  try {
    threads = await rx.wait()
  } catch (err) {
    throw fromNative(err, {capability: 'CAP_NET_RAW', dev: t.tap})
  }
  const result = summarise({
    backend: 'packet',
    dev: `${t.guestDev} (guest)`,
    plan,
    tx,
    // tun records the tap queue qemu wrote the frame into (guest TX queue i -> tap queue i).
    rx: {dev: t.tap, threads, queueMappingOffset: 1},
    expectedTxQueue: plan.queues.map((q) => bypassTxQueue(q.cpu, live)),
    ratePps: opts.ratePps,
    qdiscBypass: true,
    interrupted,
  })
  return {result}
}
