// Why a sweep does not scale: the one fact a person needs after `scale`, computed from figures the
// results file keeps (per-CPU time, per-queue traffic, device and queue drops), each verdict with
// the numbers behind it. The checks run in a fixed order, strongest evidence first; the first
// that holds is the verdict:
//   one queue    the sessions' own queues (rr with attribution) single one out: several sessions on
//                it while another carried none, or its sessions' p99 several times the others'
//   cpu          every CPU the workload may use was busy at the smallest queue count: no CPU was
//                free to serve another queue
//   one CPU      one CPU saturated while another had room: the queues' work all lands on it
//   queue        flows hashed unevenly: more queues, but the traffic stayed on a few
//   backend      drops (relay, device, queues) rose with load: the far end or the relay keeps up less
//   none         scaling was good, or the limit is outside what mqbench observes (it says which)
import type {ResultsFile} from './schema.js'
import {busyMs, type ScalingSummary, type StepSummary} from './stats.js'

/** A CPU this busy (user+sys+softirq+irq, percent of its time) has no room for another queue. */
export const SATURATED_PCT = 85
/** Every CPU this busy at the smallest queue count, and saturated at a larger one: no room was left. */
export const NEARLY_PCT = 75
/** A CPU below this while another is saturated had room the work did not reach. */
export const ROOM_PCT = 60
/** Efficiency (speed-up / queue ratio) at the largest queue count at which scaling counts as good. */
export const GOOD_EFFICIENCY = 0.8
/** Past the count where the CPUs saturated, more queues gaining less than this (10%) gained nothing worth it. */
export const LATER_GAIN = 0.1
/** Drops above this share of the traffic, and growing with load, point at the backend. */
export const DROP_SHARE = 0.01

export type LimitKind = 'cpu' | 'one CPU' | 'one queue' | 'queue imbalance' | 'backend' | 'none found'

export interface LimitVerdict {
  kind: LimitKind
  /** one sentence: what limits scaling and why more queues cannot (or can) help */
  headline: string
  /** the figures behind it, one line each */
  evidence: string[]
  /** what to try, when there is something to try */
  advice?: string
}

const q = (n: number) => `${n} queue${n === 1 ? '' : 's'}`
const pctText = (v: number) => `${Math.round(v)}%`

/** Percent busy per CPU over a step's iterations (not split by kind: saturation is the question). */
function busyPerCpu(results: ResultsFile, queueCount: number): Map<number, number> {
  const acc = new Map<number, {busy: number; total: number}>()
  for (const it of results.steps.find((s) => s.queueCount === queueCount)?.iterations ?? [])
    for (const c of it.cpu) {
      const a = acc.get(c.cpu) ?? {busy: 0, total: 0}
      const b = busyMs(c)
      a.busy += b
      a.total += b + c.idleMs + c.iowaitMs + c.stealMs
      acc.set(c.cpu, a)
    }
  return new Map([...acc].map(([cpu, a]) => [cpu, a.total > 0 ? (100 * a.busy) / a.total : 0]))
}

/** The CPUs the workload may use: the pinned sets when the whole run was pinned, else every CPU measured. */
function usableCpus(results: ResultsFile, measured: number[]): {cpus: number[]; why: string} {
  const pinned = results.config.pinnedCpus
  if (pinned?.workload && pinned.workload.length > 0) {
    const set = [...new Set([...pinned.workload, ...(pinned.relay ?? [])])].sort((a, b) => a - b)
    return {cpus: set.filter((c) => measured.includes(c)), why: `the pinned CPUs ${set.join(',')}`}
  }
  return {cpus: measured, why: measured.length === 2 ? 'both CPUs' : `all ${measured.length} CPUs`}
}

function cpuList(busy: Map<number, number>, cpus: number[]): string {
  return cpus.map((c) => `CPU ${c} ${pctText(busy.get(c) ?? 0)}`).join(', ')
}

/** Share of the traffic dropped at a step: queue and device drops over the packets the queues carried. */
function dropShare(results: ResultsFile, step: StepSummary): {drops: number; packets: number; share: number} {
  let packets = 0
  let extra = 0
  for (const it of results.steps.find((s) => s.queueCount === step.queueCount)?.iterations ?? []) {
    packets += it.queues.reduce((a, x) => a + x.txPackets + x.rxPackets, 0)
    if (it.result.workload === 'gen') {
      if (packets === 0) packets += it.result.packets
      extra += (it.result.rx?.socketDrops ?? 0) + (it.result.rx?.lost ?? 0)
    }
  }
  const drops = step.queues.drops + step.deviceDrops + extra
  return {drops, packets, share: packets > 0 ? drops / packets : 0}
}

