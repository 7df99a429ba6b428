// What `mqbench tune` says about a device's multiqueue setup: pure functions from a DeviceConfig
// to findings, each with what was read, and where something could be better, a recommendation,
// the command that does it, and why.
import type {DeviceConfig} from '../observe/config.js'
import {formatCpus} from '../host/cpus.js'
import {formatCpuMask, xpsPlan} from '../observe/sysfs.js'

export {xpsPlan}

export type FindingLevel = 'ok' | 'info' | 'warn'

export interface Finding {
  /** channels, irq-affinity, irqbalance, xps, rps, rfs, offloads, qdisc, numa */
  area: string
  level: FindingLevel
  /** what was read, with the numbers */
  finding: string
  recommendation?: string
  /** shell commands that carry out the recommendation */
  commands?: string[]
  reason?: string
}

export interface ChannelState {
  mode: 'combined' | 'rxtx'
  current: number
  max: number
}

/** Combined channels where the driver has them, else the smaller of rx/tx (veth has only those). */
export function channelState(c: DeviceConfig): ChannelState | undefined {
  const ch = c.channels
  if (!ch) return undefined
  if (ch.maxCombined > 0) return {mode: 'combined', current: ch.combined, max: ch.maxCombined}
  if (ch.maxRx > 0 && ch.maxTx > 0)
    return {mode: 'rxtx', current: Math.min(ch.rx, ch.tx), max: Math.min(ch.maxRx, ch.maxTx)}
  return undefined
}

/** The queue count to recommend: one per CPU of the device's node, as far as the device allows. */
export function targetQueueCount(c: DeviceConfig): number | undefined {
  const s = channelState(c)
  return s ? Math.max(1, Math.min(s.max, c.localCpus.length)) : undefined
}

function ns(c: DeviceConfig): string {
  return c.netns ? `ip netns exec ${c.netns} ` : ''
}

export function ethtoolSetChannelsCommand(c: DeviceConfig, n: number): string {
  const s = channelState(c)
  const args = s?.mode === 'rxtx' ? `rx ${n} tx ${n}` : `combined ${n}`
  return `${ns(c)}ethtool -L ${c.dev} ${args}`
}

function nodeWords(c: DeviceConfig): string {
  return c.numaNode === undefined
    ? `CPUs ${formatCpus(c.localCpus)}`
    : `CPUs of NUMA node ${c.numaNode} (${formatCpus(c.localCpus)})`
}

function channelFindings(c: DeviceConfig): Finding[] {
  const s = channelState(c)
  if (!s) {
    const sq = c.sysfsQueues
    return [
      {
        area: 'channels',
        level: 'info',
        finding: `${c.dev} has no ethtool channels (${sq.rx} rx and ${sq.tx} tx queues in sysfs)`,
        reason:
          "the queue count is set by whoever created the device (a tap's backend attaches queues with TUNSETQUEUE)",
      },
    ]
  }
  const word = `${s.mode === 'combined' ? 'combined channel' : 'rx/tx queue pair'}${s.current === 1 ? '' : 's'}`
  const cpus = c.localCpus.length
  const target = targetQueueCount(c)!
  if (s.current < target) {
    return [
      {
        area: 'channels',
        level: 'warn',
        finding: `${s.current} ${word} (maximum ${s.max}) on ${cpus} CPUs`,
        recommendation: `raise to ${target} with \`${ethtoolSetChannelsCommand(c, target)}\``,
        commands: [ethtoolSetChannelsCommand(c, target)],
        reason: `with one queue per CPU each CPU sends and receives on its own queue, so ${target} CPUs share the interrupt and softirq work instead of ${s.current}`,
      },
    ]
  }
  if (s.current > c.onlineCpus.length) {
    return [
      {
        area: 'channels',
        level: 'info',
        finding: `${s.current} ${word} on ${c.onlineCpus.length} online CPUs`,
        recommendation: `${c.onlineCpus.length} queues are enough: \`${ethtoolSetChannelsCommand(c, c.onlineCpus.length)}\``,
        commands: [ethtoolSetChannelsCommand(c, c.onlineCpus.length)],
        reason:
          'queues beyond one per CPU share CPUs, add interrupt vectors and memory, and spread flows thinner without adding parallelism',
      },
    ]
  }
  const limit =
    s.current === s.max && s.max < cpus ? ` (the device's maximum; ${cpus} CPUs could use more)` : ''
  return [
    {
      area: 'channels',
      level: 'ok',
      finding: `${s.current} ${word} (maximum ${s.max}) on ${cpus} CPUs${limit}`,
    },
  ]
}

