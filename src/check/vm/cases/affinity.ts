// tp-qemu's affinity checks (multi_queues_test's interrupt placement): virtio_net gives queue k's
// interrupts an affinity hint of its own vCPU(s) and maps those vCPUs to TX queue k by XPS. The
// case reads each queue interrupt's affinity_hint and smp_affinity, the XPS masks, then for each
// vCPU pins the guest's session server to it (one TCP_RR flow): the replies must leave on that
// vCPU's TX queue and the NIC's interrupts must rise on that vCPU. Pinning makes it deterministic
// under TCG: the queue is chosen by the sending CPU (XPS), and tun steers the flow's host-to-guest
// packets to the queue the guest last sent it on.
import type {InterruptDelta} from '../../../results/schema.js'
import {GUEST_DEV} from '../../../testbed/vm.js'
import type {QueueInterrupt} from '../../../observe/interrupts.js'
import {formatCpuMask} from '../../../observe/sysfs.js'
import {readIrqAffinity, readXps, writeXps, type IrqAffinity} from '../guest-irq.js'
import {readGuestFacts} from '../guest-facts.js'
import {notApplicable, verdict} from '../judge.js'
import {rrLoad} from '../rr-load.js'
import {loadFigure} from '../figures.js'
import type {CaseOutcome, LoadFigure, PlanCheck, VmCase} from '../types.js'

/** A queue's share of traffic or interrupts under which a pinned flow is not "on" it. */
export const MIN_SHARE = 0.8

const cpus = (c: number[]) => (c.length ? c.join(',') : 'none')
const sameSet = (a: number[], b: number[]) => a.length === b.length && a.every((x) => b.includes(x))

export interface QueueAffinity {
  queue: number
  lines: Array<{name: string} & IrqAffinity>
}

/** Each queue's lines with their masks (the queue lines of a snapshot and /proc/irq's reading). */
export function queueAffinities(lines: QueueInterrupt[], read: IrqAffinity[], n: number): QueueAffinity[] {
  return Array.from({length: n}, (_, queue) => ({
    queue,
    lines: lines
      .filter((l) => l.queue === queue)
      .map((l) => ({
        name: l.name,
        ...(read.find((r) => r.irq === l.irq) ?? {irq: l.irq, hint: [], affinity: []}),
      })),
  }))
}

/** The vCPUs of a queue: its lines' common affinity hint ([] when they have none or disagree). */
export function queueCpus(q: QueueAffinity): number[] {
  const [first] = q.lines
  return first && first.hint.length && q.lines.every((l) => sameSet(l.hint, first.hint)) ? first.hint : []
}

export function judgeIrqAffinity(qs: QueueAffinity[]): PlanCheck {
  const t = "each queue's interrupts have a vCPU of their own (affinity_hint) and follow it (smp_affinity)"
  const parts = qs.map(
    (q) =>
      `q${q.queue} ${q.lines.map((l) => `${l.name.replace(/^virtio\d+-/, '')} hint ${cpus(l.hint)} aff ${cpus(l.affinity)}`).join(', ')}`,
  )
  const own = qs.map(queueCpus)
  const overlap = own.some((a, i) => a.some((c) => own.some((b, j) => j !== i && b.includes(c))))
  const follow = qs.every(
    (q) => q.lines.length === 2 && q.lines.every((l) => l.affinity.every((c) => l.hint.includes(c))),
  )
  return verdict('irq-affinity', t, own.every((c) => c.length > 0) && !overlap && follow, parts.join('; '))
}

export function judgeXps(qs: QueueAffinity[], xps: number[][]): PlanCheck {
  const t = "XPS sends each queue's vCPUs on that queue's TX queue"
  const bad = qs.filter((q) => !sameSet(xps[q.queue] ?? [], queueCpus(q)))
  return verdict(
    'xps',
    t,
    bad.length === 0,
    qs
      .map((q) => `tx-${q.queue} xps ${cpus(xps[q.queue] ?? [])} (irq vCPUs ${cpus(queueCpus(q))})`)
      .join(', '),
  )
}

export interface PinnedFlow {
  cpu: number
  /** the queue whose interrupts are affine to `cpu` */
  queue: number
  /** tx packets per TX queue over the run (ethtool -S) */
  txPackets: number[]
  interrupts: InterruptDelta[]
  transactionsPerSecond: number
}

