// Text output of `ethtool -S` (driver statistics), `ethtool -k` (offloads) and `ethtool -i`
// (driver, bus address). Per-queue counters have no standard names: each driver spells them its
// own way, so they are recognised by a table of patterns and folded into one shape.
import type {Channels} from '../native.js'

/** `ethtool -S IF`: counter name -> value. */
export function parseEthtoolStats(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = /^\s*(.+?):\s*(-?\d+)\s*$/.exec(line)
    if (m) out[m[1].trim()] = Number(m[2])
  }
  return out
}

/**
 * `ethtool -l IF` as the ETHTOOL_GCHANNELS ioctl gives it (Channels): "n/a" is 0, as the kernel
 * reports a channel kind the driver lacks. Counts of any width: tp-qemu reads `Combined:\s+(\d)`,
 * one digit, and takes 16 queues for 1. Undefined when either section is missing.
 */
export function parseEthtoolChannels(text: string): Channels | undefined {
  const max = /Pre-set maximums:\n([\s\S]*?)(?:\nCurrent hardware settings:|$)/.exec(text)?.[1]
  const cur = /Current hardware settings:\n([\s\S]*)$/.exec(text)?.[1]
  if (max === undefined || cur === undefined) return undefined
  const field = (section: string, key: string): number | undefined => {
    const m = new RegExp(`^\\s*${key}:\\s*(\\d+|n/a)\\s*$`, 'mi').exec(section)
    return m ? (m[1] === 'n/a' ? 0 : Number(m[1])) : undefined
  }
  const keys = ['RX', 'TX', 'Other', 'Combined'] as const
  const m = keys.map((k) => field(max, k))
  const c = keys.map((k) => field(cur, k))
  if ([...m, ...c].some((v) => v === undefined)) return undefined
  const [maxRx, maxTx, maxOther, maxCombined, rx, tx, other, combined] = [...m, ...c] as number[]
  return {maxRx, maxTx, maxOther, maxCombined, rx, tx, other, combined}
}

/** `ethtool -k IF`: feature -> on; "[fixed]" and "[requested on]" annotations are dropped. */
export function parseEthtoolFeatures(text: string): Record<string, boolean> {
  const out: Record<string, boolean> = {}
  for (const line of text.split('\n')) {
    const m = /^\s*([\w-]+):\s*(on|off)\b/.exec(line)
    if (m) out[m[1]] = m[2] === 'on'
  }
  return out
}

export interface DriverInfo {
  driver: string
  version?: string
  busInfo?: string
}

/** `ethtool -i IF`. */
export function parseEthtoolDriver(text: string): DriverInfo | undefined {
  const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim() || undefined
  const driver = field('driver')
  if (!driver) return undefined
  const info: DriverInfo = {driver}
  const version = field('version')
  const busInfo = field('bus-info')
  if (version) info.version = version
  if (busInfo) info.busInfo = busInfo
  return info
}

/** The offloads a tuning report names, under their `ethtool -k` names. */
export const KEY_OFFLOADS = [
  'generic-receive-offload',
  'generic-segmentation-offload',
  'tcp-segmentation-offload',
  'rx-checksumming',
  'tx-checksumming',
  'scatter-gather',
  'large-receive-offload',
  'rx-gro-hw',
] as const

export interface DirectionCounters {
  packets?: number
  bytes?: number
  drops?: number
  /** virtio-net notifications to the device: proof that the queue was used where packets are not counted */
  kicks?: number
}

export interface EthtoolQueueStats {
  queue: number
  rx: DirectionCounters
  tx: DirectionCounters
}

type Metric = keyof DirectionCounters

// The same quantity can appear under several names on one driver (virtio_net before 6.10 had
// both rx_queue_0_packets and rx_queue_0_xdp_packets): lower rank wins.
// veth names its per-queue NAPI counters xdp_* although they count every frame that took the
// NAPI path; on other drivers (virtio_net rx0_xdp_packets) xdp_* counts only XDP verdicts.
const METRICS: Array<[RegExp, Metric, number, string?]> = [
  [/^(packets|cnt)$/, 'packets', 0],
  [/^(ucast_packets|mcast_packets|bcast_packets)$/, 'packets', 1], // bnxt: summed
  [/^xdp_packets$/, 'packets', 2, 'veth'],
  [/^xdp_xmit$/, 'packets', 2, 'veth'],
  [/^bytes$/, 'bytes', 0],
  [/^(ucast_bytes|mcast_bytes|bcast_bytes)$/, 'bytes', 1],
  [/^xdp_bytes$/, 'bytes', 2, 'veth'],
  [/^(drops|dropped|drop)$/, 'drops', 0],
  [/^kicks$/, 'kicks', 0],
]

/**
 * Splits a driver counter name into direction, queue and the rest:
 * veth/ixgbe/ice/virtio_net<6.10 `rx_queue_3_packets`; mlx5/virtio_net>=6.10 `rx3_packets`;
 * i40e `rx-3.rx_packets`; ena `queue_3_rx_cnt`; bnxt `[3]: rx_ucast_packets`.
 */
export function splitQueueStatName(
  name: string,
): {dir: 'rx' | 'tx'; queue: number; rest: string} | undefined {
  const pats: Array<[RegExp, number, number, number]> = [
    [/^(rx|tx)_queue_(\d+)_(.+)$/, 1, 2, 3],
    [/^(rx|tx)(\d+)_(.+)$/, 1, 2, 3],
    [/^(rx|tx)-(\d+)\.(?:rx_|tx_)?(.+)$/, 1, 2, 3],
    [/^queue_(\d+)_(rx|tx)_(.+)$/, 2, 1, 3],
    [/^\[(\d+)\]:\s*(rx|tx)_(.+)$/, 2, 1, 3],
  ]
  for (const [re, d, q, r] of pats) {
    const m = re.exec(name)
    if (m) return {dir: m[d] as 'rx' | 'tx', queue: Number(m[q]), rest: m[r]}
  }
  return undefined
}

/**
 * Per-queue counters recognised in `ethtool -S` output, ordered by queue; [] when the driver has
 * none. `driver` (from `ethtool -i`) decides how driver-specific names count.
 */
export function ethtoolQueueStats(stats: Record<string, number>, driver?: string): EthtoolQueueStats[] {
  const best = new Map<string, {rank: number; value: number}>()
  for (const [name, value] of Object.entries(stats)) {
    const s = splitQueueStatName(name)
    if (!s) continue
    const metric = METRICS.find(([re, , , only]) => re.test(s.rest) && (!only || only === driver))
    if (!metric) continue
    const [, key, rank] = metric
    const id = `${s.queue}/${s.dir}/${key}`
    const cur = best.get(id)
    if (!cur || rank < cur.rank) best.set(id, {rank, value})
    else if (rank === cur.rank) cur.value += value
  }
  const queues = new Map<number, EthtoolQueueStats>()
  for (const [id, {value}] of best) {
    const [q, dir, key] = id.split('/') as [string, 'rx' | 'tx', Metric]
    const queue = Number(q)
    if (!queues.has(queue)) queues.set(queue, {queue, rx: {}, tx: {}})
    queues.get(queue)![dir][key] = value
  }
  return [...queues.values()].sort((a, b) => a.queue - b.queue)
}

/** Which per-queue counters this driver has, for saying what a check could and could not see. */
export function queueStatKinds(stats: EthtoolQueueStats[]): Set<string> {
  const kinds = new Set<string>()
  for (const q of stats)
    for (const dir of ['rx', 'tx'] as const) for (const k of Object.keys(q[dir])) kinds.add(`${dir}.${k}`)
  return kinds
}
