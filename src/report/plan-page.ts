// The page of a test-plan results file (check vm): a PASS/FAIL/N/A table per case, the
// per-queue interrupt and counter bars before/after each load (gen loads: packets/s per guest
// queue), the loads side by side, a timeline (set_link, migration: total and downtime) where a
// case recorded one, the kernel log lines a stress case found, each guest's setup, a banner
// when a guest ran under TCG, the comparison with a --baseline run (each load's median and range
// against the baseline's, the verdict, the noise rule), and an interrupted plan's stopped case
// (INTERRUPTED) and the cases it never started. Plain HTML and CSS (report.css plus a few rules), no script: it
// reads the same offline and printed.
import {readFileSync} from 'node:fs'
import type {
  BaselineComparison,
  CaseReport,
  InterruptFigure,
  LoadFigure,
  QueueCounterFigure,
  QueueRateFigure,
  TimelineFigure,
} from '../results/plan-schema.js'
import {baselineHeadline, comparedLoads, FLOOR, MIN_SAMPLES} from '../check/vm/baseline.js'
import {median} from '../results/estimate.js'
import {planClosingLine, type PlanResultsFile} from '../results/plan.js'
import {virtioSummary} from '../vm/virtio-features.js'
import type {GuestRecord} from '../results/schema.js'
import {fmt} from '../util/format.js'
import {escapeHtml as e} from './format.js'

const CSS = new URL('../../dashboards/report.css', import.meta.url)

const PLAN_CSS = `
.banner { border: 2px solid #c77c00; background: #fff5e0; padding: 0.5rem 0.8rem; border-radius: 4px; margin: 0.8rem 0; }
.status { font-weight: 700; text-align: center !important; }
.status.PASS { color: #176e2c; } .status.FAIL { color: #b3261e; background: #fdecea; } .status.NA { color: #5b6670; }
.status.INTERRUPTED { color: #8a5a00; background: #fff5e0; }
table.baseline td:nth-child(-n+3) { text-align: left; }
.change.down { color: #b3261e; } .change.up { color: #176e2c; }
table.checks td:nth-child(2) { text-align: left; }
td.evidence { text-align: left; font-family: ui-monospace, monospace; font-size: 0.8rem; overflow-wrap: anywhere; }
.bars { display: grid; grid-template-columns: max-content minmax(140px, 1fr) max-content; gap: 0.1rem 0.6rem; align-items: center; font-size: 0.82rem; margin: 0.4rem 0 1rem; max-width: 900px; }
.bars .label { font-family: ui-monospace, monospace; }
.bars .track { background: #f0f2f4; height: 0.9rem; border-radius: 2px; display: flex; flex-direction: column; justify-content: space-around; }
.bars .bar { height: 45%; border-radius: 2px; min-width: 1px; }
.bars .cpus { grid-column: 2 / 4; color: #5b6670; font-size: 0.75rem; margin-top: -0.15rem; }
.bar.before { background: #9aa6b2; } .bar.after { background: #2b6cb0; }
.bars .num { font-variant-numeric: tabular-nums; text-align: right; }
.legend .bar { display: inline-block; width: 0.8em; height: 0.8em; margin: 0 0.3em 0 0.8em; vertical-align: baseline; }
.loads { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; }
.timeline text { font-size: 12px; fill: #1d2329; }
.timeline .events { font-size: 0.85rem; margin: 0.2rem 0; }
.kernel-log { color: #b3261e; }
.range { color: #5b6670; font-size: 0.8em; white-space: nowrap; }
`

const statusClass = (s: string) => (s === 'N/A' ? 'NA' : s)

/** A case's verdict: INTERRUPTED when Ctrl-C stopped it, else FAIL when a check failed, else PASS. */
const caseVerdict = (c: CaseReport) =>
  c.interrupted ? 'INTERRUPTED' : c.checks.some((k) => k.status === 'FAIL') ? 'FAIL' : 'PASS'

