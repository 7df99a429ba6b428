// The report's charts as plain data: what each chart plots and the table of the same numbers.
// dashboards/charts.js turns a ChartSpec into a chart.js chart; the HTML renders the table. Only
// summarised figures go in (percentile points, means, intervals), never an encoded histogram, so
// a report of 8 steps x 5 iterations x 20 sessions stays small.
import type {LatencySummaryUs} from '../results/schema.js'
import type {QueueInterrupts, ScalingSummary, StepSummary} from '../results/stats.js'
import {atLeastZero, fixed, fmt, interval, pct} from '../util/format.js'

export interface Point {
  x: number | string
  y: number | null
  /** confidence interval drawn as an error bar */
  low?: number
  high?: number
}

export interface DatasetSpec {
  label: string
  data: Point[]
  /** index into the page's palette, so one run keeps one colour across charts */
  color: number
  dashed?: boolean
  errorBars?: boolean
  stack?: string
  /** bar charts: category indexes to outline as doubtful (imbalanced/unused queues) */
  flagged?: number[]
}

export interface ChartSpec {
  id: string
  title: string
  type: 'line' | 'bar'
  xLabel: string
  yLabel: string
  xScale: 'linear' | 'percentile' | 'category'
  yScale?: 'linear' | 'logarithmic'
  /** category charts: the x labels */
  categories?: string[]
  stacked?: boolean
  yMin?: number
  yMax?: number
  datasets: DatasetSpec[]
  table: {columns: string[]; rows: string[][]}
  note?: string
}

export interface RunView {
  label: string
  color: number
  summary: ScalingSummary
}

/** palette index of the neutral grey used for reference lines (dashboards/charts.js) */
const GREY = 8

const ci = interval

/** Groups runs whose figures share an axis (same unit): a Gbit/s run and a tx/s run get a chart each. */
function byUnit(runs: RunView[], unit: (r: RunView) => string): RunView[][] {
  const groups = new Map<string, RunView[]>()
  for (const r of runs) groups.set(unit(r), [...(groups.get(unit(r)) ?? []), r])
  return [...groups.values()]
}

function throughputCharts(runs: RunView[]): ChartSpec[] {
  return byUnit(runs, (r) => r.summary.metric.unit).map((group, g) => {
    const m = group[0].summary.metric
    const datasets: DatasetSpec[] = []
    const rows: string[][] = []
    for (const r of group) {
      const base = r.summary.steps[0]
      datasets.push({
        label: r.label,
        color: r.color,
        errorBars: true,
        data: r.summary.steps.map((s) => ({
          x: s.queueCount,
          y: s.metric.mean,
          low: atLeastZero(s.metric.ci?.low),
          high: s.metric.ci?.high,
        })),
      })
      datasets.push({
        label: `${r.label}: ideal linear`,
        color: r.color,
        dashed: true,
        data: r.summary.steps.map((s) => ({
          x: s.queueCount,
          y: (base.metric.mean * s.queueCount) / base.queueCount,
        })),
      })
      for (const s of r.summary.steps)
        rows.push([
          r.label,
          String(s.queueCount),
          fmt(s.metric.mean),
          ci(s.metric.ci),
          fmt(s.metric.median),
          fmt(s.metric.min),
          fmt(s.metric.max),
          String(s.iterations),
          fixed(s.speedup.value),
          ci(s.speedup.ci, (v) => fixed(v)),
        ])
    }
    return {
      id: `throughput-${g}`,
      title: `${m.label[0].toUpperCase()}${m.label.slice(1)} vs queue count`,
      type: 'line',
      xLabel: 'queues',
      yLabel: m.unit,
      xScale: 'linear',
      yMin: 0,
      datasets,
      table: {
        columns: [
          'run',
          'queues',
          `mean ${m.unit}`,
          `${Math.round(group[0].summary.confidence * 100)}% CI`,
          'median',
          'min',
          'max',
          'iterations',
          'speed-up',
          'speed-up CI',
        ],
        rows,
      },
      note: 'Bars: confidence interval of the mean over iterations. Dashed: the smallest queue count scaled linearly.',
    }
  })
}

