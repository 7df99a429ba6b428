// The report as data: one view per run (label, derived figures, summary sentences), the
// comparisons of every run with the reference run, and the chart specs. Rendering is elsewhere.
import {compareRuns, type RunComparison} from '../results/compare.js'
import type {ResultsFile} from '../results/schema.js'
import {scalingSummary} from '../results/stats.js'
import {buildCharts, type ChartSpec, type RunView} from './charts.js'
import {comparisonSentence, summarySentences} from './summary.js'

export interface RunReport extends RunView {
  results: ResultsFile
  sentences: string[]
  baseline: boolean
}

export interface ComparisonReport {
  before: string
  after: string
  comparison: RunComparison
  sentence: string
}

export interface ReportModel {
  title: string
  generatedAt: string
  runs: RunReport[]
  comparisons: ComparisonReport[]
  charts: ChartSpec[]
}

function baseLabel(r: ResultsFile): string {
  const w = r.steps[0]?.iterations[0]?.result
  const kind = w?.workload === 'rr' ? w.type : w?.workload === 'stream' ? w.type : r.config.workload
  return `${r.config.testbed.kind} ${kind}`
}

/** Short labels that tell the runs apart: testbed and workload, then the start time, then the run id. */
export function runLabels(files: ResultsFile[]): string[] {
  let labels = files.map(baseLabel)
  const dup = (ls: string[]) => ls.some((l, i) => ls.indexOf(l) !== i)
  if (dup(labels))
    labels = files.map((r, i) =>
      labels.filter((l) => l === labels[i]).length > 1
        ? `${labels[i]} ${r.run.startedAt.slice(0, 16).replace('T', ' ')}`
        : labels[i],
    )
  if (dup(labels))
    labels = files.map((r, i) =>
      labels.filter((l) => l === labels[i]).length > 1 ? `${labels[i]} (${r.run.id})` : labels[i],
    )
  return labels
}

/**
 * With a baseline, every other run is compared with it; without one, with the first file given.
 * The baseline is drawn first, in the first colour.
 */
export function buildReportModel(
  files: ResultsFile[],
  opts: {baseline?: ResultsFile; confidence?: number} = {},
): ReportModel {
  const all = opts.baseline ? [opts.baseline, ...files] : files
  if (all.length === 0) throw new RangeError('buildReportModel: no results')
  const labels = runLabels(all).map((l, i) => (opts.baseline && i === 0 ? `baseline: ${l}` : l))
  const runs: RunReport[] = all.map((results, i) => {
    const summary = scalingSummary(results, {confidence: opts.confidence})
    return {
      label: labels[i],
      color: i,
      summary,
      results,
      sentences: summarySentences(results, summary),
      baseline: Boolean(opts.baseline) && i === 0,
    }
  })
  const comparisons: ComparisonReport[] = runs.slice(1).map((r) => {
    const comparison = compareRuns(runs[0].summary, r.summary)
    return {
      before: runs[0].label,
      after: r.label,
      comparison,
      sentence: comparisonSentence(runs[0].label, r.label, comparison),
    }
  })
  const title =
    runs.length === 1
      ? `mqbench scaling report: ${runs[0].label} on ${runs[0].results.host.hostname}`
      : `mqbench scaling report: ${runs.map((r) => r.label).join(' vs ')}`
  return {title, generatedAt: new Date().toISOString(), runs, comparisons, charts: buildCharts(runs)}
}
