// /proc/net/softnet_stat: one line per online CPU, hex columns. Column 1 processed, 2 dropped
// (backlog full), 3 time_squeeze (net_rx_action ran out of budget or time), 10 received_rps
// (RPS/RFS IPIs received), 11 flow_limit_count, 13 the CPU number (kernel 5.10+). Older kernels
// print 11 columns and skip offline CPUs, so there the line index is only a guess at the CPU.
import type {SoftnetDelta} from '../results/schema.js'

export interface SoftnetRow {
  cpu: number
  processed: number
  dropped: number
  timeSqueeze: number
  receivedRps: number
  flowLimit: number
  /** packets waiting in the backlog when read (not a counter) */
  backlogLen?: number
}

export function parseSoftnetStat(text: string): SoftnetRow[] {
  const out: SoftnetRow[] = []
  const rows = text.split('\n').filter((l) => l.trim())
  rows.forEach((row, index) => {
    const c = row
      .trim()
      .split(/\s+/)
      .map((h) => Number.parseInt(h, 16))
    if (c.length < 3 || c.some((n) => Number.isNaN(n))) return
    const r: SoftnetRow = {
      cpu: c.length >= 13 ? c[12] : index,
      processed: c[0],
      dropped: c[1],
      timeSqueeze: c[2],
      receivedRps: c[9] ?? 0,
      flowLimit: c[10] ?? 0,
    }
    if (c.length >= 12) r.backlogLen = c[11]
    out.push(r)
  })
  return out
}

// The counters are 32-bit (printed with %08x) and wrap on a busy CPU.
const wrap = (before: number, after: number) => (after >= before ? after - before : after + 2 ** 32 - before)

/** Per-CPU deltas; a CPU that appears only in `after` (brought online) counts from zero. */
export function softnetDeltas(before: SoftnetRow[], after: SoftnetRow[]): SoftnetDelta[] {
  const prev = new Map(before.map((r) => [r.cpu, r]))
  return after.map((a) => {
    const b = prev.get(a.cpu) ?? {processed: 0, dropped: 0, timeSqueeze: 0, receivedRps: 0, flowLimit: 0}
    return {
      cpu: a.cpu,
      processed: wrap(b.processed, a.processed),
      dropped: wrap(b.dropped, a.dropped),
      timeSqueeze: wrap(b.timeSqueeze, a.timeSqueeze),
      receivedRps: wrap(b.receivedRps, a.receivedRps),
      flowLimit: wrap(b.flowLimit, a.flowLimit),
    }
  })
}