function efficiencyChart(runs: RunView[]): ChartSpec {
  const rows: string[][] = []
  const datasets: DatasetSpec[] = runs.map((r) => {
    for (const s of r.summary.steps)
      rows.push([r.label, String(s.queueCount), pct(s.efficiency.value), ci(s.efficiency.ci, (v) => pct(v))])
    return {
      label: r.label,
      color: r.color,
      errorBars: true,
      data: r.summary.steps.map((s) => ({
        x: s.queueCount,
        y: 100 * s.efficiency.value,
        low: s.efficiency.ci ? 100 * atLeastZero(s.efficiency.ci.low)! : undefined,
        high: s.efficiency.ci ? 100 * s.efficiency.ci.high : undefined,
      })),
    }
  })
  const counts = runs.flatMap((r) => r.summary.steps.map((s) => s.queueCount))
  datasets.push({
    label: 'linear scaling (100%)',
    color: GREY,
    dashed: true,
    data: [Math.min(...counts), Math.max(...counts)].map((x) => ({x, y: 100})),
  })
  return {
    id: 'efficiency',
    title: 'Scaling efficiency E(N) = T(N) / (N x T(1))',
    type: 'line',
    xLabel: 'queues',
    yLabel: 'efficiency %',
    xScale: 'linear',
    yMin: 0,
    datasets,
    table: {columns: ['run', 'queues', 'efficiency', 'CI (Fieller)'], rows},
  }
}

const rrRuns = (runs: RunView[]) => runs.filter((r) => r.summary.steps.some((s) => s.latency))

function latencyChart(runs: RunView[]): ChartSpec | null {
  const rr = rrRuns(runs)
  if (rr.length === 0) return null
  const rows: string[][] = []
  const datasets: DatasetSpec[] = []
  for (const r of rr) {
    const steps = r.summary.steps.filter((s) => s.latency)
    for (const [k, name, dashed] of [
      ['p50', 'p50', false],
      ['p99', 'p99', true],
      ['p999', 'p99.9', true],
    ] as const) {
      datasets.push({
        label: `${r.label}: ${name}`,
        color: r.color,
        dashed,
        data: steps.map((s) => ({x: s.queueCount, y: s.latency![k]})),
      })
    }
    for (const s of steps)
      rows.push([
        r.label,
        String(s.queueCount),
        fmt(s.latency!.p50),
        fmt(s.latency!.p99),
        fmt(s.latency!.p999),
        fmt(s.latency!.max),
        ci(s.latencyPerIteration?.p99.ci),
      ])
  }
  return {
    id: 'latency',
    title: 'Latency percentiles vs queue count',
    type: 'line',
    xLabel: 'queues',
    yLabel: 'µs',
    xScale: 'linear',
    yScale: 'logarithmic',
    datasets,
    table: {
      columns: ['run', 'queues', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'p99 CI over iterations'],
      rows,
    },
    note: 'Percentiles of every transaction of every session and iteration, merged.',
  }
}

/** The multiqueue step with the highest mean, to set against the single-queue one. */
function bestMultiqueue(r: RunView): StepSummary | undefined {
  const multi = r.summary.steps.filter(
    (s) => s.queueCount > r.summary.baseQueueCount && s.latencyDistribution,
  )
  return multi.reduce<StepSummary | undefined>(
    (a, b) => (!a || b.metric.mean > a.metric.mean ? b : a),
    undefined,
  )
}

