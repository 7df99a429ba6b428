// The checks of the Fedora multiqueue virtio-net test plan, as a table of pure functions over
// the evidence a run collected (channels read and set, sysfs queue counts, snapshots around an
// RR load at N queues and at 1). Each check answers PASS, FAIL or N/A with the numbers it read;
// N/A always says why, so an interface without per-queue interrupts never gets a false PASS.
import type {Channels} from '../native.js'
import type {DeviceConfig} from '../observe/config.js'
import type {EthtoolQueueStats} from '../observe/ethtool.js'
import {dominantCpu} from '../observe/interrupts.js'
import type {DeviceSnapshot} from '../observe/snapshot.js'
import {formatCpus} from '../host/cpus.js'
import type {CheckStatus} from '../results/plan-schema.js'
import type {InterruptDelta} from '../results/schema.js'
import {fmt} from '../util/format.js'

export type {CheckStatus}

export interface CheckResult {
  id: string
  title: string
  status: CheckStatus
  evidence: string
}

export interface LoadRun {
  queueCount: number
  transactionsPerSecond: number
  before: DeviceSnapshot
  after: DeviceSnapshot
  interrupts: InterruptDelta[]
}

export interface CheckEvidence {
  dev: string
  /** the N of the plan */
  queues: number
  onlineCpus: number[]
  /** channels before anything changed; undefined with the reason when the driver has none */
  original?: Channels
  originalError?: string
  setError?: string
  afterSet?: Channels
  sysfsAfterSet?: {rx: number; tx: number}
  /** configuration read under N queues (IRQ affinity, irqbalance, offloads) */
  config?: DeviceConfig
  loadN?: LoadRun
  loadNError?: string
  load1?: LoadRun
  load1Error?: string
  restoreError?: string
  restored?: Channels
}

export type Check = (e: CheckEvidence) => CheckResult

/** combined where the driver has it, else rx/tx pairs (veth). */
export function channelMode(ch: Channels): 'combined' | 'rxtx' {
  return ch.maxCombined > 0 ? 'combined' : 'rxtx'
}

export function describeChannels(ch: Channels): string {
  return channelMode(ch) === 'combined'
    ? `combined ${ch.combined} (max ${ch.maxCombined})`
    : `rx ${ch.rx} tx ${ch.tx} (max rx ${ch.maxRx} tx ${ch.maxTx})`
}

function channelCount(ch: Channels): number {
  return channelMode(ch) === 'combined' ? ch.combined : Math.min(ch.rx, ch.tx)
}

const result = (id: string, title: string, status: CheckStatus, evidence: string): CheckResult => ({
  id,
  title,
  status,
  evidence,
})

const channelsMax: Check = (e) => {
  const t = `the driver reports channels and allows ${e.queues}`
  if (!e.original)
    return result('channels-max', t, 'FAIL', `ethtool -l ${e.dev}: ${e.originalError ?? 'no channels'}`)
  const max =
    channelMode(e.original) === 'combined'
      ? e.original.maxCombined
      : Math.min(e.original.maxRx, e.original.maxTx)
  return result(
    'channels-max',
    t,
    max >= e.queues ? 'PASS' : 'FAIL',
    `${describeChannels(e.original)}; need ${e.queues}`,
  )
}

const channelsSet: Check = (e) => {
  const t = `setting ${e.queues} channels works and reads back`
  if (!e.original) return result('channels-set', t, 'N/A', 'no channels to set')
  if (e.setError) return result('channels-set', t, 'FAIL', e.setError)
  if (!e.afterSet) return result('channels-set', t, 'N/A', 'not attempted')
  const got = channelCount(e.afterSet)
  return result(
    'channels-set',
    t,
    got === e.queues ? 'PASS' : 'FAIL',
    `read back ${describeChannels(e.afterSet)}`,
  )
}

const sysfsQueues: Check = (e) => {
  const t = `/sys/class/net/${e.dev}/queues has ${e.queues} rx-* and ${e.queues} tx-*`
  if (!e.sysfsAfterSet) return result('sysfs-queues', t, 'N/A', 'channels were not set')
  const {rx, tx} = e.sysfsAfterSet
  return result(
    'sysfs-queues',
    t,
    rx === e.queues && tx === e.queues ? 'PASS' : 'FAIL',
    `${rx} rx-*, ${tx} tx-*`,
  )
}

/** Why a device shows no per-queue interrupt lines. */
function noIrqReason(e: CheckEvidence, s: DeviceSnapshot): string {
  const drv = s.driver?.driver
  if (drv === 'veth')
    return 'veth has no interrupts: its queues are served in softirq context, on the sending CPU or by per-queue NAPI'
  if (drv === 'tun')
    return 'tun has no interrupts: each queue is served by the process that reads its file descriptor'
  return `no line in /proc/interrupts matches ${e.dev}'s queues${s.virtioName ? ` (${s.virtioName}-input.K/output.K)` : ''}${drv ? ` for driver ${drv}` : ''}`
}

