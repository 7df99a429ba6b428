// Renders the report model into one self-contained HTML page: dashboards/report.html is the
// template, report.css and charts.js are inlined, chart.js is inlined from its npm package, and
// the chart data is embedded as JSON. Tables and words are rendered here, so the numbers read
// without JavaScript; charts.js only draws the canvases.
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import type {ChartSpec} from './charts.js'
import {fmt, signedPct} from '../util/format.js'
import {escapeHtml as e} from './format.js'
import type {ReportModel, RunReport} from './model.js'
import {virtioSummary} from '../vm/virtio-features.js'
import type {GuestRecord} from '../results/schema.js'
import {KEY_OFFLOADS} from '../observe/ethtool.js'
import {plural} from '../util/text.js'

/** dashboards/ sits two levels above both src/report/ and dist/report/. */
const DASHBOARDS = new URL('../../dashboards/', import.meta.url)

let assets: {template: string; css: string; script: string; chartjs: string} | undefined

function loadAssets() {
  if (assets) return assets
  // chart.js's resolved entry is dist/chart.cjs; the UMD build for pages sits beside it.
  const entry = createRequire(import.meta.url).resolve('chart.js')
  assets = {
    template: readFileSync(new URL('report.html', DASHBOARDS), 'utf8'),
    css: readFileSync(new URL('report.css', DASHBOARDS), 'utf8'),
    script: readFileSync(new URL('charts.js', DASHBOARDS), 'utf8'),
    chartjs: readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8'),
  }
  return assets
}

/** JSON that cannot end its <script> element early: `<` is escaped, as are the JS line separators. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029')
}

/** Inline JS: `</script` anywhere (a string in a library) would close the element. */
const scriptText = (js: string) => js.replaceAll(/<\/script/gi, '<\\/script')

