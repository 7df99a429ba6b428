// The sweep: for each queue count, set it and read it back, warm up, then run the workload
// --iterations times with fresh connections, taking kernel snapshots (per-queue counters,
// interrupts, softnet, per-CPU time) around each window. A finished step goes to the journal
// at once, so a crash loses at most the step in progress. Derived figures are left to
// src/results/stats.ts, which recomputes them from what is recorded here. This is the default
// `--order steps`; src/scale/alternate.ts runs `--order alternate` with the same measurement.
import {cpuDelta, readProcStat, type RawCpuTimes} from '../observe/cpu.js'
import {observeDelta, readConfigInForce, takeSnapshot, type DeviceSnapshot} from '../observe/index.js'
import type {ResultsJournal} from '../results/journal.js'
import type {
  ConfigInForce,
  DeviceDrops,
  InterruptDelta,
  Iteration,
  QueueTraffic,
  SoftnetDelta,
  Step,
  WorkloadResult,
} from '../results/schema.js'
import {diffQueueTraffic} from '../testbed/relay.js'
import type {QueueReadback, Testbed} from '../testbed/types.js'
import type {PlannedStep, ScalePlan} from './plan.js'
import type {PreparedWorkload} from './workloads.js'

/** The kernel readers a sweep uses; tests replace them. */
export interface Probes {
  snapshot(dev: string, netns: string): DeviceSnapshot
  delta(
    before: DeviceSnapshot,
    after: DeviceSnapshot,
  ): {interrupts: InterruptDelta[]; softnet: SoftnetDelta[]; queues: QueueTraffic[]}
  cpuTimes(): RawCpuTimes[]
  config(dev: string, netns: string): ConfigInForce
}

export const kernelProbes: Probes = {
  snapshot: (dev, netns) => takeSnapshot(dev, {netns}),
  delta: observeDelta,
  cpuTimes: () => readProcStat(),
  config: (dev, netns) => readConfigInForce(dev, {netns}),
}

export interface SweepEvents {
  stepStarted?(step: PlannedStep, readback: QueueReadback): void
  iterationDone?(step: PlannedStep, iteration: Iteration): void
  stepDone?(step: PlannedStep, recorded: Step): void
}

export interface SweepDeps {
  testbed: Testbed
  workload: PreparedWorkload
  journal: ResultsJournal
  signal: AbortSignal
  probes?: Probes
  events?: SweepEvents
}

