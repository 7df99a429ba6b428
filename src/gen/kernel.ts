// The kernel's own view of a generator run: a device's facts before it starts (exists, up, TX
// queues, MAC) and its counters before and after (/sys/class/net/IF/statistics and, where the
// driver has them, the per-queue figures of `ethtool -S`), so that mqbench's counts can be checked
// against the kernel's. Parsers are pure; readers take a namespace and a root path for fixtures.
import {readFileSync, readdirSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {run} from '../util/exec.js'
import {requireNetns} from '../host/netns.js'

export interface DeviceFacts {
  name: string
  netns: string
  mac: string
  mtu: number
  up: boolean
  /** real_num_tx_queues: the tx-N directories in /sys/class/net/IF/queues */
  txQueues: number
  rxQueues: number
  /** the driver (veth, tun, virtio_net, ...) as sysfs names it, if known */
  kind?: string
}

export type Counters = Record<string, number>

export interface KernelCounters {
  dev: string
  netns: string
  /** /sys/class/net/IF/statistics after minus before */
  statistics: Counters
  /** `ethtool -S` after minus before, only the per-queue entries, by queue */
  perQueue: Array<{queue: number; counters: Counters}>
}

export interface CounterSnapshot {
  statistics: Counters
  ethtool: Counters
}

const ns = (netns: string) => (netns ? ['-n', netns] : [])

export function listInterfaces(netns = ''): string[] {
  const r = run('ip', [...ns(netns), '-o', 'link', 'show'])
  return r.stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter(Boolean)
}

/** Parses `grep -r . /sys/class/net/IF/statistics` ("path:value" lines) into counters by file name. */
export function parseStatisticsListing(text: string): Counters {
  const out: Counters = {}
  for (const line of text.split('\n')) {
    const m = /([^/:]+):\s*(\d+)\s*$/.exec(line)
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}

/** Parses `ethtool -S` output ("     name: value") into counters; non-numeric entries are skipped. */
export function parseEthtoolStats(text: string): Counters {
  const out: Counters = {}
  for (const line of text.split('\n')) {
    const m = /^\s+([^:]+?):\s+(-?\d+)\s*$/.exec(line)
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}

/** Per-queue entries of an ethtool map, whatever the driver's spelling: rx_queue_0_packets, tx0_bytes, tx-0.packets. */
export function perQueueCounters(stats: Counters): Array<{queue: number; counters: Counters}> {
  const byQueue = new Map<number, Counters>()
  for (const [name, value] of Object.entries(stats)) {
    const m = /^(rx|tx)[_-]?(?:queue[_-]?)?(\d+)[_.](.+)$/.exec(name)
    if (!m) continue
    const q = Number(m[2])
    if (!byQueue.has(q)) byQueue.set(q, {})
    byQueue.get(q)![`${m[1]}_${m[3]}`] = value
  }
  return [...byQueue.entries()].sort((a, b) => a[0] - b[0]).map(([queue, counters]) => ({queue, counters}))
}

export function diffCounters(before: Counters, after: Counters): Counters {
  const out: Counters = {}
  for (const [k, v] of Object.entries(after)) out[k] = v - (before[k] ?? 0)
  return out
}

function readStatistics(dev: string, netns: string, root: string): Counters {
  if (!netns) {
    const dir = `${root}sys/class/net/${dev}/statistics`
    const out: Counters = {}
    for (const f of readdirSync(dir)) out[f] = Number(readFileSync(`${dir}/${f}`, 'utf8').trim())
    return out
  }
  // sysfs shows the devices of the namespace that mounted it: `ip netns exec` mounts the right one.
  const r = run('ip', ['netns', 'exec', netns, 'grep', '-r', '.', `/sys/class/net/${dev}/statistics`])
  return parseStatisticsListing(r.stdout)
}

function readEthtool(dev: string, netns: string): Counters {
  const r = netns ? run('ip', ['netns', 'exec', netns, 'ethtool', '-S', dev]) : run('ethtool', ['-S', dev])
  return r.status === 0 ? parseEthtoolStats(r.stdout) : {}
}

export function snapshotCounters(dev: string, netns = '', root = '/'): CounterSnapshot {
  return {statistics: readStatistics(dev, netns, root), ethtool: readEthtool(dev, netns)}
}

export function kernelDelta(
  dev: string,
  netns: string,
  before: CounterSnapshot,
  after: CounterSnapshot,
): KernelCounters {
  return {
    dev,
    netns,
    statistics: diffCounters(before.statistics, after.statistics),
    perQueue: perQueueCounters(diffCounters(before.ethtool, after.ethtool)),
  }
}

function sysfsLs(path: string, netns: string, root: string): string[] {
  if (!netns) return readdirSync(`${root}${path.slice(1)}`)
  const r = run('ip', ['netns', 'exec', netns, 'ls', '-1', path])
  if (r.status !== 0) throw new Error(r.stderr.trim())
  return r.stdout.split('\n').filter(Boolean)
}

/** Checks that `dev` exists (listing the ones that do when not) and reads what a run needs to know. */
export function deviceFacts(dev: string, netns = '', root = '/'): DeviceFacts {
  if (netns) requireNetns(netns)
  const r = run('ip', [...ns(netns), '-j', '-d', 'link', 'show', 'dev', dev])
  if (r.status !== 0) {
    const names = listInterfaces(netns)
    throw new MqbError(
      `no interface ${dev}${netns ? ` in namespace ${netns}` : ''}; interfaces there: ${names.join(', ') || 'none'}`,
      ExitCode.noDevice,
    )
  }
  const [l] = JSON.parse(r.stdout) as Array<{
    address?: string
    mtu: number
    flags: string[]
    linkinfo?: {info_kind?: string}
  }>
  const queues = sysfsLs(`/sys/class/net/${dev}/queues`, netns, root)
  return {
    name: dev,
    netns,
    mac: l.address ?? '',
    mtu: l.mtu,
    up: l.flags.includes('UP'),
    txQueues: queues.filter((q) => q.startsWith('tx-')).length,
    rxQueues: queues.filter((q) => q.startsWith('rx-')).length,
    kind: l.linkinfo?.info_kind,
  }
}
