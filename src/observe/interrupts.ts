// /proc/interrupts: which lines belong to one device's queues, and how many interrupts each
// queue raised on each CPU. Drivers name their queue vectors differently, so the matching is a
// table of name patterns; the queue index and direction come from the name.
import type {InterruptDelta} from '../results/schema.js'

export interface InterruptLine {
  /** "38", or "LOC"/"NMI" for the architecture's own counters */
  irq: string
  /** per-CPU counts, in the order of InterruptTable.cpus */
  counts: number[]
  /** "PCI-MSIX-0000:00:03.0", "IR-PCI-MSI", "IO-APIC" ('' for architecture counters) */
  chip: string
  /** "1-edge" (empty on kernels that print the type inside the chip name) */
  hwirq: string
  /** the action names, "virtio2-input.0", or the description of an architecture counter */
  name: string
}

export interface InterruptTable {
  /** CPU numbers of the columns, from the header (CPU0 CPU1 ...: offline CPUs have no column) */
  cpus: number[]
  lines: InterruptLine[]
}

export type QueueDirection = 'rx' | 'tx' | 'combined'

/** An interrupt line that serves a queue (or all queues, when `queue` is undefined) of a device. */
export interface QueueInterrupt {
  irq: string
  name: string
  queue?: number
  direction: QueueDirection
}

export function parseInterrupts(text: string): InterruptTable {
  const rows = text.split('\n')
  const header = rows.shift() ?? ''
  const cpus = [...header.matchAll(/CPU(\d+)/g)].map((m) => Number(m[1]))
  const lines: InterruptLine[] = []
  for (const row of rows) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(row)
    if (!m) continue
    const tokens = m[2].trim().split(/\s+/).filter(Boolean)
    const counts: number[] = []
    while (counts.length < cpus.length && tokens.length > 0 && /^\d+$/.test(tokens[0]))
      counts.push(Number(tokens.shift()))
    while (counts.length < cpus.length) counts.push(0)
    let chip = ''
    let hwirq = ''
    let name: string
    if (/^\d+$/.test(m[1])) {
      // "<chip> [<hwirq>-<type>] <names>": the hwirq token carries the trigger type; older kernels
      // print it inside the chip ("PCI-MSI-edge") and no hwirq column.
      const typeAt = tokens.findIndex((t, i) => i > 0 && /^\S*-(edge|level|fasteoi|simple|none)$/i.test(t))
      if (typeAt > 0) {
        chip = tokens.slice(0, typeAt).join(' ')
        hwirq = tokens[typeAt]
        name = tokens.slice(typeAt + 1).join(' ')
      } else {
        chip = tokens[0] ?? ''
        name = tokens.slice(1).join(' ')
      }
    } else {
      name = tokens.join(' ')
    }
    lines.push({irq: m[1], counts, chip, hwirq, name})
  }
  return {cpus, lines}
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function directionOf(word: string): QueueDirection | undefined {
  const w = word.toLowerCase()
  if (w === 'rx' || w === 'input') return 'rx'
  if (w === 'tx' || w === 'output') return 'tx'
  if (['txrx', 'rxtx', 'tx-rx', 'rx-tx', 'combined', 'fp', 'queue', 'q'].includes(w)) return 'combined'
  return undefined
}

/**
 * Matches one action name against the patterns drivers use for queue vectors:
 *  - virtio-net: `virtio2-input.3` / `virtio2-output.3`, and `virtio2-virtqueues` when the device
 *    has fewer MSI-X vectors than 2N+1 and every queue shares one interrupt;
 *  - ixgbe/igb/bnxt/ena: `eth0-TxRx-3`, `eth0-rx-3`, `eth0-tx-3`, `ens5-Tx-Rx-3`;
 *  - i40e/ice/iavf: `i40e-eth0-TxRx-3`, `ice-eth0-TxRx-3`, `iavf-eth0-TxRx-3`;
 *  - mlx5: `mlx5_comp3@pci:0000:81:00.0` (named after the PCI address, not the interface);
 *  - generic: `eth0-3`, `eth0-rx3`, `eth0-q3`.
 */