function distributionChart(runs: RunView[]): ChartSpec | null {
  const rr = rrRuns(runs)
  if (rr.length === 0) return null
  const datasets: DatasetSpec[] = []
  const picks: Array<{r: RunView; s: StepSummary; dashed: boolean}> = []
  for (const r of rr) {
    const base = r.summary.steps[0]
    if (base.latencyDistribution) picks.push({r, s: base, dashed: true})
    const best = bestMultiqueue(r)
    if (best) picks.push({r, s: best, dashed: false})
  }
  // x = 1/(1-p): 50% at 2, 99% at 100, 99.9% at 1000; the maximum sits one halving beyond the last point.
  const xOf = (p: number, prev: number) => (p >= 100 ? prev * 2 : 1 / (1 - p / 100))
  const marks = [50, 90, 99, 99.9, 99.99]
  const rows: string[][] = []
  for (const {r, s, dashed} of picks) {
    let prev = 1
    const data = s.latencyDistribution!.map((d) => {
      const x = xOf(d.percentile, prev)
      prev = x
      return {x, y: d.valueUs}
    })
    datasets.push({
      label: `${r.label}: ${s.queueCount} queue${s.queueCount === 1 ? '' : 's'}`,
      color: r.color,
      dashed,
      data,
    })
    const at = (p: number) => s.latencyDistribution!.find((d) => d.percentile >= p)?.valueUs
    rows.push([r.label, String(s.queueCount), ...marks.map((p) => fmt(at(p))), fmt(s.latency?.max)])
  }
  return {
    id: 'distribution',
    title: 'Latency distribution: one queue against the best multiqueue step',
    type: 'line',
    xLabel: 'percentile',
    yLabel: 'µs',
    xScale: 'percentile',
    yScale: 'logarithmic',
    datasets,
    table: {columns: ['run', 'queues', ...marks.map((p) => `p${p} µs`), 'max µs'], rows},
    note: 'HdrHistogram-style: the x axis is 1/(1-percentile) on a log scale, so each decade is one more nine.',
  }
}

/** "q0 rx 812 tx 640 / q1 rx 790 tx 655": a queue with a combined line shows one figure. */
export function interruptText(qs: QueueInterrupts[]): string {
  if (qs.length === 0) return '–'
  return qs
    .map((q) =>
      q.rx || q.tx
        ? `q${q.queue} rx ${fmt(q.rx)} tx ${fmt(q.tx)}${q.combined ? ` +${fmt(q.combined)}` : ''}`
        : `q${q.queue} ${fmt(q.combined)}`,
    )
    .join(' / ')
}

function shareCharts(runs: RunView[]): ChartSpec[] {
  return runs.map((r, i) => {
    const steps = r.summary.steps
    const maxQ = Math.max(...steps.map((s) => s.queueCount))
    const categories = steps.map(
      (s) => `${s.queueCount}${s.queues.verdict === 'ok' ? '' : ` (${s.queues.verdict})`}`,
    )
    const flagged = steps.flatMap((s, k) => (s.queues.verdict === 'ok' ? [] : [k]))
    const datasets: DatasetSpec[] = Array.from({length: maxQ}, (_, q) => ({
      label: `queue ${q}`,
      color: q,
      stack: 'share',
      flagged,
      data: steps.map((s, k) => ({x: categories[k], y: q < s.queueCount ? 100 * s.queues.shares[q] : null})),
    }))
    // The interrupt column only where some step has per-queue lines (a guest, a PCI NIC): veth and tap have none.
    const irqs = steps.some((s) => s.queueInterrupts.length > 0)
    const rows = steps.map((s) => [
      String(s.queueCount),
      s.queues.source === null ? 'unknown (no counters)' : s.queues.verdict,
      s.queues.shares.map((v) => `${(100 * v).toFixed(1)}%`).join(' / '),
      s.queues.source ?? '–',
      s.queues.basis,
      fmt(s.queues.drops),
      ...(irqs ? [interruptText(s.queueInterrupts)] : []),
    ])
    return {
      id: `shares-${i}`,
      title: `Per-queue share of traffic: ${r.label}`,
      type: 'bar',
      xLabel: 'queues (verdict)',
      yLabel: '% of traffic',
      xScale: 'category',
      categories,
      stacked: true,
      yMin: 0,
      yMax: 100,
      datasets,
      table: {
        columns: [
          'queues',
          'verdict',
          'share per queue',
          'counter',
          'compared',
          'drops',
          ...(irqs ? ['interrupts per queue'] : []),
        ],
        rows,
      },
      note: `imbalanced: a queue carried less than half or more than twice its fair share; unused: a queue carried nothing. Flagged steps are outlined.${irqs ? ' Interrupts per queue: the deltas of its /proc/interrupts lines (rx = input, tx = output), summed over the iterations.' : ''}`,
    }
  })
}

