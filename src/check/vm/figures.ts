// The per-queue figures of a load, from the guest snapshots around it: each queue interrupt line
// of the NIC (before, after, the rise per vCPU) and each per-queue ethtool -S counter (packets
// where the driver counts them, else kicks), in the shapes of types.ts that the report draws.
import type {DeviceSnapshot} from '../../observe/index.js'
import type {EthtoolQueueStats} from '../../observe/ethtool.js'
import type {InterruptDelta} from '../../results/schema.js'
import type {InterruptFigure, LoadFigure, QueueCounterFigure} from './types.js'

const lineTotal = (s: DeviceSnapshot, irq: string) =>
  s.interrupts.lines.find((l) => l.irq === irq)?.counts.reduce((a, n) => a + n, 0) ?? 0

/** The interrupt figures of `deltas` (observeDelta's), with the totals read before and after. */
export function interruptFigures(
  before: DeviceSnapshot,
  after: DeviceSnapshot,
  deltas: InterruptDelta[],
): InterruptFigure[] {
  return deltas.map((d) => {
    const f: InterruptFigure = {
      label: d.name,
      irq: d.irq,
      before: lineTotal(before, d.irq),
      after: lineTotal(after, d.irq),
      perCpu: d.perCpu,
    }
    if (d.queue !== undefined) f.queue = d.queue
    if (d.direction !== undefined) f.direction = d.direction
    return f
  })
}

function metricOf(q: EthtoolQueueStats | undefined, dir: 'rx' | 'tx'): 'packets' | 'kicks' | undefined {
  if (q?.[dir].packets !== undefined) return 'packets'
  if (q?.[dir].kicks !== undefined) return 'kicks'
  return undefined
}

/** Every per-queue ethtool -S counter present after the load, with its value before (0 if absent). */
export function counterFigures(before: DeviceSnapshot, after: DeviceSnapshot): QueueCounterFigure[] {
  const prev = new Map(before.ethtoolQueues.map((q) => [q.queue, q]))
  const out: QueueCounterFigure[] = []
  for (const q of [...after.ethtoolQueues].sort((a, b) => a.queue - b.queue))
    for (const dir of ['rx', 'tx'] as const) {
      const metric = metricOf(q, dir)
      if (!metric) continue
      out.push({
        label: `${dir}${q.queue} ${metric}`,
        queue: q.queue,
        direction: dir,
        metric,
        before: prev.get(q.queue)?.[dir][metric] ?? 0,
        after: q[dir][metric] ?? 0,
      })
    }
  return out
}

/** A load figure with its per-queue bars from the snapshots around it. */
export function loadFigure(
  head: Omit<LoadFigure, 'interrupts' | 'counters'>,
  run: {before: DeviceSnapshot; after: DeviceSnapshot; interrupts: InterruptDelta[]},
): LoadFigure {
  return {
    ...head,
    interrupts: interruptFigures(run.before, run.after, run.interrupts),
    counters: counterFigures(run.before, run.after),
  }
}