function checksTable(c: CaseReport): string {
  const rows = c.checks
    .map(
      (k) =>
        `<tr data-check="${e(k.id)}"><td class="status ${statusClass(k.status)}">${e(k.status)}</td><td>${e(k.title)}</td><td class="evidence">${e(k.evidence)}</td></tr>`,
    )
    .join('')
  return `<table class="checks"><thead><tr><th scope="col">status</th><th scope="col">check</th><th scope="col">what was read</th></tr></thead><tbody>${rows}</tbody></table>`
}

/** Two bars per row (before, after) on one scale: the largest value of the group fills the track. */
function bars(
  caption: string,
  rows: Array<{label: string; before: number; after: number; note?: string}>,
): string {
  if (!rows.length) return ''
  const max = Math.max(1, ...rows.map((r) => Math.max(r.before, r.after)))
  const w = (v: number) => `${((100 * v) / max).toFixed(2)}%`
  const cells = rows
    .map(
      (r) =>
        `<span class="label">${e(r.label)}</span><div class="track"><div class="bar before" style="width:${w(r.before)}" title="before ${r.before}"></div><div class="bar after" style="width:${w(r.after)}" title="after ${r.after}"></div></div><span class="num">${fmt(r.before)} → ${fmt(r.after)} (+${fmt(r.after - r.before)})</span>${r.note ? `<span></span><span class="cpus">${e(r.note)}</span>` : ''}`,
    )
    .join('')
  return `<figure class="bar-group"><figcaption>${e(caption)}<span class="legend"><span class="bar before"></span>before<span class="bar after"></span>after</span></figcaption><div class="bars" data-bars="${e(caption)}">${cells}</div></figure>`
}

/** One bar per queue on one scale (a rate has no before/after): the largest rate fills the track. */
function rateBars(caption: string, rates: QueueRateFigure[]): string {
  if (!rates.length) return ''
  const max = Math.max(1, ...rates.map((r) => r.pps))
  const cells = rates
    .map(
      (r) =>
        `<span class="label">${r.direction}${r.queue}</span><div class="track"><div class="bar after" style="width:${((100 * r.pps) / max).toFixed(2)}%" title="${r.pps} pps"></div></div><span class="num">${fmt(r.pps)}</span>`,
    )
    .join('')
  return `<figure class="bar-group"><figcaption>${e(caption)}</figcaption><div class="bars rates" data-rates="${e(caption)}">${cells}</div></figure>`
}

const perCpu = (i: InterruptFigure) =>
  i.perCpu.length > 1 ? `on vCPUs ${i.perCpu.map((n, cpu) => `${cpu}:+${fmt(n)}`).join(' ')}` : undefined

function loadBlock(l: LoadFigure, repeat?: {k: number; of: number}): string {
  const ints = (l.interrupts ?? []) as InterruptFigure[]
  const ctrs = (l.counters ?? []) as QueueCounterFigure[]
  const which = repeat ? ` (repeat ${repeat.k} of ${repeat.of})` : ''
  return `<div class="load" data-load="${e(l.label)}"><h4>${e(l.label)}${which}</h4>${bars(
    'interrupts per queue line',
    ints.map((i) => ({label: i.label, before: i.before, after: i.after, note: perCpu(i)})),
  )}${bars(
    'ethtool -S per queue',
    ctrs.map((c) => ({label: c.label, before: c.before, after: c.after})),
  )}${rateBars('packets/s per guest queue', l.queueRates ?? [])}</div>`
}

/**
 * A case's loads by label, in the order they ran: the repeats of one load (--repeats) share
 * its label, and are one row of the table (median and range) and one bar block each.
 */
function byLabel(loads: LoadFigure[]): LoadFigure[][] {
  const groups = new Map<string, LoadFigure[]>()
  for (const l of loads) groups.set(l.label, [...(groups.get(l.label) ?? []), l])
  return [...groups.values()]
}

/** One figure of a load, or of its repeats: the median, then the range. */
function repeated(values: Array<number | undefined>, digits?: number): string {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x))
  if (v.length <= 1 || values.length <= 1) return fmt(v[0], digits)
  return `${fmt(median(v), digits)} <span class="range">(${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)})</span>`
}

