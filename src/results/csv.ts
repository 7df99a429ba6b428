// Per-step figures as CSV (RFC 4180), one row per run and queue count, for spreadsheets: the same
// numbers the report's tables show, unrounded.
import type {ScalingSummary} from './stats.js'

const COLUMNS = [
  'run',
  'queue_count',
  'iterations',
  'metric',
  'unit',
  'mean',
  'median',
  'stddev',
  'min',
  'max',
  'ci_low',
  'ci_high',
  'speedup',
  'speedup_ci_low',
  'speedup_ci_high',
  'efficiency',
  'efficiency_ci_low',
  'efficiency_ci_high',
  'latency_p50_us',
  'latency_p90_us',
  'latency_p99_us',
  'latency_p999_us',
  'latency_max_us',
  'service_demand',
  'service_demand_unit',
  'cpu_user_pct',
  'cpu_sys_pct',
  'cpu_softirq_pct',
  'cpu_irq_pct',
  'queue_verdict',
  'queue_shares',
  'queue_source',
  'drops',
  'device_drops',
  'errors',
  'stalled_sessions',
] as const

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return ''
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

const avg = (xs: number[]) => (xs.length > 0 ? xs.reduce((s, v) => s + v, 0) / xs.length : null)

export function stepsCsv(runs: Array<{label: string; summary: ScalingSummary}>): string {
  const lines = [COLUMNS.join(',')]
  for (const {label, summary} of runs) {
    for (const s of summary.steps) {
      const row: Record<(typeof COLUMNS)[number], string | number | null | undefined> = {
        run: label,
        queue_count: s.queueCount,
        iterations: s.iterations,
        metric: summary.metric.label,
        unit: summary.metric.unit,
        mean: s.metric.mean,
        median: s.metric.median,
        stddev: s.metric.stddev,
        min: s.metric.min,
        max: s.metric.max,
        ci_low: s.metric.ci?.low,
        ci_high: s.metric.ci?.high,
        speedup: s.speedup.value,
        speedup_ci_low: s.speedup.ci?.low,
        speedup_ci_high: s.speedup.ci?.high,
        efficiency: s.efficiency.value,
        efficiency_ci_low: s.efficiency.ci?.low,
        efficiency_ci_high: s.efficiency.ci?.high,
        latency_p50_us: s.latency?.p50,
        latency_p90_us: s.latency?.p90,
        latency_p99_us: s.latency?.p99,
        latency_p999_us: s.latency?.p999,
        latency_max_us: s.latency?.max,
        service_demand: s.serviceDemand?.mean,
        service_demand_unit: summary.serviceDemandUnit,
        // mean over CPUs: percent of all CPUs' time, like CpuUtilisation
        cpu_user_pct: avg(s.cpu.map((c) => c.userPct)),
        cpu_sys_pct: avg(s.cpu.map((c) => c.sysPct)),
        cpu_softirq_pct: avg(s.cpu.map((c) => c.softirqPct)),
        cpu_irq_pct: avg(s.cpu.map((c) => c.irqPct)),
        queue_verdict: s.queues.verdict,
        queue_shares: s.queues.shares.map((x) => x.toFixed(4)).join(';'),
        queue_source: s.queues.source,
        drops: s.queues.drops,
        device_drops: s.deviceDrops,
        errors: s.errors,
        stalled_sessions: s.stalledSessions,
      }
      lines.push(COLUMNS.map((c) => cell(row[c])).join(','))
    }
  }
  return lines.join('\r\n') + '\r\n'
}