/** Queue interrupts at a step, summed per CPU (only lines that name a queue). */
function queueIrqsPerCpu(results: ResultsFile, queueCount: number): number[] {
  const per: number[] = []
  for (const it of results.steps.find((s) => s.queueCount === queueCount)?.iterations ?? [])
    for (const irq of it.interrupts)
      if (irq.queue !== undefined) irq.perCpu.forEach((n, cpu) => (per[cpu] = (per[cpu] ?? 0) + n))
  return per
}

/** What every judge of a sweep reads: its steps, the CPUs the workload could use and how busy they were. */
interface Sweep {
  results: ResultsFile
  summary: ScalingSummary
  steps: StepSummary[]
  base: StepSummary
  last: StepSummary
  /** "speed-up 1.80 at 2 queues, ..." */
  scaling: string
  usable: {cpus: number[]; why: string}
  baseBusy: Map<number, number>
  /** the first step past the smallest at which every usable CPU was saturated */
  saturatedLater?: {step: StepSummary; busy: Map<number, number>}
  /** every usable CPU at least `min` busy */
  all(busy: Map<number, number>, min: number): boolean
  /** "80-95%" over the usable CPUs */
  range(busy: Map<number, number>): string
}

function sweepOf(results: ResultsFile, summary: ScalingSummary): Sweep {
  const steps = summary.steps
  const base = steps[0]
  const baseBusy = busyPerCpu(results, base.queueCount)
  const usable = usableCpus(
    results,
    [...baseBusy.keys()].sort((a, b) => a - b),
  )
  const all = (busy: Map<number, number>, min: number) =>
    usable.cpus.length > 0 && usable.cpus.every((c) => (busy.get(c) ?? 0) >= min)
  const range = (busy: Map<number, number>) => {
    const v = usable.cpus.map((c) => Math.round(busy.get(c) ?? 0))
    const [lo, hi] = [Math.min(...v), Math.max(...v)]
    return lo === hi ? `${lo}%` : `${lo}-${hi}%`
  }
  const saturatedLater = steps
    .slice(1)
    .map((s) => ({step: s, busy: busyPerCpu(results, s.queueCount)}))
    .find((x) => all(x.busy, SATURATED_PCT))
  const scaling = `speed-up ${steps
    .slice(1)
    .map((s) => `${s.speedup.value.toFixed(2)} at ${q(s.queueCount)}`)
    .join(', ')}`
  return {
    results,
    summary,
    steps,
    base,
    last: steps.at(-1)!,
    scaling,
    usable,
    baseBusy,
    saturatedLater,
    all,
    range,
  }
}

type Judge = (s: Sweep) => LimitVerdict | undefined

// Under TCG every vCPU is emulated by a host thread: the guest's figures say that the paths
// work, not how they scale, and no advice about locks or CPUs would apply to real hardware.
const underTcg: Judge = ({results, scaling}) => {
  const guest = results.config.testbed.guest
  if (guest?.accel !== 'tcg') return undefined
  return {
    kind: 'none found',
    headline: `the guest ran under TCG (${guest.accelReason}): its figures are functional only, so TCG gives no scaling verdict; run it where KVM can (--accel kvm) for one`,
    evidence: [scaling],
  }
}

const scaledWell: Judge = ({summary, base, last, scaling}) =>
  last.efficiency.value >= GOOD_EFFICIENCY
    ? {
        kind: 'none found',
        headline: `scaling was good: ${q(last.queueCount)} gave ${last.speedup.value.toFixed(2)}x the ${summary.metric.label} of ${q(base.queueCount)} (efficiency ${pctText(100 * last.efficiency.value)})`,
        evidence: [scaling],
      }
    : undefined

/**
 * one queue: each session's recorded queue is direct evidence, stronger than CPU time: with the
 * sessions crowded on one queue, no CPU or queue count can spread them. The largest step with a
 * finding names it.
 */