function loadsSection(loads: LoadFigure[], functionalOnly: boolean): string {
  const groups = byLabel(loads)
  const table = `<table class="load-table"><thead><tr>${[
    'load',
    'workloads',
    'sessions',
    'queue pairs',
    'seconds',
    'transactions/s',
    'Gbit/s',
    'packets/s',
    'errors / lost',
  ]
    .map((h) => `<th scope="col">${h}</th>`)
    .join('')}</tr></thead><tbody>${groups
    .map((g) => {
      const l = g[0]
      const col = (pick: (x: LoadFigure) => number | undefined, digits?: number) =>
        repeated(g.map(pick), digits)
      const more = g.length > 1 ? ` <span class="note">(${g.length} repeats: median, min–max)</span>` : ''
      return `<tr data-load-row="${e(l.label)}"><td>${e(l.label)}${more}</td><td>${e(l.workloads.join(' + '))}</td><td>${l.sessions}</td><td>${l.queues}</td><td>${fmt(l.durationMs / 1000)}</td><td>${col((x) => x.transactionsPerSecond)}</td><td>${col((x) => (x.bitsPerSecond === undefined ? undefined : x.bitsPerSecond / 1e9), 3)}</td><td class="pps">${col((x) => x.packetsPerSecond)}</td><td class="lost">${col((x) => x.errors)}</td></tr>`
    })
    .join(
      '',
    )}</tbody></table>${functionalOnly ? '<p class="note">Under TCG these rates are functional only.</p>' : ''}`
  const blocks = groups.flatMap((g) =>
    g.map((l, i) => loadBlock(l, g.length > 1 ? {k: i + 1, of: g.length} : undefined)),
  )
  return `${table}<div class="loads">${blocks.join('')}</div>`
}

/** The events on one axis (SVG), with the total and downtime under it. */
function timelineSection(t: TimelineFigure): string {
  const width = 900
  const end = Math.max(1, t.totalMs ?? 0, ...t.events.map((x) => x.atMs))
  const x = (ms: number) => 20 + ((width - 40) * ms) / end
  // Numbered marks on the axis (labels that close together would overlap), the events listed below.
  const marks = t.events
    .map(
      (ev, i) =>
        `<g data-event="${e(ev.label)}"><line x1="${x(ev.atMs).toFixed(1)}" x2="${x(ev.atMs).toFixed(1)}" y1="30" y2="50" stroke="#2b6cb0" stroke-width="2"/><text x="${x(ev.atMs).toFixed(1)}" y="${i % 2 ? 64 : 24}" text-anchor="middle">${i + 1}</text></g>`,
    )
    .join('')
  const list = `<ol class="events">${t.events.map((ev) => `<li>${e(ev.label)}: ${fmt(ev.atMs)} ms</li>`).join('')}</ol>`
  const facts = [
    t.totalMs !== undefined ? `total ${fmt(t.totalMs)} ms` : '',
    t.downtimeMs !== undefined ? `downtime ${fmt(t.downtimeMs)} ms` : '',
    t.transferredBytes !== undefined ? `${fmt(t.transferredBytes / 2 ** 20)} MiB transferred` : '',
  ].filter(Boolean)
  return `<figure class="timeline"><figcaption>${e(t.label)}${facts.length ? `: ${facts.join(', ')}` : ''}</figcaption><svg viewBox="0 0 ${width} 80" width="100%" role="img" aria-label="${e(t.label)}"><line x1="20" x2="${width - 20}" y1="40" y2="40" stroke="#9aa6b2"/>${marks}</svg>${list}</figure>`
}