export function matchQueueInterruptName(
  name: string,
  dev: string,
  hints: {virtioName?: string; busInfo?: string} = {},
): {queue?: number; direction: QueueDirection} | undefined {
  if (hints.virtioName) {
    const v = escapeRe(hints.virtioName)
    const q = new RegExp(`^${v}-(input|output)\\.(\\d+)$`).exec(name)
    if (q) return {queue: Number(q[2]), direction: directionOf(q[1])!}
    if (new RegExp(`^${v}-virtqueues$`).test(name)) return {direction: 'combined'}
  }
  if (hints.busInfo) {
    const m = new RegExp(`^mlx\\d_comp(\\d+)@pci:${escapeRe(hints.busInfo)}$`).exec(name)
    if (m) return {queue: Number(m[1]), direction: 'combined'}
  }
  const d = escapeRe(dev)
  const m = new RegExp(
    `^(?:[a-z0-9]+-)?${d}-(?:(tx-rx|rx-tx|txrx|rxtx|rx|tx|combined|fp|queue|q)-?)?(\\d+)$`,
    'i',
  ).exec(name)
  if (m) return {queue: Number(m[2]), direction: m[1] ? directionOf(m[1])! : 'combined'}
  return undefined
}

/** The lines of `table` that serve `dev`'s queues, ordered by direction and queue. */
export function deviceQueueInterrupts(
  table: InterruptTable,
  dev: string,
  hints: {virtioName?: string; busInfo?: string} = {},
): QueueInterrupt[] {
  const out: QueueInterrupt[] = []
  for (const line of table.lines) {
    if (!/^\d+$/.test(line.irq)) continue
    // A shared line lists several actions ("eth0-rx-0, eth0-tx-0"): one match is enough.
    for (const action of line.name.split(/,\s*/)) {
      const m = matchQueueInterruptName(action, dev, hints)
      if (m) {
        out.push({irq: line.irq, name: line.name, ...m})
        break
      }
    }
  }
  const dirOrder = {rx: 0, combined: 1, tx: 2}
  return out.sort(
    (a, b) => dirOrder[a.direction] - dirOrder[b.direction] || (a.queue ?? -1) - (b.queue ?? -1),
  )
}

// /proc/interrupts prints each count as an unsigned int: a busy line can wrap between snapshots.
function counterDelta(before: number, after: number): number {
  return after >= before ? after - before : after + 2 ** 32 - before
}

/** Per-CPU deltas of the queue lines between two tables (CPUs absent from `before` count from 0). */
export function interruptDeltas(
  before: InterruptTable,
  after: InterruptTable,
  queueLines: QueueInterrupt[],
): InterruptDelta[] {
  const byIrq = (t: InterruptTable) => new Map(t.lines.map((l) => [l.irq, l]))
  const b = byIrq(before)
  const a = byIrq(after)
  const out: InterruptDelta[] = []
  for (const q of queueLines) {
    const la = a.get(q.irq)
    if (!la) continue
    const lb = b.get(q.irq)
    const perCpu = after.cpus.map((cpu, i) => {
      const j = before.cpus.indexOf(cpu)
      const prev = lb && j >= 0 ? lb.counts[j] : 0
      return counterDelta(prev, la.counts[i])
    })
    const d: InterruptDelta = {
      irq: q.irq,
      name: q.name,
      direction: q.direction,
      perCpu,
      total: perCpu.reduce((s, n) => s + n, 0),
    }
    if (q.queue !== undefined) d.queue = q.queue
    out.push(d)
  }
  return out
}

/** The CPU (from `cpus`) that took most of a delta's interrupts, or undefined when it took none. */
export function dominantCpu(delta: InterruptDelta, cpus: number[]): number | undefined {
  if (delta.total === 0) return undefined
  let best = 0
  for (let i = 1; i < delta.perCpu.length; i++) if (delta.perCpu[i] > delta.perCpu[best]) best = i
  return cpus[best] ?? best
}