/** The CPU a queue's interrupt is delivered to now: the effective affinity, or a one-CPU mask. */
function deliveredCpus(q: DeviceConfig['irqs'][number]): number[] {
  return q.affinity?.effective ?? q.affinity?.allowed ?? []
}

function irqFindings(c: DeviceConfig): Finding[] {
  const out: Finding[] = []
  const perQueue = c.irqs.filter((q) => q.queue !== undefined)
  if (c.irqs.length === 0) {
    const drv = c.driver?.driver
    const why =
      drv === 'veth'
        ? 'veth serves its queues in softirq context (on the sending CPU, or per-queue NAPI), without interrupts'
        : drv === 'tun'
          ? "a tap's queues are served by the processes reading its queue file descriptors, without interrupts"
          : `no line in /proc/interrupts matches ${c.dev}'s queues${drv ? ` (driver ${drv})` : ''}`
    out.push({
      area: 'irq-affinity',
      level: 'info',
      finding: `${c.dev} has no per-queue interrupt lines in /proc/interrupts`,
      reason: why,
    })
  } else if (perQueue.length === 0) {
    out.push({
      area: 'irq-affinity',
      level: 'warn',
      finding: `all queues of ${c.dev} share one interrupt line (${c.irqs.map((q) => q.name).join(', ')})`,
      recommendation:
        'give the device one MSI-X vector per queue (qemu: `-device virtio-net-pci,mq=on,vectors=2N+2`)',
      reason:
        'with one shared vector every queue interrupts the same CPU, so extra queues add no receive parallelism',
    })
  } else {
    // queue -> CPU its rx (or combined) line goes to
    const cpuOf = new Map<number, number[]>()
    for (const q of perQueue)
      if (q.direction !== 'tx' || !cpuOf.has(q.queue!)) cpuOf.set(q.queue!, deliveredCpus(q))
    const queues = [...cpuOf.keys()].sort((a, b) => a - b)
    const singles = queues
      .map((q) => cpuOf.get(q)!)
      .filter((cpus) => cpus.length === 1)
      .map((cpus) => cpus[0])
    const distinct = new Set(singles)
    const wanted = Math.min(queues.length, c.localCpus.length)
    const mapping = queues.map((q) => `${q}->${formatCpus(cpuOf.get(q)!) || '?'}`).join(' ')
    const plan = queues.map((q, i) => `${q}->${c.localCpus[i % c.localCpus.length]}`).join(' ')
    const offNode = [...distinct].filter((cpu) => !c.localCpus.includes(cpu))
    if (singles.length === queues.length && distinct.size < wanted) {
      const crowded = [...distinct].map((cpu) => `CPU ${cpu}`).join(', ')
      out.push({
        area: 'irq-affinity',
        level: 'warn',
        finding: `queues ${formatCpus(queues)} all interrupt ${crowded} (queue->CPU: ${mapping})`,
        recommendation: `spread them 1:1 over ${nodeWords(c)}: ${plan}`,
        commands: affinityCommands(c, queues),
        reason: `${queues.length} queues whose interrupts land on ${distinct.size} CPU(s) are processed by ${distinct.size} CPU(s): the others stay idle while those saturate`,
      })
    } else if (offNode.length > 0) {
      out.push({
        area: 'irq-affinity',
        level: 'warn',
        finding: `queue interrupts go to CPU ${formatCpus(offNode)}, outside ${nodeWords(c)}`,
        recommendation: `move them to ${nodeWords(c)}: ${plan}`,
        commands: affinityCommands(c, queues),
        reason:
          'the device writes packets into memory of its own node; handling them on another node crosses the interconnect for every packet',
      })
    } else {
      const spread =
        queues.length === 1
          ? `the one queue's interrupts go to CPU ${formatCpus(cpuOf.get(queues[0])!)}`
          : `queue interrupts spread over ${distinct.size || 'several'} CPUs (queue->CPU: ${mapping})`
      out.push({area: 'irq-affinity', level: 'ok', finding: spread})
    }
  }
  if (c.irqbalance) {
    out.push({
      area: 'irqbalance',
      level: c.irqs.length > 0 ? 'warn' : 'info',
      finding: 'irqbalance is running',
      recommendation:
        c.irqs.length > 0
          ? 'to keep a 1:1 queue->CPU mapping, stop it (`systemctl stop irqbalance`) or exclude these IRQs (`--banirq`)'
          : undefined,
      reason:
        'irqbalance rewrites IRQ affinity every 10 s by its own load estimate, undoing a manual mapping',
    })
  } else {
    out.push({
      area: 'irqbalance',
      level: 'ok',
      finding: 'irqbalance is not running: IRQ affinity stays as set',
    })
  }
  return out
}