/** Figures the report does not draw: scalars listed by name. */
function otherFigures(f: NonNullable<CaseReport['figures']>): string {
  const items: Array<[string, string]> = []
  for (const [k, v] of Object.entries(f.numbers ?? {}))
    items.push([k, typeof v === 'number' ? fmt(v) : String(v)])
  for (const [k, v] of Object.entries(f)) {
    if (['loads', 'timeline', 'kernelLog', 'numbers'].includes(k)) continue
    if (typeof v === 'number') items.push([k, fmt(v)])
    else if (typeof v === 'string' || typeof v === 'boolean') items.push([k, String(v)])
    else if (v !== undefined) items.push([k, JSON.stringify(v)])
  }
  if (!items.length) return ''
  return `<div class="run-meta"><dl class="numbers">${items.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl></div>`
}

function guestsTable(guests: GuestRecord[]): string {
  if (!guests.length) return ''
  const rows = guests
    .map(
      (g) =>
        `<tr><td>${e(g.kernel.release)}</td><td>${e(g.accel)}</td><td>${g.vcpus}</td><td>${g.memoryMiB}</td><td>${g.queues}</td><td>${g.vectors}</td><td>${g.vhost ? 'on' : 'off'}</td><td>${e(g.qemuVersion)}</td><td>${fmt(g.bootMs)}</td></tr><tr><td colspan="9"><details><summary>qemu command line</summary><pre>${e(g.commandLine)}</pre></details>${g.virtio ? `<details class="virtio"><summary>virtio features</summary><p>${e(virtioSummary(g.virtio))}</p><p>negotiated: ${e(g.virtio.negotiated.join(' ') || 'none')}</p></details>` : ''}</td></tr>`,
    )
    .join('')
  return `<table class="guests"><caption>guests</caption><thead><tr>${[
    'kernel',
    'accel',
    'vCPUs',
    'MiB',
    'queues',
    'vectors',
    'vhost',
    'qemu',
    'boot ms',
  ]
    .map((h) => `<th scope="col">${h}</th>`)
    .join('')}</tr></thead><tbody>${rows}</tbody></table>`
}

function caseSection(c: CaseReport, functionalOnly: boolean): string {
  const f = c.figures ?? {}
  const verdict = caseVerdict(c)
  const ended = c.interrupted
    ? '; stopped by Ctrl-C/SIGTERM: neither passed nor failed'
    : c.error
      ? `; ended early: ${e(c.error)}`
      : ''
  const parts = [
    `<h2 id="case-${e(c.id)}"><span class="status ${verdict}">${verdict}</span> ${e(c.id)}: ${e(c.title)}</h2>`,
    `<p class="note">${c.source === 'fedora' ? 'Fedora multiqueue test plan' : 'tp-qemu'}; ${fmt(c.wallMs / 1000)} s${ended}</p>`,
    checksTable(c),
    f.loads?.length ? loadsSection(f.loads, functionalOnly) : '',
    f.timeline ? timelineSection(f.timeline) : '',
    f.kernelLog?.length
      ? `<h3>kernel log</h3><pre class="kernel-log">${f.kernelLog.map((p) => e(`${p.kind} (${p.source}): ${p.line}`)).join('\n')}</pre>`
      : '',
    otherFigures(f),
    guestsTable(c.guests),
  ]
  return `<section class="case" data-case="${e(c.id)}">${parts.join('')}</section>`
}

/** A load's repeats: the median, then the range; a single value alone. */
function medianRange(v: number[] | undefined): string {
  if (!v?.length) return '–'
  if (v.length === 1) return fmt(v[0])
  return `${fmt(median(v))} <span class="range">(${fmt(Math.min(...v))}–${fmt(Math.max(...v))})</span>`
}

const METRIC_NAMES: Record<string, string> = {
  transactionsPerSecond: 'transactions/s',
  bitsPerSecond: 'bit/s',
  packetsPerSecond: 'packets/s',
}

/**
 * --baseline: every load of this run against the same load of the baseline run, with the rule
 * that judged it, so that a reader sees why a drop is or is not a regression.
 */
