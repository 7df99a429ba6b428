// One snapshot of a device's counters, taken at one moment: the queue interrupt lines, softnet
// per CPU, driver statistics and sysfs. Two snapshots give the per-queue evidence a step records
// (observeDelta). Snapshots are plain JSON so a caller can keep or log them.
import type {InterruptDelta, QueueTraffic, SoftnetDelta} from '../results/schema.js'
import {
  ethtoolQueueStats,
  parseEthtoolDriver,
  parseEthtoolStats,
  type DriverInfo,
  type EthtoolQueueStats,
} from './ethtool.js'
import {
  deviceQueueInterrupts,
  interruptDeltas,
  parseInterrupts,
  type InterruptTable,
  type QueueInterrupt,
} from './interrupts.js'
import {observeIO, type ObserveIO, type ObserveOptions} from './io.js'
import {parseSoftnetStat, softnetDeltas, type SoftnetRow} from './softnet.js'
import {deviceStatistics, sysfsQueueCounts, virtioName, type QueueCounts} from './sysfs.js'

export interface DeviceSnapshot {
  dev: string
  netns: string
  /** Date.now() when the snapshot was taken */
  takenAtMs: number
  driver?: DriverInfo
  /** "virtio2" for a virtio-net device */
  virtioName?: string
  queueCounts: QueueCounts
  interrupts: InterruptTable
  /** the lines of `interrupts` that serve this device's queues ([] for veth, tap, ...) */
  queueInterrupts: QueueInterrupt[]
  softnet: SoftnetRow[]
  /** `ethtool -S` as read ({} when the driver has no statistics) */
  ethtoolStats: Record<string, number>
  ethtoolQueues: EthtoolQueueStats[]
  /** /sys/class/net/DEV/statistics */
  statistics: Record<string, number>
}

export function takeSnapshotWith(io: ObserveIO, dev: string): DeviceSnapshot {
  const files = io.deviceFiles(dev)
  const info = io.ethtool(['-i', dev])
  const driver = info === undefined ? undefined : parseEthtoolDriver(info)
  const vName = virtioName(files)
  const interrupts = parseInterrupts(io.readHostFile('proc/interrupts') ?? '')
  const stats = io.ethtool(['-S', dev])
  const ethtoolStats = stats === undefined ? {} : parseEthtoolStats(stats)
  const snap: DeviceSnapshot = {
    dev,
    netns: io.netns,
    takenAtMs: Date.now(),
    queueCounts: sysfsQueueCounts(files),
    interrupts,
    queueInterrupts: deviceQueueInterrupts(interrupts, dev, {virtioName: vName, busInfo: driver?.busInfo}),
    softnet: parseSoftnetStat(io.readHostFile('proc/net/softnet_stat') ?? ''),
    ethtoolStats,
    ethtoolQueues: ethtoolQueueStats(ethtoolStats, driver?.driver),
    statistics: deviceStatistics(files),
  }
  if (driver) snap.driver = driver
  if (vName) snap.virtioName = vName
  return snap
}

export function takeSnapshot(dev: string, opts: ObserveOptions = {}): DeviceSnapshot {
  return takeSnapshotWith(observeIO(opts), dev)
}

// Driver counters are u64 but can be reset (driver reload, channel change on some NICs):
// a negative delta is reported as the value after, the count since the reset.
const grew = (before: number | undefined, after: number | undefined) => {
  if (after === undefined) return 0
  const b = before ?? 0
  return after >= b ? after - b : after
}

function hasPacketCounters(qs: EthtoolQueueStats[]): boolean {
  return qs.some((q) => q.rx.packets !== undefined || q.tx.packets !== undefined)
}

/**
 * Per-queue traffic between two snapshots from the best source the device has:
 * `ethtool` per-queue packet counters; else `interrupts` (the counts are interrupts of the
 * queue's lines, rx and combined lines under rx: proof of use, not a volume); else `sysfs`
 * device totals for a single-queue device; else [] (the testbed's relay must say).
 */
export function queueTraffic(
  before: DeviceSnapshot,
  after: DeviceSnapshot,
  interrupts: InterruptDelta[],
): QueueTraffic[] {
  if (hasPacketCounters(after.ethtoolQueues)) {
    const prev = new Map(before.ethtoolQueues.map((q) => [q.queue, q]))
    return after.ethtoolQueues.map((a) => {
      const b = prev.get(a.queue)
      return {
        queue: a.queue,
        source: 'ethtool' as const,
        txPackets: grew(b?.tx.packets, a.tx.packets),
        txBytes: grew(b?.tx.bytes, a.tx.bytes),
        rxPackets: grew(b?.rx.packets, a.rx.packets),
        rxBytes: grew(b?.rx.bytes, a.rx.bytes),
        drops: grew(b?.rx.drops, a.rx.drops) + grew(b?.tx.drops, a.tx.drops),
      }
    })
  }
  const perQueue = interrupts.filter((d) => d.queue !== undefined)
  if (perQueue.length > 0) {
    const byQueue = new Map<number, QueueTraffic>()
    for (const d of perQueue) {
      const q = byQueue.get(d.queue!) ?? {
        queue: d.queue!,
        source: 'interrupts' as const,
        txPackets: 0,
        txBytes: 0,
        rxPackets: 0,
        rxBytes: 0,
        drops: 0,
      }
      if (d.direction === 'tx') q.txPackets += d.total
      else q.rxPackets += d.total
      byQueue.set(d.queue!, q)
    }
    return [...byQueue.values()].sort((a, b) => a.queue - b.queue)
  }
  if (after.queueCounts.rx === 1 && after.queueCounts.tx === 1) {
    const s = (k: string) => grew(before.statistics[k], after.statistics[k])
    return [
      {
        queue: 0,
        source: 'sysfs',
        txPackets: s('tx_packets'),
        txBytes: s('tx_bytes'),
        rxPackets: s('rx_packets'),
        rxBytes: s('rx_bytes'),
        drops: s('rx_dropped') + s('tx_dropped'),
      },
    ]
  }
  return []
}

export function observeDelta(
  before: DeviceSnapshot,
  after: DeviceSnapshot,
): {interrupts: InterruptDelta[]; softnet: SoftnetDelta[]; queues: QueueTraffic[]} {
  const interrupts = interruptDeltas(before.interrupts, after.interrupts, after.queueInterrupts)
  return {
    interrupts,
    softnet: softnetDeltas(before.softnet, after.softnet),
    queues: queueTraffic(before, after, interrupts),
  }
}
