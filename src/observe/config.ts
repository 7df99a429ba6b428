// The multiqueue configuration in force on a device: channels, sysfs queues, RPS/XPS/RFS, IRQ
// affinity per queue line, irqbalance, offloads, root qdisc, NUMA placement. DeviceConfig is the
// full picture `tune` reasons over; ConfigInForce is the part a results file keeps per step.
import type {ConfigInForce} from '../results/schema.js'
import type {Channels} from '../native.js'
import {formatCpus, parseCpuList} from '../host/cpus.js'
import {parseEthtoolDriver, parseEthtoolFeatures, type DriverInfo} from './ethtool.js'
import {deviceQueueInterrupts, parseInterrupts, type QueueInterrupt} from './interrupts.js'
import {observeIO, type ObserveIO, type ObserveOptions} from './io.js'
import {
  irqbalanceRunning,
  nodeCpus,
  numaNode,
  readIrqAffinity,
  rpsSockFlowEntries,
  rxQueueConfig,
  sysfsQueueCounts,
  txQueueConfig,
  virtioName,
  type IrqAffinity,
  type QueueCounts,
  type RxQueueConfig,
  type TxQueueConfig,
} from './sysfs.js'

export interface QueueIrq extends QueueInterrupt {
  affinity?: IrqAffinity
}

export interface DeviceConfig {
  dev: string
  netns: string
  driver?: DriverInfo
  virtioName?: string
  /** undefined when the driver has no ethtool channels (tap answers EOPNOTSUPP) */
  channels?: Channels
  sysfsQueues: QueueCounts
  rxQueues: RxQueueConfig[]
  txQueues: TxQueueConfig[]
  irqs: QueueIrq[]
  irqbalance: boolean
  rpsSockFlowEntries: number
  offloads: Record<string, boolean>
  rootQdisc?: string
  numaNode?: number
  /** CPUs of the device's NUMA node (all online CPUs when it has none) */
  localCpus: number[]
  onlineCpus: number[]
}

export function readDeviceConfigWith(io: ObserveIO, dev: string): DeviceConfig {
  const files = io.deviceFiles(dev)
  const info = io.ethtool(['-i', dev])
  const driver = info === undefined ? undefined : parseEthtoolDriver(info)
  const vName = virtioName(files)
  const table = parseInterrupts(io.readHostFile('proc/interrupts') ?? '')
  const irqs: QueueIrq[] = deviceQueueInterrupts(table, dev, {
    virtioName: vName,
    busInfo: driver?.busInfo,
  }).map((q) => {
    const affinity = readIrqAffinity(io, q.irq)
    return affinity ? {...q, affinity} : q
  })
  const online = parseCpuList(io.readHostFile('sys/devices/system/cpu/online') ?? '')
  const onlineCpus = online.length ? online : table.cpus
  const node = numaNode(files)
  const features = io.ethtool(['-k', dev])
  const cfg: DeviceConfig = {
    dev,
    netns: io.netns,
    sysfsQueues: sysfsQueueCounts(files),
    rxQueues: rxQueueConfig(files),
    txQueues: txQueueConfig(files),
    irqs,
    irqbalance: irqbalanceRunning(io),
    rpsSockFlowEntries: rpsSockFlowEntries(io),
    offloads: features === undefined ? {} : parseEthtoolFeatures(features),
    localCpus:
      (node === undefined ? undefined : nodeCpus(io, node)?.filter((c) => onlineCpus.includes(c))) ??
      onlineCpus,
    onlineCpus,
  }
  const channels = io.channels(dev)
  if (channels) cfg.channels = channels
  const qdisc = io.rootQdisc(dev)
  if (qdisc) cfg.rootQdisc = qdisc
  if (driver) cfg.driver = driver
  if (vName) cfg.virtioName = vName
  if (node !== undefined) cfg.numaNode = node
  return cfg
}

export function readDeviceConfig(dev: string, opts: ObserveOptions = {}): DeviceConfig {
  return readDeviceConfigWith(observeIO(opts), dev)
}

/** The part of a DeviceConfig a results file keeps: CPU lists as the kernel writes them ("0-3"). */
export function toConfigInForce(c: DeviceConfig): ConfigInForce {
  const channels: ConfigInForce['channels'] = {}
  if (c.channels) {
    const ch = c.channels
    if (ch.maxCombined > 0) Object.assign(channels, {combined: ch.combined, maxCombined: ch.maxCombined})
    if (ch.maxRx > 0) Object.assign(channels, {rx: ch.rx, maxRx: ch.maxRx})
    if (ch.maxTx > 0) Object.assign(channels, {tx: ch.tx, maxTx: ch.maxTx})
  }
  const irqAffinity: Record<string, string> = {}
  for (const q of c.irqs) if (q.affinity) irqAffinity[q.name] = formatCpus(q.affinity.allowed)
  return {
    channels,
    sysfsQueues: c.sysfsQueues,
    rpsCpus: c.rxQueues.map((q) => formatCpus(q.rpsCpus)),
    xpsCpus: c.txQueues.map((q) => formatCpus(q.xpsCpus ?? [])),
    irqAffinity,
    offloads: c.offloads,
  }
}

export function readConfigInForce(dev: string, opts: ObserveOptions = {}): ConfigInForce {
  return toConfigInForce(readDeviceConfig(dev, opts))
}

export function readSysfsQueueCounts(dev: string, opts: ObserveOptions = {}): {rx: number; tx: number} {
  return sysfsQueueCounts(observeIO(opts).deviceFiles(dev))
}