function baselineSection(b: BaselineComparison): string {
  const compared = comparedLoads(b)
  const headline = baselineHeadline(b)
  const rule = `A load regresses when its median drops below the baseline's by more than the noise: the ranges (max − min) of the repeats of both runs added together, relative to the baseline's median, and never less than ${fmt(FLOOR * 100)}%. The noise needs ${MIN_SAMPLES} or more repeats of the load in each run (--repeats); with fewer, or runs that differ in setup, the load is N/A.`
  const rows = b.verdicts
    .map((v) => {
      const change =
        v.change === undefined
          ? '–'
          : `<span class="change ${v.change < 0 ? 'down' : 'up'}">${v.change >= 0 ? '+' : ''}${(v.change * 100).toFixed(1)}%</span>`
      return `<tr data-baseline-load="${e(`${v.caseId}|${v.label}|${v.metric}`)}"><td><a href="#case-${e(v.caseId)}">${e(v.caseId)}</a></td><td>${e(v.label)}</td><td>${e(METRIC_NAMES[v.metric] ?? v.metric)}</td><td class="now">${medianRange(v.values)}</td><td class="base">${medianRange(v.baseline)}</td><td class="change">${change}</td><td class="noise">${v.noise === undefined ? '–' : `${(v.noise * 100).toFixed(1)}%`}</td><td class="status ${statusClass(v.status)}">${e(v.status)}</td><td class="evidence">${e(v.evidence)}</td></tr>`
    })
    .join('')
  return `<section id="baseline"><h2><span class="status ${b.regressions ? 'FAIL' : compared ? 'PASS' : 'NA'}">${b.regressions ? 'FAIL' : compared ? 'PASS' : 'N/A'}</span> Against the baseline ${e(b.file)}</h2><p class="headline">${e(headline)}</p><p class="note rule">${e(rule)}</p><table class="baseline"><thead><tr>${[
    'case',
    'load',
    'metric',
    'now: median (range)',
    'baseline: median (range)',
    'change',
    'noise',
    'verdict',
    'what was compared',
  ]
    .map((h) => `<th scope="col">${h}</th>`)
    .join('')}</tr></thead><tbody>${rows}</tbody></table></section>`
}

/** The Fedora mq case and its feature variants (mq_packed, mq_rss, ...): cases/mq.ts names them so. */
const MQ_FAMILY = /^mq(_(packed|rss|hash))*$/

/**
 * The mq case's variants side by side: per case the ring layout and steering its guest negotiated
 * (from the guest record, not the case name), the load at N queue pairs and at 1 (medians of the
 * repeats) and the verdict. Shown when two or more of them ran.
 */
function variantsSection(p: PlanResultsFile): string {
  const family = p.cases.filter((c) => MQ_FAMILY.test(c.id))
  if (family.length < 2) return ''
  const has = (c: CaseReport, f: string) => c.guests[0]?.virtio?.negotiated.includes(f) ?? false
  const tps = (c: CaseReport, one: boolean) =>
    (c.figures?.loads ?? [])
      .filter((l) => (l.queues === 1) === one && l.transactionsPerSecond !== undefined)
      .map((l) => l.transactionsPerSecond!)
  const rows = family
    .map((c) => {
      const [n, one] = [tps(c, false), tps(c, true)]
      const ratio = n.length && one.length && median(one) > 0 ? `${fmt(median(n) / median(one), 2)}x` : '–'
      const v = caseVerdict(c)
      return `<tr data-variant="${e(c.id)}"><td><a href="#case-${e(c.id)}">${e(c.id)}</a></td><td>${has(c, 'VIRTIO_F_RING_PACKED') ? 'packed' : 'split'}</td><td>${has(c, 'VIRTIO_NET_F_RSS') ? 'on' : 'off'}</td><td>${medianRange(n)}</td><td>${medianRange(one)}</td><td>${ratio}</td><td class="status ${v}">${v}</td></tr>`
    })
    .join('')
  const note = p.functionalOnly
    ? '<p class="note">Under TCG these rates show that each variant works, not which is faster.</p>'
    : ''
  return `<section id="variants"><h2>The mq case's variants side by side</h2>${note}<table class="variants"><thead><tr>${[
    'case',
    'rings',
    'RSS',
    `transactions/s at ${p.params.queues} queue pairs`,
    'transactions/s at 1',
    'ratio',
    'verdict',
  ]
    .map((h) => `<th scope="col">${e(h)}</th>`)
    .join('')}</tr></thead><tbody>${rows}</tbody></table></section>`
}