const oneQueue: Judge = ({steps, scaling}) => {
  const named = [...steps].reverse().find((s) => s.queueCount > 1 && s.sessionQueues?.finding)
  if (!named) return undefined
  const f = named.sessionQueues!.finding!
  return {
    kind: 'one queue',
    headline: `queue ${f.queue} at ${q(named.queueCount)}: ${f.text}`,
    evidence: [
      ...named.sessionQueues!.queues.map(
        (x) =>
          `queue ${x.queue}: ${x.sessions.toFixed(1)} sessions, p99 ${x.latency.p99.toFixed(1)} us (attributed by ${named.sessionQueues!.methods.join(', ')})`,
      ),
      scaling,
    ],
    advice:
      f.kind === 'crowded'
        ? "spread the senders over the queues: XPS (`mqbench tune`), the senders' pinning (--client-cpus), or more sessions than queues"
        : "look at what serves that queue: its interrupt's CPU (shared with the application?), its relay worker",
  }
}

// cpu: every usable CPU was saturated at the smallest queue count, or nearly so there and
// saturated once more queues took the rest.
const cpuFromTheStart: Judge = ({base, baseBusy, usable, saturatedLater, all, range, scaling}) => {
  if (!(all(baseBusy, SATURATED_PCT) || (all(baseBusy, NEARLY_PCT) && saturatedLater))) return undefined
  const later = saturatedLater
    ? ` and ${range(saturatedLater.busy)} at ${q(saturatedLater.step.queueCount)}`
    : ''
  return {
    kind: 'cpu',
    headline: `more queues cannot help here: ${usable.why} were already ${range(baseBusy)} busy at ${q(base.queueCount)}${later}, so no CPU was free for another queue`,
    evidence: [
      `CPU busy at ${q(base.queueCount)}: ${cpuList(baseBusy, usable.cpus)}`,
      ...(saturatedLater
        ? [`CPU busy at ${q(saturatedLater.step.queueCount)}: ${cpuList(saturatedLater.busy, usable.cpus)}`]
        : []),
      scaling,
    ],
    advice:
      'measure on a machine (or guest) with more CPUs, or lower the cost per packet; queue counts above the CPU count cannot pay',
  }
}

// cpu, later: the CPUs had room at the smallest count and ran out at a larger one, after which
// more queues bought (next to) nothing.
const cpuLater: Judge = ({base, last, baseBusy, usable, saturatedLater, range, scaling}) => {
  const gainAfter = saturatedLater ? last.metric.mean / saturatedLater.step.metric.mean : Infinity
  if (!saturatedLater || gainAfter >= 1 + LATER_GAIN) return undefined
  const k = saturatedLater.step.queueCount
  return {
    kind: 'cpu',
    headline: `the CPUs ran out at ${q(k)}: ${usable.why} were ${range(saturatedLater.busy)} busy there, so more queues had no CPU to run on`,
    evidence: [
      `CPU busy at ${q(base.queueCount)}: ${cpuList(baseBusy, usable.cpus)}`,
      `CPU busy at ${q(k)}: ${cpuList(saturatedLater.busy, usable.cpus)}`,
      `${q(last.queueCount)} gave ${pctText(100 * (gainAfter - 1))} more than ${q(k)}`,
      scaling,
    ],
    advice: `keep the queue count at or below the CPUs that serve it; more CPUs would let more queues pay`,
  }
}

// one CPU: at some step past the first, one CPU saturated while another had room.
const oneCpu: Judge = ({results, summary, steps, usable, scaling}) => {
  for (const step of steps.slice(1)) {
    const busy = busyPerCpu(results, step.queueCount)
    const cpus = [...busy.keys()].filter((c) => usable.cpus.includes(c))
    const hot = cpus.filter((c) => (busy.get(c) ?? 0) >= SATURATED_PCT)
    const idle = cpus.filter((c) => (busy.get(c) ?? 0) < ROOM_PCT)
    if (hot.length !== 1 || idle.length === 0) continue
    const irqs = queueIrqsPerCpu(results, step.queueCount)
    const irqTotal = irqs.reduce((a, n) => a + (n ?? 0), 0)
    const evidence = [`CPU busy at ${q(step.queueCount)}: ${cpuList(busy, cpus)}`]
    const split = summary.steps
      .find((s) => s.queueCount === step.queueCount)
      ?.cpu.find((c) => c.cpu === hot[0])
    if (split)
      evidence.push(`CPU ${hot[0]}: ${pctText(split.softirqPct + split.irqPct)} in interrupts and softirq`)
    if (irqTotal > 0)
      evidence.push(
        `queue interrupts on CPU ${hot[0]}: ${pctText((100 * (irqs[hot[0]] ?? 0)) / irqTotal)} of ${irqTotal}`,
      )
    const relay = results.config.pinnedCpus?.relay
    if (relay?.includes(hot[0])) evidence.push(`the relay workers are pinned to CPUs ${relay.join(',')}`)
    evidence.push(scaling)
    return {
      kind: 'one CPU',
      headline: `one CPU did the work: CPU ${hot[0]} was ${pctText(busy.get(hot[0]) ?? 0)} busy at ${q(step.queueCount)} while CPU ${idle.join(', ')} had room (${idle.map((c) => pctText(busy.get(c) ?? 0)).join(', ')})`,
      evidence,
      advice:
        'spread the queues over the CPUs: IRQ affinity, XPS and RPS (`mqbench tune` shows and sets them), or --relay-cpus for the tap relay',
    }
  }
  return undefined
}