const irqPerQueue: Check = (e) => {
  const t = "every queue's interrupt line rose under load"
  const run = e.loadN
  if (!run) return result('irq-per-queue', t, 'N/A', e.loadNError ?? 'the load did not run')
  if (run.after.queueInterrupts.length === 0)
    return result('irq-per-queue', t, 'N/A', noIrqReason(e, run.after))
  const lines = run.interrupts.filter((d) => d.queue !== undefined && d.queue < e.queues)
  if (lines.length === 0) {
    const shared = run.interrupts.map((d) => `${d.name} +${d.total}`).join(', ')
    return result(
      'irq-per-queue',
      t,
      'FAIL',
      `no per-queue lines: all queues share ${shared} (give the device 2N+1 MSI-X vectors)`,
    )
  }
  const missing = Array.from({length: e.queues}, (_, q) => q).filter((q) => !lines.some((d) => d.queue === q))
  const idle = lines.filter((d) => d.total === 0)
  const evidence = lines.map((d) => `${d.name} +${d.total}`).join(', ')
  if (missing.length || idle.length) {
    const what = [
      ...missing.map((q) => `queue ${q} has no line`),
      ...idle.map((d) => `${d.name} stayed at zero`),
    ].join('; ')
    return result('irq-per-queue', t, 'FAIL', `${what} (${evidence})`)
  }
  return result('irq-per-queue', t, 'PASS', evidence)
}

function counterOf(
  q: EthtoolQueueStats | undefined,
  dir: 'rx' | 'tx',
): {kind: string; value: number} | undefined {
  const c = q?.[dir]
  if (c?.packets !== undefined) return {kind: 'packets', value: c.packets}
  if (c?.kicks !== undefined) return {kind: 'kicks', value: c.kicks}
  return undefined
}

const ethtoolPerQueue: Check = (e) => {
  const t = "every queue's ethtool -S counter rose under load"
  const run = e.loadN
  if (!run) return result('ethtool-per-queue', t, 'N/A', e.loadNError ?? 'the load did not run')
  const drv = run.after.driver?.driver
  if (run.after.ethtoolQueues.length === 0)
    return result(
      'ethtool-per-queue',
      t,
      'N/A',
      `ethtool -S ${e.dev} has no per-queue counters${drv ? ` (driver ${drv})` : ''}`,
    )
  // veth's per-queue counters count frames that took its per-queue NAPI path, which it uses only
  // with GRO on at the receiver; otherwise the receive runs on the sender's CPU, uncounted.
  if (drv === 'veth' && e.config?.offloads['generic-receive-offload'] === false)
    return result(
      'ethtool-per-queue',
      t,
      'N/A',
      `veth counts per queue (rx_queue_N_xdp_packets) only with GRO on; GRO is off on ${e.dev}`,
    )
  // veth's tx_queue_N_xdp_xmit counts XDP redirects only: ordinary traffic never moves it.
  const dirs: Array<'rx' | 'tx'> = drv === 'veth' ? ['rx'] : ['rx', 'tx']
  const prev = new Map(run.before.ethtoolQueues.map((q) => [q.queue, q]))
  const now = new Map(run.after.ethtoolQueues.map((q) => [q.queue, q]))
  const parts: string[] = []
  const idle: string[] = []
  const absent: number[] = []
  for (let q = 0; q < e.queues; q++) {
    if (dirs.every((dir) => !counterOf(now.get(q), dir))) absent.push(q)
    for (const dir of dirs) {
      const a = counterOf(now.get(q), dir)
      if (!a) continue
      const b = counterOf(prev.get(q), dir)
      const d = a.value - (b?.value ?? 0)
      parts.push(`${dir}${q} ${a.kind} +${d}`)
      if (d <= 0) idle.push(`${dir} queue ${q}`)
    }
  }
  if (parts.length === 0)
    return result('ethtool-per-queue', t, 'N/A', `no packet or kick counter per queue in ethtool -S ${e.dev}`)
  // veth also needs TSO off at the sending peer (veth_skb_is_eligible_for_gro), which cannot be
  // read from this side: no queue counting at all means the path was not taken, not that the
  // queues were unused.
  if (drv === 'veth' && idle.length === parts.length)
    return result(
      'ethtool-per-queue',
      t,
      'N/A',
      `veth did not take its per-queue NAPI path (it needs GRO on here and TSO off at the peer): the receive ran on the sending CPU, uncounted (${parts.join(', ')})`,
    )
  // virtio_net lists only its current queue pairs in ethtool -S: a queue the driver does not
  // count was not shown to rise, whatever the others did.
  if (absent.length)
    return result(
      'ethtool-per-queue',
      t,
      'FAIL',
      `${absent.map((q) => `queue ${q} has no counter in ethtool -S`).join('; ')}${idle.length ? `; ${idle.join(', ')} stayed at zero` : ''} (${parts.join(', ')})`,
    )
  return result(
    'ethtool-per-queue',
    t,
    idle.length ? 'FAIL' : 'PASS',
    idle.length ? `${idle.join(', ')} stayed at zero (${parts.join(', ')})` : parts.join(', '),
  )
}