/** Thrown when the sweep stops for Ctrl-C/SIGTERM: the step in progress is abandoned. */
export class SweepInterrupted extends Error {
  constructor() {
    super('interrupted')
    this.name = 'SweepInterrupted'
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new SweepInterrupted()
}

/**
 * Per-queue traffic seen from side A (tx = A->B, rx = B->A) when both ends are local devices.
 * A NIC counts its own tx per queue; veth counts only received frames per queue, so what A
 * sent on queue q is what B received on queue q (veth maps A's tx queue to B's rx queue).
 */
export function mergeEnds(a: QueueTraffic[], b: QueueTraffic[]): QueueTraffic[] {
  const aSends = a.some((q) => q.txPackets > 0)
  const queues = [...new Set([...a, ...b].map((q) => q.queue))].sort((x, y) => x - y)
  return queues.map((queue) => {
    const qa = a.find((q) => q.queue === queue)
    const qb = b.find((q) => q.queue === queue)
    return {
      queue,
      source: qa?.source ?? qb!.source,
      txPackets: aSends ? (qa?.txPackets ?? 0) : (qb?.rxPackets ?? 0),
      txBytes: aSends ? (qa?.txBytes ?? 0) : (qb?.rxBytes ?? 0),
      rxPackets: qa?.rxPackets ?? 0,
      rxBytes: qa?.rxBytes ?? 0,
      drops: (qa?.drops ?? 0) + (qb?.drops ?? 0),
    }
  })
}

/** The far end's counters turned to side A's view: what B received is what A sent. */
export const fromFarEnd = (q: QueueTraffic): QueueTraffic => ({
  ...q,
  txPackets: q.rxPackets,
  txBytes: q.rxBytes,
  rxPackets: q.txPackets,
  rxBytes: q.txBytes,
})

const dropped = (before: DeviceSnapshot, after: DeviceSnapshot, key: string) =>
  Math.max(0, (after.statistics?.[key] ?? 0) - (before.statistics?.[key] ?? 0))

/** One measured window at the queue count in force, with kernel snapshots around it. */
export async function measure(
  index: number,
  step: Pick<PlannedStep, 'queueCount'>,
  plan: ScalePlan,
  deps: Pick<SweepDeps, 'testbed' | 'workload' | 'signal'>,
  probes: Probes,
): Promise<Iteration> {
  const tb = deps.testbed
  // Both ends are local except on a dev testbed, whose far end is another host, and a vm
  // testbed, whose far end is the guest, seen through its agent.
  const ends: Array<[string, string]> =
    tb.kind === 'dev' || tb.guestSnapshot
      ? [[tb.devA, tb.nsA]]
      : [
          [tb.devA, tb.nsA],
          [tb.devB, tb.nsB],
        ]
  const relayBefore = (await tb.relayQueueTraffic?.()) ?? []
  const snapsBefore = ends.map(([dev, ns]) => probes.snapshot(dev, ns))
  const guestBefore = await tb.guestSnapshot?.()
  const cpuBefore = probes.cpuTimes()
  const startedAt = new Date().toISOString()
  const t0 = performance.now()
  const result: WorkloadResult = await deps.workload.run({
    queueCount: step.queueCount,
    durationMs: plan.config.durationMs,
    signal: deps.signal,
  })
  const durationMs = Math.round(performance.now() - t0)
  throwIfAborted(deps.signal)
  const cpu = cpuDelta(cpuBefore, probes.cpuTimes())
  const snapsAfter = ends.map(([dev, ns]) => probes.snapshot(dev, ns))
  const guestAfter = await tb.guestSnapshot?.()
  const deltas = ends.map((_, i) => probes.delta(snapsBefore[i], snapsAfter[i]))
  const guest = guestBefore && guestAfter ? probes.delta(guestBefore, guestAfter) : undefined
  let queues: QueueTraffic[]
  if (guest) queues = guest.queues.map(fromFarEnd)
  else if (tb.relayQueueTraffic) queues = diffQueueTraffic(relayBefore, await tb.relayQueueTraffic())
  else if (deltas.length === 2) queues = mergeEnds(deltas[0].queues, deltas[1].queues)
  else queues = deltas[0].queues
  const deviceDrops: DeviceDrops[] = ends.map(([dev, netns], i) => ({
    dev,
    netns,
    txDropped: dropped(snapsBefore[i], snapsAfter[i], 'tx_dropped'),
    rxDropped: dropped(snapsBefore[i], snapsAfter[i], 'rx_dropped'),
  }))
  await tb.checkHealthy()
  return {
    index,
    startedAt,
    durationMs,
    result,
    cpu,
    queues,
    // A guest's queue interrupts and softnet are the guest's own (its vCPUs serve the queues).
    interrupts: (guest ?? deltas[0]).interrupts,
    softnet: (guest ?? deltas[0]).softnet,
    deviceDrops,
  }
}

function configInForce(tb: Testbed, readback: QueueReadback, probes: Probes): ConfigInForce {
  const cfg = probes.config(tb.devA, tb.nsA)
  // The read-back is what the change was verified against; keep it even where the generic
  // reader sees the device differently (a tap reports no rx/tx channels, only combined).
  return {...cfg, channels: {...cfg.channels, ...readback.channels}, sysfsQueues: readback.sysfsQueues}
}

/**
 * Sets the queue count and reads it back (the change must have taken effect), records the
 * configuration in force, then warms up: what both sweep orders do before they measure.
 */
export async function enterQueueCount(
  queueCount: number,
  plan: ScalePlan,
  deps: Pick<SweepDeps, 'testbed' | 'workload' | 'signal'>,
  probes: Probes,
  started: (readback: QueueReadback) => void,
): Promise<{startedAt: string; config: ConfigInForce}> {
  throwIfAborted(deps.signal)
  const startedAt = new Date().toISOString()
  const readback = await deps.testbed.setQueueCount(queueCount)
  const config = configInForce(deps.testbed, readback, probes)
  started(readback)
  if (plan.config.warmupMs > 0) {
    await deps.workload.run({queueCount, durationMs: plan.config.warmupMs, signal: deps.signal})
    throwIfAborted(deps.signal)
  }
  return {startedAt, config}
}

/** Runs the plan's steps (planRemaining left out those recorded); returns the steps recorded now. */
export async function runSweep(plan: ScalePlan, deps: SweepDeps): Promise<Step[]> {
  const probes = deps.probes ?? kernelProbes
  const recorded: Step[] = []
  for (const step of plan.steps) {
    const {startedAt, config} = await enterQueueCount(step.queueCount, plan, deps, probes, (readback) =>
      deps.events?.stepStarted?.(step, readback),
    )
    const iterations: Iteration[] = []
    for (let i = 0; i < plan.config.iterations; i++) {
      const it = await measure(i, step, plan, deps, probes)
      iterations.push(it)
      deps.events?.iterationDone?.(step, it)
    }
    const s: Step = {
      queueCount: step.queueCount,
      startedAt,
      finishedAt: new Date().toISOString(),
      config,
      iterations,
    }
    deps.journal.appendStep(s)
    recorded.push(s)
    deps.events?.stepDone?.(step, s)
  }
  return recorded
}