function table(columns: string[], rows: string[][], caption?: string): string {
  return `<table>${caption ? `<caption>${e(caption)}</caption>` : ''}<thead><tr>${columns.map((c) => `<th scope="col">${e(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
}

function summarySection(m: ReportModel): string {
  const runs = m.runs
    .map(
      (r) =>
        `<div class="run-summary"><h3><span class="swatch" data-color="${r.color}"></span>${e(r.label)}</h3><ul>${r.sentences.map((s) => `<li>${e(s)}</li>`).join('')}</ul></div>`,
    )
    .join('')
  const comps =
    m.comparisons.length > 0
      ? `<h3>Comparison</h3><ul class="comparison">${m.comparisons.map((c) => `<li>${e(c.sentence)}</li>`).join('')}</ul>`
      : ''
  return `<section id="summary"><h2>Summary</h2>${runs}${comps}</section>`
}

function runMeta(r: RunReport): string {
  const x = r.results
  const rows: Array<[string, string]> = [
    [
      'host',
      `${x.host.hostname} (${x.host.cpuModel}, ${x.host.onlineCpus} CPUs, ${x.host.numaNodes} NUMA node${x.host.numaNodes === 1 ? '' : 's'})`,
    ],
    ['kernel', x.host.kernel],
    ['mqbench / node', `${x.host.mqbenchVersion} / ${x.host.nodeVersion}`],
    [
      'testbed',
      `${x.config.testbed.kind} ${x.config.testbed.name}${x.config.testbed.dev ? ` (${x.config.testbed.dev})` : ''}${x.config.testbed.server ? `, server ${x.config.testbed.server}` : ''}`,
    ],
    [
      'workload',
      `${x.config.workload}, ${x.config.sessions} sessions, ${x.config.durationMs / 1000} s x ${x.config.iterations} iterations, ${x.config.warmupMs ? `warm-up ${x.config.warmupMs / 1000} s` : 'no warm-up'}${
        Object.keys(x.config.params).length
          ? `; ${Object.entries(x.config.params)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`
          : ''
      }`,
    ],
    [
      'queue counts',
      `${x.config.queues.join(', ')} (measured: ${x.steps.map((s) => s.queueCount).join(', ')})`,
    ],
    [
      'run',
      `${x.run.id}, ${x.run.status}, ${x.run.startedAt}${x.run.finishedAt ? ` to ${x.run.finishedAt}` : ''}`,
    ],
  ]
  const g = x.config.testbed.guest
  if (g) rows.push(...guestRows(g))
  // The key offloads only: `ethtool -k` lists ~60 features, all kept in the results file.
  const offloads = x.steps[0]?.config.offloads ?? {}
  const key = KEY_OFFLOADS.filter((k) => k in offloads)
  if (key.length)
    rows.push(['offloads (first step)', key.map((k) => `${k} ${offloads[k] ? 'on' : 'off'}`).join(', ')])
  return `<div class="run-meta"><h3><span class="swatch" data-color="${r.color}"></span>${e(r.label)}</h3><dl>${rows.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl><p>Reproduce with:</p><pre><code>${e(x.run.command)}</code></pre></div>`
}

/** A vm testbed's guest as it ran: enough to boot the same one again (the command line in full). */
function guestRows(g: GuestRecord): Array<[string, string]> {
  const pinned = g.vcpuCpus ? ` pinned to host CPUs ${g.vcpuCpus.join(',')}` : ''
  return [
    [
      'guest',
      `${g.kernel.release}, ${g.accel}${g.accel === 'tcg' ? ' (timings functional only)' : ''}, vhost ${g.vhost ? 'on' : 'off'}, ${plural(g.vcpus, 'vCPU')}${pinned}, ${g.memoryMiB} MiB, ${plural(g.queues, 'queue pair')}, ${plural(g.vectors, 'vector')}; up in ${fmt(g.bootMs / 1000, 1)} s`,
    ],
    [
      'guest agent',
      `${g.agent.agent} ${g.agent.version}, protocol ${g.agent.protocol}, build ${g.agent.build}`,
    ],
    [`qemu ${g.qemuVersion}`, g.commandLine],
    ...(g.virtio ? [['virtio features', virtioSummary(g.virtio)] as [string, string]] : []),
  ]
}

function chartSection(c: ChartSpec): string {
  return `<section class="chart" id="section-${e(c.id)}"><h3>${e(c.title)}</h3><div class="canvas-box"><canvas id="chart-${e(c.id)}" data-chart="${e(c.id)}" role="img" aria-label="${e(c.title)}"></canvas></div>${c.note ? `<p class="note">${e(c.note)}</p>` : ''}<details open><summary>Numbers</summary>${table(c.table.columns, c.table.rows)}</details></section>`
}

function comparisonTables(m: ReportModel): string {
  const parts = m.comparisons
    .filter((c) => c.comparison.comparable)
    .map((c) => {
      const rows = c.comparison.steps.flatMap((st) =>
        st.changes.map((ch) => [
          String(st.queueCount),
          ch.metric,
          `${fmt(ch.before)} ${ch.unit}`,
          `${fmt(ch.after)} ${ch.unit}`,
          signedPct(ch.relative),
          ch.beyondNoise === null
            ? 'unknown (single iterations)'
            : !ch.beyondNoise
              ? 'no'
              : ch.notJudged
                ? `yes, not judged: ${ch.notJudged}`
                : ch.diff > 0 === ch.higherIsBetter
                  ? 'yes: better'
                  : 'yes: worse',
        ]),
      )
      const note = c.comparison.note ? `<p class="note">${e(c.comparison.note)}</p>` : ''
      return (
        table(
          ['queues', 'metric', c.before, c.after, 'change', 'beyond noise'],
          rows,
          `${c.after} vs ${c.before}`,
        ) + note
      )
    })
  return parts.length
    ? `<section id="comparison"><h2>Difference per metric</h2><p class="note">Beyond noise: the 95% Welch interval of the difference of the iteration means excludes zero.</p>${parts.join('')}</section>`
    : ''
}

/** The page's embedded data: chart specs and the run labels, nothing else. */
function pageData(m: ReportModel) {
  return {title: m.title, runs: m.runs.map((r) => ({label: r.label, color: r.color})), charts: m.charts}
}

function fill(template: string, values: Record<string, string>): string {
  // One pass with a replacer function: inserted text is never rescanned for placeholders, and
  // `$&`-style sequences in the inlined library are not replacement patterns.
  return template.replace(/\{\{(\w+)\}\}/g, (whole, k: string) => values[k] ?? whole)
}

export function renderHtml(m: ReportModel): string {
  const a = loadAssets()
  const body = [
    summarySection(m),
    `<section id="runs"><h2>Runs</h2>${m.runs.map(runMeta).join('')}</section>`,
    `<section id="charts"><h2>Charts</h2>${m.charts.map(chartSection).join('')}</section>`,
    comparisonTables(m),
  ].join('\n')
  return fill(a.template, {
    title: e(m.title),
    generated: e(m.generatedAt),
    body,
    css: a.css,
    data: jsonForScript(pageData(m)),
    chartjs: scriptText(a.chartjs),
    script: scriptText(a.script),
  })
}