const irqSpread: Check = (e) => {
  const t = 'queue interrupts are spread over CPUs'
  const run = e.loadN
  if (!run) return result('irq-spread', t, 'N/A', e.loadNError ?? 'the load did not run')
  const lines = run.interrupts.filter(
    (d) => d.queue !== undefined && d.queue < e.queues && d.direction !== 'tx',
  )
  if (lines.length === 0)
    return result(
      'irq-spread',
      t,
      'N/A',
      run.after.queueInterrupts.length === 0
        ? noIrqReason(e, run.after)
        : 'no per-queue receive lines to compare',
    )
  if (e.onlineCpus.length < 2) return result('irq-spread', t, 'N/A', 'one online CPU: nothing to spread over')
  const cpus = run.after.interrupts.cpus
  const where = lines.map((d) => ({d, cpu: dominantCpu(d, cpus)}))
  const distinct = new Set(where.map((w) => w.cpu).filter((c) => c !== undefined))
  const mapping = where.map((w) => `${w.d.name}->CPU${w.cpu ?? '?'}`).join(', ')
  const masks = (e.config?.irqs ?? [])
    .filter((q) => lines.some((d) => d.irq === q.irq) && q.affinity)
    .map((q) => `${q.irq}:${formatCpus(q.affinity!.allowed)}`)
  const narrow = (e.config?.irqs ?? []).filter(
    (q) => lines.some((d) => d.irq === q.irq) && q.affinity?.allowed.length === 1,
  )
  const why = e.config?.irqbalance
    ? 'irqbalance is running and places them'
    : narrow.length === lines.length
      ? `affinity masks pin them (${masks.join(' ')})`
      : `irqbalance is not running; affinity masks ${masks.join(' ') || 'unknown'}, the kernel picks one CPU of each mask`
  if (lines.length > 1 && distinct.size <= 1)
    return result('irq-spread', t, 'FAIL', `all on one CPU: ${mapping}; ${why}`)
  return result('irq-spread', t, 'PASS', `${distinct.size} CPUs: ${mapping}; ${why}`)
}

const oneQueue: Check = (e) => {
  const t = 'back to 1 queue, the same load runs'
  if (e.load1Error) return result('one-queue', t, 'FAIL', e.load1Error)
  if (!e.load1)
    return result(
      'one-queue',
      t,
      'N/A',
      e.original ? 'channels could not be set to 1' : 'no channels to change',
    )
  const n = e.loadN?.transactionsPerSecond
  const one = e.load1.transactionsPerSecond
  const vs =
    n !== undefined && one > 0
      ? `; ${e.queues} queues: ${fmt(n)} transactions/s (${(n / one).toFixed(2)}x)`
      : ''
  return result('one-queue', t, one > 0 ? 'PASS' : 'FAIL', `1 queue: ${fmt(one)} transactions/s${vs}`)
}

const restored: Check = (e) => {
  const t = 'the original channel count is restored'
  if (!e.original) return result('restore', t, 'N/A', 'nothing was changed')
  // Channels never set (too few to test N): equal before and after proves no restore.
  if (!e.afterSet && !e.setError) return result('restore', t, 'N/A', 'the channel count was not changed')
  if (e.restoreError) return result('restore', t, 'FAIL', e.restoreError)
  if (!e.restored) return result('restore', t, 'N/A', 'not attempted')
  const ok =
    channelCount(e.restored) === channelCount(e.original) &&
    e.restored.rx === e.original.rx &&
    e.restored.tx === e.original.tx
  return result(
    'restore',
    t,
    ok ? 'PASS' : 'FAIL',
    `${describeChannels(e.restored)}; was ${describeChannels(e.original)}`,
  )
}

/** The plan, in the order a person runs it. */
export const CHECKS: Check[] = [
  channelsMax,
  channelsSet,
  sysfsQueues,
  irqPerQueue,
  ethtoolPerQueue,
  irqSpread,
  oneQueue,
  restored,
]

export function evaluateChecks(e: CheckEvidence): CheckResult[] {
  return CHECKS.map((c) => c(e))
}