/** `echo CPU > /proc/irq/N/smp_affinity_list` for every line of every queue, queue K to local CPU K. */
export function affinityCommands(c: DeviceConfig, queues: number[]): string[] {
  return c.irqs
    .filter((q) => q.queue !== undefined && queues.includes(q.queue))
    .map(
      (q) =>
        `echo ${c.localCpus[queues.indexOf(q.queue!) % c.localCpus.length]} > /proc/irq/${q.irq}/smp_affinity_list`,
    )
}

function xpsFindings(c: DeviceConfig): Finding[] {
  const tx = c.txQueues
  if (tx.length <= 1) return [{area: 'xps', level: 'ok', finding: `${tx.length} tx queue: nothing to map`}]
  const unset = tx.filter((q) => !q.xpsCpus || q.xpsCpus.length === 0)
  if (unset.length === 0)
    return [
      {
        area: 'xps',
        level: 'ok',
        finding: `XPS set on all ${tx.length} tx queues (${tx.map((q) => `tx-${q.queue}:${formatCpus(q.xpsCpus!)}`).join(' ')})`,
      },
    ]
  const plan = xpsPlan(c.localCpus, tx.length)
  const names = unset.length === tx.length ? 'all tx queues' : unset.map((q) => `tx-${q.queue}`).join(', ')
  return [
    {
      area: 'xps',
      level: 'warn',
      finding: `XPS unset on ${names} (${unset.length} of ${tx.length})`,
      recommendation: `map tx-K to CPU K: ${plan.map((cpus, k) => `tx-${k}:${formatCpus(cpus) || '-'}`).join(' ')}`,
      commands: plan.map(
        (cpus, k) =>
          `${ns(c)}sh -c 'echo ${formatCpuMask(cpus)} > /sys/class/net/${c.dev}/queues/tx-${k}/xps_cpus'`,
      ),
      reason:
        'without XPS the tx queue comes from the flow hash, so a CPU often sends on a queue whose completion interrupt another CPU handles (cache-line bouncing, queue lock contention)',
    },
  ]
}

function rpsFindings(c: DeviceConfig): Finding[] {
  const out: Finding[] = []
  const rx = c.rxQueues
  const withRps = rx.filter((q) => q.rpsCpus.length > 0)
  const cpus = c.localCpus.length
  if (withRps.length === 0 && rx.length < cpus) {
    out.push({
      area: 'rps',
      level: 'info',
      finding: `RPS off with ${rx.length} rx queue(s) for ${cpus} CPUs`,
      recommendation: `if more hardware queues are not possible, RPS spreads protocol processing: echo ${formatCpuMask(c.localCpus)} > /sys/class/net/${c.dev}/queues/rx-K/rps_cpus`,
      reason:
        'RPS hashes each received packet to a CPU in the mask and hands it over with an IPI: it costs a little per packet and helps when rx queues are fewer than busy CPUs',
    })
  } else if (withRps.length > 0 && rx.length >= cpus) {
    out.push({
      area: 'rps',
      level: 'info',
      finding: `RPS on (${withRps.map((q) => `rx-${q.queue}:${formatCpus(q.rpsCpus)}`).join(' ')}) with one rx queue per CPU`,
      recommendation:
        'with as many queues as CPUs RPS adds an IPI per packet batch for no spread: clear it (echo 0 > rps_cpus)',
    })
  } else {
    out.push({
      area: 'rps',
      level: 'ok',
      finding: withRps.length
        ? `RPS on for ${withRps.length} of ${rx.length} rx queues`
        : `RPS off; ${rx.length} rx queue(s) for ${cpus} CPUs`,
    })
  }
  const noFlowCnt = rx.filter((q) => q.rpsFlowCnt === 0)
  if (c.rpsSockFlowEntries === 0) {
    out.push({
      area: 'rfs',
      level: 'info',
      finding: 'RFS off (net.core.rps_sock_flow_entries = 0)',
      recommendation:
        withRps.length > 0
          ? `sysctl -w net.core.rps_sock_flow_entries=32768 and rps_flow_cnt=${Math.floor(32768 / Math.max(1, rx.length))} per rx queue`
          : undefined,
      reason:
        "RFS steers a flow's packets to the CPU where its application reads them; it acts only where RPS (or accelerated RFS) is on",
    })
  } else if (noFlowCnt.length > 0) {
    out.push({
      area: 'rfs',
      level: 'warn',
      finding: `rps_sock_flow_entries = ${c.rpsSockFlowEntries} but rps_flow_cnt is 0 on ${noFlowCnt.map((q) => `rx-${q.queue}`).join(', ')}`,
      recommendation: `echo ${Math.floor(c.rpsSockFlowEntries / Math.max(1, rx.length))} > /sys/class/net/${c.dev}/queues/rx-K/rps_flow_cnt`,
      reason:
        'the global table alone does nothing: each rx queue needs its own flow table for RFS to act on it',
    })
  } else {
    out.push({
      area: 'rfs',
      level: 'ok',
      finding: `RFS on: ${c.rpsSockFlowEntries} socket flow entries, rps_flow_cnt ${rx.map((q) => q.rpsFlowCnt).join('/')}`,
    })
  }
  return out
}