function cpuCharts(runs: RunView[]): ChartSpec[] {
  return runs.map((r, i) => {
    const cats: string[] = []
    const parts = {user: [] as number[], sys: [] as number[], softirq: [] as number[], irq: [] as number[]}
    const rows: string[][] = []
    for (const s of r.summary.steps) {
      for (const c of s.cpu) {
        cats.push(`${s.queueCount}q cpu${c.cpu}`)
        parts.user.push(c.userPct)
        parts.sys.push(c.sysPct)
        parts.softirq.push(c.softirqPct)
        parts.irq.push(c.irqPct)
        rows.push([
          String(s.queueCount),
          String(c.cpu),
          fixed(c.userPct, 1),
          fixed(c.sysPct, 1),
          fixed(c.softirqPct, 1),
          fixed(c.irqPct, 1),
        ])
      }
    }
    const datasets: DatasetSpec[] = (['user', 'sys', 'softirq', 'irq'] as const).map((k, n) => ({
      label: k,
      color: n,
      stack: 'cpu',
      data: parts[k].map((y, j) => ({x: cats[j], y})),
    }))
    return {
      id: `cpu-${i}`,
      title: `CPU time per CPU: ${r.label}`,
      type: 'bar',
      xLabel: 'step and CPU',
      yLabel: '% of the CPU',
      xScale: 'category',
      categories: cats,
      stacked: true,
      yMin: 0,
      yMax: 100,
      datasets,
      table: {columns: ['queues', 'cpu', 'user %', 'sys %', 'softirq %', 'irq %'], rows},
    }
  })
}

function serviceDemandCharts(runs: RunView[]): ChartSpec[] {
  const withSd = runs.filter((r) => r.summary.steps.some((s) => s.serviceDemand))
  return byUnit(withSd, (r) => r.summary.serviceDemandUnit).map((group, g) => {
    const unit = group[0].summary.serviceDemandUnit
    const rows: string[][] = []
    const datasets: DatasetSpec[] = group.map((r) => {
      const steps = r.summary.steps.filter((s) => s.serviceDemand)
      for (const s of steps)
        rows.push([r.label, String(s.queueCount), fmt(s.serviceDemand!.mean), ci(s.serviceDemand!.ci)])
      return {
        label: r.label,
        color: r.color,
        errorBars: true,
        data: steps.map((s) => ({
          x: s.queueCount,
          y: s.serviceDemand!.mean,
          low: atLeastZero(s.serviceDemand!.ci?.low),
          high: s.serviceDemand!.ci?.high,
        })),
      }
    })
    return {
      id: `service-demand-${g}`,
      title: 'Service demand vs queue count',
      type: 'line',
      xLabel: 'queues',
      yLabel: unit,
      xScale: 'linear',
      yMin: 0,
      datasets,
      table: {columns: ['run', 'queues', `mean ${unit}`, 'CI'], rows},
      note: 'CPU time of all CPUs per unit of work: lower is cheaper.',
    }
  })
}

/** Sessions shown in a placement chart; beyond, the table says how many were left out. */
export const PLACEMENT_SESSIONS = 64