/** An interrupted plan: the cases it never started, so that a partial page is not read as a whole one. */
function notRunSection(p: PlanResultsFile): string {
  if (!p.notRun?.length) return ''
  return `<section id="not-run"><h2>Not run</h2><p class="note">The plan was interrupted before these cases started.</p><ul>${p.notRun
    .map((c) => `<li data-not-run="${e(c.id)}">${e(c.id)}: ${e(c.title)} (${e(c.source)})</li>`)
    .join('')}</ul></section>`
}

export function renderPlanHtml(p: PlanResultsFile): string {
  const title = `mqbench test plan: ${planClosingLine(p)}`
  const regressedIn = (id: string) =>
    p.baseline?.verdicts.filter((v) => v.caseId === id && v.status === 'FAIL').length ?? 0
  const overview = `<table class="overview"><thead><tr>${[
    'case',
    'source',
    'verdict',
    'PASS',
    'FAIL',
    'N/A',
    ...(p.baseline ? ['regressed'] : []),
    'seconds',
  ]
    .map((h) => `<th scope="col">${h}</th>`)
    .join('')}</tr></thead><tbody>${p.cases
    .map((c) => {
      const n = (s: string) => c.checks.filter((k) => k.status === s).length
      const v = regressedIn(c.id) ? 'FAIL' : caseVerdict(c)
      return `<tr data-overview="${e(c.id)}"><td><a href="#case-${e(c.id)}">${e(c.id)}</a></td><td>${e(c.source)}</td><td class="status ${v}">${v}</td><td>${n('PASS')}</td><td>${n('FAIL')}</td><td>${n('N/A')}</td>${p.baseline ? `<td>${regressedIn(c.id)}</td>` : ''}<td>${fmt(c.wallMs / 1000)}</td></tr>`
    })
    .join('')}${(p.notRun ?? [])
    .map(
      (c) =>
        `<tr data-overview="${e(c.id)}"><td>${e(c.id)}</td><td>${e(c.source)}</td><td class="status NA">NOT RUN</td><td colspan="${p.baseline ? 5 : 4}"></td></tr>`,
    )
    .join('')}</tbody></table>`
  const banner = p.functionalOnly
    ? '<div class="banner" id="tcg-banner">Guests ran under TCG (software emulation): every timing and rate on this page shows that the path works, not how fast it is.</div>'
    : ''
  const meta = `<div class="run-meta"><dl>${[
    ['command', p.command],
    ['status', p.status === 'interrupted' ? 'interrupted (Ctrl-C/SIGTERM): not every case ran' : p.status],
    [
      'plan',
      `${p.params.queues} queue pairs, ${p.params.vcpus} vCPUs, ${p.params.sessions} sessions, ${fmt(p.params.durationMs / 1000)} s per load, accel ${p.params.accel}`,
    ],
    ['host', `${p.host.hostname} (${p.host.cpuModel}, ${p.host.onlineCpus} CPUs), kernel ${p.host.kernel}`],
    ['mqbench / node', `${p.host.mqbenchVersion} / ${p.host.nodeVersion}`],
    ['run', `${p.createdAt}, ${fmt(p.wallMs / 1000)} s`],
  ]
    .map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`)
    .join('')}</dl></div>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title><style>${readFileSync(CSS, 'utf8')}${PLAN_CSS}</style></head>
<body><h1>${e(title)}</h1>${banner}${meta}<section id="summary"><h2>Cases</h2>${overview}</section>${variantsSection(p)}${p.baseline ? baselineSection(p.baseline) : ''}${notRunSection(p)}${p.cases
    .map((c) => caseSection(c, p.functionalOnly))
    .join('')}</body></html>
`
}
