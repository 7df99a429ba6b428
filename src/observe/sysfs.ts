// What /sys/class/net/IF and /proc/irq say about a device's queues: counts, RPS/XPS masks, RFS
// table sizes, rate limits, NUMA node, device statistics, IRQ affinity. Pure over DeviceFiles
// (read by io.ts) except the few host-file readers at the end, which go through an ObserveIO.
import {parseCpuList} from '../host/cpus.js'
import type {DeviceFiles, ObserveIO} from './io.js'

/** "00000003", "ff,ffffffff" (32-bit groups, most significant first) -> CPU numbers. */
export function parseCpuMask(mask: string): number[] {
  const groups = mask.trim().split(',').reverse()
  const cpus: number[] = []
  groups.forEach((g, gi) => {
    const v = Number.parseInt(g || '0', 16)
    if (Number.isNaN(v)) return
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) cpus.push(gi * 32 + b)
  })
  return cpus
}

/** CPU numbers -> the mask format sysfs writes accept ("3", "1,00000000"). */
export function formatCpuMask(cpus: number[]): string {
  if (cpus.length === 0) return '0'
  const groups = Array.from({length: Math.floor(Math.max(...cpus) / 32) + 1}, () => 0)
  for (const c of cpus) groups[Math.floor(c / 32)] = (groups[Math.floor(c / 32)] | (1 << (c % 32))) >>> 0
  return groups
    .reverse()
    .map((g, i) => (i === 0 ? g.toString(16) : g.toString(16).padStart(8, '0')))
    .join(',')
}

/**
 * XPS map: tx-K gets every local CPU i with i mod N == K, so each CPU sends on exactly one queue;
 * with more queues than CPUs, tx-K gets CPU K mod n (a CPU then spreads its flows over its queues).
 */
export function xpsPlan(localCpus: number[], txQueues: number): number[][] {
  if (txQueues > localCpus.length)
    return Array.from({length: txQueues}, (_, k) => [localCpus[k % localCpus.length]])
  const plan: number[][] = Array.from({length: txQueues}, () => [])
  localCpus.forEach((cpu, i) => plan[i % txQueues].push(cpu))
  return plan
}

export interface QueueCounts {
  rx: number
  tx: number
}

function queueIndices(files: Record<string, string>, dir: 'rx' | 'tx'): number[] {
  const seen = new Set<number>()
  const re = new RegExp(`^queues/${dir}-(\\d+)/`)
  for (const k of Object.keys(files)) {
    const m = re.exec(k)
    if (m) seen.add(Number(m[1]))
  }
  return [...seen].sort((a, b) => a - b)
}

export function sysfsQueueCounts(d: DeviceFiles): QueueCounts {
  return {rx: queueIndices(d.files, 'rx').length, tx: queueIndices(d.files, 'tx').length}
}

export interface RxQueueConfig {
  queue: number
  rpsCpus: number[]
  rpsFlowCnt: number
}

export interface TxQueueConfig {
  queue: number
  /** undefined where the kernel refuses to show it (single-queue devices answer ENOENT) */
  xpsCpus?: number[]
  /** Mbit/s, 0 = unlimited */
  txMaxrate: number
}

export function rxQueueConfig(d: DeviceFiles): RxQueueConfig[] {
  return queueIndices(d.files, 'rx').map((q) => ({
    queue: q,
    rpsCpus: parseCpuMask(d.files[`queues/rx-${q}/rps_cpus`] ?? '0'),
    rpsFlowCnt: Number(d.files[`queues/rx-${q}/rps_flow_cnt`] ?? 0),
  }))
}

export function txQueueConfig(d: DeviceFiles): TxQueueConfig[] {
  return queueIndices(d.files, 'tx').map((q) => {
    const xps = d.files[`queues/tx-${q}/xps_cpus`]
    const c: TxQueueConfig = {queue: q, txMaxrate: Number(d.files[`queues/tx-${q}/tx_maxrate`] ?? 0)}
    if (xps !== undefined) c.xpsCpus = parseCpuMask(xps)
    return c
  })
}

/** statistics/* as numbers (rx_packets, tx_dropped, ...). */
export function deviceStatistics(d: DeviceFiles): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(d.files)) {
    if (k.startsWith('statistics/')) {
      const n = Number(v)
      if (!Number.isNaN(n)) out[k.slice(11)] = n
    }
  }
  return out
}

/** The device's NUMA node, undefined when the platform has none (-1) or it is virtual. */
export function numaNode(d: DeviceFiles): number | undefined {
  const v = d.files['device/numa_node'] ?? d.files['device/../numa_node']
  const n = v === undefined ? NaN : Number(v)
  return Number.isNaN(n) || n < 0 ? undefined : n
}

/** "virtio2" when the device is a virtio-net function (its queue IRQs are named after it). */
export function virtioName(d: DeviceFiles): string | undefined {
  const last = d.deviceLink?.split('/').pop()
  return last && /^virtio\d+$/.test(last) ? last : undefined
}

// ---- host files --------------------------------------------------------------------------------

export interface IrqAffinity {
  /** smp_affinity_list: where the IRQ may go */
  allowed: number[]
  /** effective_affinity_list: where it goes now (x86 delivers to one CPU of the mask) */
  effective?: number[]
}

export function readIrqAffinity(io: ObserveIO, irq: string): IrqAffinity | undefined {
  const allowed = io.readHostFile(`proc/irq/${irq}/smp_affinity_list`)
  if (allowed === undefined) return undefined
  const eff = io.readHostFile(`proc/irq/${irq}/effective_affinity_list`)
  const a: IrqAffinity = {allowed: parseCpuList(allowed)}
  if (eff !== undefined && eff.trim()) a.effective = parseCpuList(eff)
  return a
}

/** True when a process named irqbalance runs (it rewrites IRQ affinity every 10 s). */
export function irqbalanceRunning(io: ObserveIO): boolean {
  for (const pid of io.listHostDir('proc')) {
    if (!/^\d+$/.test(pid)) continue
    if (io.readHostFile(`proc/${pid}/comm`)?.trim() === 'irqbalance') return true
  }
  return false
}

/** net.core.rps_sock_flow_entries: the global RFS table; 0 means RFS is off. */
export function rpsSockFlowEntries(io: ObserveIO): number {
  return Number(io.readHostFile('proc/sys/net/core/rps_sock_flow_entries')?.trim() ?? 0) || 0
}

/** CPUs of a NUMA node, from /sys/devices/system/node/nodeN/cpulist. */
export function nodeCpus(io: ObserveIO, node: number): number[] | undefined {
  const t = io.readHostFile(`sys/devices/system/node/node${node}/cpulist`)
  return t === undefined ? undefined : parseCpuList(t)
}