/** Where each session ran at the run's largest attributed queue count: iterations per queue. */
function placementChart(r: RunView, i: number, last: StepSummary): ChartSpec {
  const shown = last.sessionQueues!.placement.slice(0, PLACEMENT_SESSIONS)
  const sessionLabels = shown.map((p) => `s${p.session}`)
  return {
    id: `queue-placement-${i}`,
    title: `Sessions × queues at ${last.queueCount} queues: ${r.label}`,
    type: 'bar',
    xLabel: 'session',
    yLabel: 'iterations',
    xScale: 'category',
    categories: sessionLabels,
    stacked: true,
    yMin: 0,
    datasets: [
      ...Array.from({length: last.queueCount}, (_, q) => ({
        label: `queue ${q}`,
        color: q,
        stack: 'placement',
        data: shown.map((p, j) => ({x: sessionLabels[j], y: p.perQueue[q]})),
      })),
      {
        label: 'moved',
        color: GREY,
        stack: 'placement',
        data: shown.map((p, j) => ({x: sessionLabels[j], y: p.moved})),
      },
    ],
    table: {
      columns: [
        'session',
        ...Array.from({length: last.queueCount}, (_, q) => `queue ${q}`),
        'moved',
        'not attributed',
      ],
      rows: shown.map((p) => [
        String(p.session),
        ...p.perQueue.map(String),
        String(p.moved),
        String(p.unattributed),
      ]),
    },
    note: `Iterations each session spent on each queue.${last.sessionQueues!.placement.length > shown.length ? ` The first ${shown.length} of ${last.sessionQueues!.placement.length} sessions are shown.` : ''}`,
  }
}

/**
 * Per-queue latency (issue 30): for each run whose sessions were attributed to queues, p50/p99/p99.9
 * of each queue's sessions at each queue count, the sessions' placement at the largest such count
 * (iterations each session spent on each queue), and the finding that names a queue.
 */
function queueCharts(runs: RunView[]): ChartSpec[] {
  return runs.flatMap((r, i) => {
    const steps = r.summary.steps.filter((s) => s.sessionQueues)
    if (steps.length === 0) return []
    const categories = steps.flatMap((s) =>
      s.sessionQueues!.queues.map((q) => `q${q.queue} of ${s.queueCount}`),
    )
    const marks = [
      ['p50', (l: LatencySummaryUs) => l.p50],
      ['p99', (l: LatencySummaryUs) => l.p99],
      ['p99.9', (l: LatencySummaryUs) => l.p999],
    ] as const
    const all = steps.flatMap((s) => s.sessionQueues!.queues.map((q) => ({s, q})))
    const latency: ChartSpec = {
      id: `queue-latency-${i}`,
      title: `Latency per queue: ${r.label}`,
      type: 'bar',
      xLabel: 'queue (of the step’s queue count)',
      yLabel: 'µs',
      xScale: 'category',
      categories,
      yMin: 0,
      datasets: marks.map(([label, get], k) => ({
        label,
        color: k,
        data: all.map(({q}, j) => ({x: categories[j], y: q.latency.count > 0 ? get(q.latency) : null})),
      })),
      table: {
        columns: [
          'queues',
          'queue',
          'sessions',
          'trans/s',
          'p50 µs',
          'p99 µs',
          'p99.9 µs',
          'Jain',
          'rtt µs',
          'retrans',
        ],
        rows: all.map(({s, q}) => [
          String(s.queueCount),
          String(q.queue),
          fixed(q.sessions, 1),
          fmt(q.transactionsPerSecond),
          ...marks.map(([, get]) => (q.latency.count > 0 ? fmt(get(q.latency)) : '–')),
          q.latency.count > 0 ? fixed(q.jainIndex, 3) : '–',
          q.rttMeanUs === undefined ? '–' : fmt(q.rttMeanUs),
          fmt(q.totalRetrans),
        ]),
      },
      note: [
        `Sessions attributed by ${[...new Set(steps.flatMap((s) => s.sessionQueues!.methods))].join(', ')} (docs/sessions.md, Queues and TCP_INFO); sessions that moved between queues are in no queue.`,
        ...steps.flatMap((s) =>
          s.sessionQueues!.finding ? [`At ${s.queueCount} queues: ${s.sessionQueues!.finding.text}.`] : [],
        ),
      ].join(' '),
    }
    return [latency, placementChart(r, i, steps.at(-1)!)]
  })
}

export function buildCharts(runs: RunView[]): ChartSpec[] {
  return [
    ...throughputCharts(runs),
    efficiencyChart(runs),
    latencyChart(runs),
    distributionChart(runs),
    ...shareCharts(runs),
    ...queueCharts(runs),
    ...cpuCharts(runs),
    ...serviceDemandCharts(runs),
  ].filter((c): c is ChartSpec => c !== null)
}