function offloadFindings(c: DeviceConfig): Finding[] {
  const o = c.offloads
  if (Object.keys(o).length === 0)
    return [{area: 'offloads', level: 'info', finding: 'offloads unknown (ethtool -k gave nothing)'}]
  const out: Finding[] = []
  const k = `${ns(c)}ethtool -K ${c.dev}`
  if (o['generic-receive-offload'] === false) {
    out.push({
      area: 'offloads',
      level: 'warn',
      finding: 'GRO off',
      recommendation: `turn it on: \`${k} gro on\``,
      commands: [`${k} gro on`],
      reason:
        c.driver?.driver === 'veth'
          ? 'GRO merges received segments before the stack; veth also uses its per-queue NAPI (receive work spread over queues) only with GRO on'
          : 'GRO merges received segments so the stack handles one large packet instead of many',
    })
  }
  if (o['generic-segmentation-offload'] === false)
    out.push({
      area: 'offloads',
      level: 'warn',
      finding: 'GSO off',
      recommendation: `\`${k} gso on\``,
      commands: [`${k} gso on`],
      reason:
        'without GSO the stack segments every large send itself, one packet at a time, through the whole tx path',
    })
  if (o['tcp-segmentation-offload'] === false)
    out.push({
      area: 'offloads',
      level: 'info',
      finding: 'TSO off',
      recommendation: `\`${k} tso on\` where the device supports it`,
      reason:
        'TSO moves TCP segmentation to the device (or, for virtio-net, to the host), saving CPU per byte sent',
    })
  const on = ['generic-receive-offload', 'generic-segmentation-offload', 'tcp-segmentation-offload'].filter(
    (f) => o[f],
  )
  if (out.length === 0)
    out.push({
      area: 'offloads',
      level: 'ok',
      finding: `${on.map((f) => ({'generic-receive-offload': 'GRO', 'generic-segmentation-offload': 'GSO', 'tcp-segmentation-offload': 'TSO'})[f]).join(', ')} on`,
    })
  return out
}

function qdiscFindings(c: DeviceConfig): Finding[] {
  const q = c.rootQdisc
  if (!q) return [{area: 'qdisc', level: 'info', finding: 'root qdisc unknown (tc gave nothing)'}]
  if (c.txQueues.length > 1 && !['mq', 'noqueue', 'mqprio', 'taprio'].includes(q)) {
    const cmd = `${c.netns ? `tc -n ${c.netns}` : 'tc'} qdisc replace dev ${c.dev} root mq`
    return [
      {
        area: 'qdisc',
        level: 'warn',
        finding: `root qdisc ${q} on ${c.txQueues.length} tx queues`,
        recommendation: `\`${cmd}\``,
        commands: [cmd],
        reason:
          'a single root qdisc is one lock that every CPU takes to send; mq gives each tx queue its own child qdisc',
      },
    ]
  }
  return [
    {
      area: 'qdisc',
      level: 'ok',
      finding: `root qdisc ${q}${q === 'mq' ? ': one child qdisc per tx queue' : q === 'noqueue' ? ': no queueing layer (virtual device)' : ''}`,
    },
  ]
}

function numaFindings(c: DeviceConfig): Finding[] {
  if (c.numaNode === undefined) return []
  return [
    {
      area: 'numa',
      level: 'info',
      finding: `${c.dev} sits on NUMA node ${c.numaNode} (CPUs ${formatCpus(c.localCpus)})`,
      reason: 'queue interrupts and the applications using the device are best kept on this node',
    },
  ]
}

export function tuneFindings(c: DeviceConfig): Finding[] {
  return [
    ...channelFindings(c),
    ...numaFindings(c),
    ...irqFindings(c),
    ...xpsFindings(c),
    ...rpsFindings(c),
    ...offloadFindings(c),
    ...qdiscFindings(c),
  ]
}