export function judgeFlows(flows: PinnedFlow[]): PlanCheck[] {
  const txq = flows.map((f) => {
    const all = f.txPackets.reduce((a, b) => a + b, 0)
    return {f, share: all ? (f.txPackets[f.queue] ?? 0) / all : 0, all}
  })
  const irq = flows.map((f) => {
    const all = f.interrupts.reduce((a, d) => a + d.total, 0)
    const on = f.interrupts.reduce((a, d) => a + (d.perCpu[f.cpu] ?? 0), 0)
    return {f, share: all ? on / all : 0, all, on}
  })
  return [
    verdict(
      'flow-txq',
      `a flow pinned to a vCPU leaves on that vCPU's TX queue (at least ${MIN_SHARE * 100}% of its packets)`,
      txq.every((x) => x.all > 0 && x.share >= MIN_SHARE),
      txq
        .map(
          (x) =>
            `vCPU ${x.f.cpu}: tx packets ${x.f.txPackets.map((p, q) => `tx-${q} +${p}`).join(' ')} (${Math.round(x.share * 100)}% on tx-${x.f.queue})`,
        )
        .join('; '),
    ),
    verdict(
      'flow-irq',
      `its interrupts rise on that vCPU (at least ${MIN_SHARE * 100}% of the NIC's queue interrupts)`,
      irq.every((x) => x.all > 0 && x.share >= MIN_SHARE),
      irq
        .map((x) => `vCPU ${x.f.cpu}: ${x.on} of ${x.all} queue interrupts (${Math.round(x.share * 100)}%)`)
        .join('; '),
    ),
  ]
}

export interface AffinityOptions {
  /** the broken setup of the test: XPS crossed (each queue's vCPUs sent on the next queue) */
  crossXps?: boolean
}

export function makeAffinityCase(o: AffinityOptions = {}): VmCase {
  return {
    id: 'affinity',
    title: 'per-queue interrupt affinity and XPS; a pinned flow stays on its vCPU',
    source: 'tp-qemu',
    set: 'default',
    boundMs: (p) => 60_000 + p.vcpus * (p.durationMs + 15_000),
    async run(ctx): Promise<CaseOutcome> {
      const bed = await ctx.shared()
      const vcpus = bed.setup.vcpus
      const n = Math.min(bed.queueCount(), vcpus)
      if (n < 2)
        return {
          checks: [
            notApplicable(
              'irq-affinity',
              'per-queue affinity',
              `${n} queue pair on ${vcpus} vCPUs: nothing to place`,
            ),
          ],
        }
      ctx.phase('reading affinity_hint, smp_affinity and xps_cpus')
      const facts = await readGuestFacts(bed)
      const lines = facts.snapshot.queueInterrupts
      const qs = queueAffinities(
        lines,
        await readIrqAffinity(
          bed,
          lines.map((l) => l.irq),
        ),
        n,
      )
      const original = await readXps(bed, GUEST_DEV)
      const masks = original.map(formatCpuMask)
      try {
        if (o.crossXps)
          await writeXps(
            bed,
            GUEST_DEV,
            masks.map((_, q) => masks[(q + 1) % masks.length]),
          )
        const checks = [judgeIrqAffinity(qs), judgeXps(qs, await readXps(bed, GUEST_DEV))]
        const flows: PinnedFlow[] = []
        const loads: LoadFigure[] = []
        for (const q of qs) {
          const [cpu] = queueCpus(q)
          if (cpu === undefined) continue
          ctx.phase(`one TCP_RR flow with the guest's server pinned to vCPU ${cpu}`)
          const run = await rrLoad(bed, GUEST_DEV, {
            sessions: 1,
            durationMs: ctx.params.durationMs,
            signal: ctx.signal,
            cpus: [cpu],
          })
          loads.push(
            loadFigure(
              {
                label: `1 TCP_RR flow, guest server pinned to vCPU ${cpu}`,
                workloads: ['tcp_rr'],
                sessions: 1,
                queues: n,
                durationMs: ctx.params.durationMs,
                transactionsPerSecond: run.transactionsPerSecond,
              },
              run,
            ),
          )
          const prev = new Map(run.before.ethtoolQueues.map((e) => [e.queue, e.tx.packets ?? 0]))
          flows.push({
            cpu,
            queue: q.queue,
            txPackets: Array.from(
              {length: n},
              (_, k) =>
                (run.after.ethtoolQueues.find((e) => e.queue === k)?.tx.packets ?? 0) - (prev.get(k) ?? 0),
            ),
            interrupts: run.interrupts,
            transactionsPerSecond: run.transactionsPerSecond,
          })
        }
        checks.push(...judgeFlows(flows))
        return {checks, figures: {loads, flows: flows.map(({interrupts: _, ...f}) => f)}}
      } finally {
        if (o.crossXps) await writeXps(bed, GUEST_DEV, masks)
      }
    },
  }
}

export const affinityCase = makeAffinityCase()