// queue imbalance: the flows hashed unevenly onto the queues.
const queueImbalance: Judge = ({steps, scaling}) => {
  const uneven = steps.filter(
    (s) => s.queues.source !== null && s.queues.verdict !== 'ok' && s.queueCount > 1,
  )
  if (uneven.length === 0) return undefined
  return {
    kind: 'queue imbalance',
    headline: `the traffic did not spread over the queues: ${uneven.map((s) => `${s.queues.verdict} at ${q(s.queueCount)}`).join(', ')}`,
    evidence: [
      ...uneven.map(
        (s) => `shares at ${q(s.queueCount)}: ${s.queues.shares.map((v) => pctText(100 * v)).join('/')}`,
      ),
      scaling,
    ],
    advice: 'use more sessions (flows) than queues, or check the RSS hash (`ethtool -n DEV rx-flow-hash`)',
  }
}

// backend: drops grew with load.
const backend: Judge = ({results, steps}) => {
  const drops = steps.map((s) => ({step: s, ...dropShare(results, s)}))
  const first = drops[0]
  const worst = drops.slice(1).reduce((a, b) => (b.share > a.share ? b : a))
  if (!(worst.share >= DROP_SHARE && worst.share > 2 * first.share)) return undefined
  return {
    kind: 'backend',
    headline: `drops rose with load: ${pctText(100 * worst.share)} of the traffic at ${q(worst.step.queueCount)} against ${(100 * first.share).toFixed(2)}% at ${q(first.step.queueCount)}; the relay or the device fell behind`,
    evidence: drops.map(
      (d) => `${q(d.step.queueCount)}: ${d.drops} dropped of ${d.packets} (${(100 * d.share).toFixed(2)}%)`,
    ),
    advice: 'look at the far end: the relay workers (--relay-cpus), the receiving device or server',
  }
}

const nothingSinglesOut = ({results, base, last, baseBusy, usable, scaling}: Sweep): LimitVerdict => {
  const lastBusy = busyPerCpu(results, last.queueCount)
  return {
    kind: 'none found',
    headline: `scaling fell short (efficiency ${pctText(100 * last.efficiency.value)} at ${q(last.queueCount)}), and what mqbench observes does not single out a cause: the CPUs kept room until more queues stopped paying, no single CPU carried the work, the queues were used evenly and drops stayed below ${100 * DROP_SHARE}%`,
    evidence: [
      `CPU busy at ${q(base.queueCount)}: ${cpuList(baseBusy, usable.cpus)}`,
      `CPU busy at ${q(last.queueCount)}: ${cpuList(lastBusy, usable.cpus)}`,
      scaling,
    ],
    advice: 'look at locks and the network stack with perf, or at the server and the path beyond the testbed',
  }
}

/** The judges in the order of the file's opening comment, strongest evidence first. */
const JUDGES: Judge[] = [
  underTcg,
  scaledWell,
  oneQueue,
  cpuFromTheStart,
  cpuLater,
  oneCpu,
  queueImbalance,
  backend,
]

export function limitedBy(results: ResultsFile, summary: ScalingSummary): LimitVerdict {
  if (summary.steps.length < 2)
    return {
      kind: 'none found',
      headline: `only ${q(summary.steps[0].queueCount)} measured: there is no scaling to explain`,
      evidence: [],
    }
  const sweep = sweepOf(results, summary)
  for (const judge of JUDGES) {
    const verdict = judge(sweep)
    if (verdict) return verdict
  }
  return nothingSinglesOut(sweep)
}

/** The verdict as one line for a terminal, with its evidence after it. */
export function limitedByText(v: LimitVerdict): string {
  return `limited by: ${v.kind}: ${v.headline}${v.evidence.length ? ` (${v.evidence.join('; ')})` : ''}`
}
