// `writeReport`: results in, one self-contained HTML file out (atomically), plus optional CSV
// and PNGs. The scale command calls it at the end of a sweep; `mqbench report` calls it on files.
import {statSync} from 'node:fs'
import {writeFileAtomic} from '../host/files.js'
import type {RunComparison} from '../results/compare.js'
import {stepsCsv} from '../results/csv.js'
import type {ResultsFile} from '../results/schema.js'
import {renderHtml} from './html.js'
import {planClosingLine, type PlanResultsFile} from '../results/plan.js'
import {renderPlanHtml} from './plan-page.js'
import {buildReportModel} from './model.js'

export interface ReportOptions {
  out: string
  baseline?: ResultsFile
  /** directory for one PNG per chart */
  png?: string
  /** file for the per-step figures */
  csv?: string
  confidence?: number
}

export interface ReportOutput {
  out: string
  bytes: number
  title: string
  runs: string[]
  /** the summary sentences, per run and per comparison, as they appear at the top of the page */
  summary: string[]
  charts: string[]
  /** each run against the reference: whether compared (else why not) and what else differs between them */
  comparisons: Array<
    Pick<RunComparison, 'comparable' | 'reason' | 'differences'> & {before: string; after: string}
  >
  csv?: string
  png?: string[]
}

export async function writeReport(files: ResultsFile[], opts: ReportOptions): Promise<ReportOutput> {
  const model = buildReportModel(files, {baseline: opts.baseline, confidence: opts.confidence})
  const html = renderHtml(model)
  writeFileAtomic(opts.out, html)
  const result: ReportOutput = {
    out: opts.out,
    bytes: statSync(opts.out).size,
    title: model.title,
    runs: model.runs.map((r) => r.label),
    summary: [
      ...model.runs.flatMap((r) => r.sentences.map((s) => `${r.label}: ${s}`)),
      ...model.comparisons.map((c) => c.sentence),
    ],
    charts: model.charts.map((c) => c.id),
    comparisons: model.comparisons.map(({before, after, comparison: c}) => ({
      before,
      after,
      comparable: c.comparable,
      ...(c.reason ? {reason: c.reason} : {}),
      differences: c.differences,
    })),
  }
  if (opts.csv) {
    writeFileAtomic(opts.csv, stepsCsv(model.runs.map((r) => ({label: r.label, summary: r.summary}))))
    result.csv = opts.csv
  }
  if (opts.png) {
    const {exportPngs} = await import('./png.js')
    result.png = await exportPngs(opts.out, opts.png)
  }
  return result
}

/** The page of a test plan (check vm), written atomically like a scale report. */
export function writePlanReport(plan: PlanResultsFile, out: string): ReportOutput {
  const html = renderPlanHtml(plan)
  writeFileAtomic(out, html)
  return {
    out,
    bytes: statSync(out).size,
    title: `test plan: ${planClosingLine(plan)}`,
    runs: [plan.command],
    summary: plan.cases.map(
      (c) =>
        `${c.id}: ${c.checks.filter((k) => k.status === 'PASS').length} passed, ${c.checks.filter((k) => k.status === 'FAIL').length} failed, ${c.checks.filter((k) => k.status === 'N/A').length} n/a`,
    ),
    charts: [],
    comparisons: [],
  }
}
