// `check vm --baseline FILE`: each case's load figures against the same case's in an
// earlier plan results file. Under TCG a figure moves by tens of percent from run to run, so a
// drop counts as a regression only beyond the noise measured by the repeats within both runs
// (their two ranges together, relative to the baseline's median, as the drop is)
// (at least MIN_SAMPLES of each load); with fewer the comparison says it cannot judge.
import {ExitCode, MqbError} from '../../errors.js'
import {describePlacement} from '../../results/placement.js'
import {loadAnyResults, type PlanResultsFile} from '../../results/plan.js'
import {
  LOAD_METRICS,
  type BaselineComparison,
  type BaselineVerdict,
  type LoadMetric,
  type LoadSamples,
} from '../../results/plan-schema.js'
import {median} from '../../results/estimate.js'
import {loadRepeats} from './judge.js'

export const MIN_SAMPLES = 3
/** Under this relative drop nothing is called a regression, however quiet the runs were. */
export const FLOOR = 0.05

/** The loads of a plan's cases (CaseFigures.loads), grouped by case, label and metric. */
export function loadSamples(
  cases: Array<{
    id: string
    figures?: {loads?: Array<{label: string} & Partial<Record<LoadMetric, number>>>}
  }>,
): LoadSamples[] {
  const out = new Map<string, LoadSamples>()
  for (const c of cases)
    for (const load of c.figures?.loads ?? [])
      for (const metric of LOAD_METRICS) {
        const v = load[metric]
        if (typeof v !== 'number' || !Number.isFinite(v)) continue
        const key = JSON.stringify([c.id, load.label, metric])
        if (!out.has(key)) out.set(key, {caseId: c.id, label: load.label, metric, values: []})
        out.get(key)!.values.push(v)
      }
  return [...out.values()]
}

const range = (v: number[]) => Math.max(...v) - Math.min(...v)
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
const list = (v: number[]) => v.map((x) => Math.round(x)).join('/')

/** One verdict per load of the current run: PASS, FAIL (a drop beyond the noise) or N/A with why. */
export function compareWithBaseline(current: LoadSamples[], baseline: LoadSamples[]): BaselineVerdict[] {
  return current.map((cur) => {
    const base = baseline.find(
      (b) => b.caseId === cur.caseId && b.label === cur.label && b.metric === cur.metric,
    )
    const head = `${cur.caseId} "${cur.label}" ${cur.metric}`
    if (!base) return {...cur, status: 'N/A', evidence: `${head}: not in the baseline`}
    const few = [cur, base].filter((s) => s.values.length < MIN_SAMPLES)
    if (few.length)
      return {
        ...cur,
        baseline: base.values,
        status: 'N/A',
        evidence: `${head}: cannot estimate the run-to-run noise from ${few
          .map(
            (s) =>
              `${s.values.length} repeat${s.values.length === 1 ? '' : 's'} ${s === cur ? 'now' : 'in the baseline'}`,
          )
          .join(' and ')} (need ${MIN_SAMPLES})`,
      }
    const b = median(base.values)
    if (!(b > 0))
      return {...cur, baseline: base.values, status: 'N/A', evidence: `${head}: the baseline median is ${b}`}
    const change = median(cur.values) / b - 1
    // Each median lies within its run's range, so two runs of one setup can have medians as far
    // apart as their two ranges together: the larger range alone called a 7.8% drop between two
    // identical TCG runs (larger range 5.6%) a regression. The ranges are added in the load's own
    // units and taken relative to the baseline's median, as the drop is: each range relative to
    // its own median, added, passed 100% for noisy runs, and no drop (at most 100%) could exceed
    // it (a 1-queue load at 3% of a baseline whose repeats were 48% apart went unflagged).
    const noise = (range(cur.values) + range(base.values)) / b
    const threshold = Math.max(noise, FLOOR)
    const regressed = -change > threshold
    return {
      ...cur,
      baseline: base.values,
      change,
      noise,
      status: regressed ? 'FAIL' : 'PASS',
      evidence:
        `${head}: median ${Math.round(median(cur.values))} (${list(cur.values)}) vs baseline ${Math.round(b)} ` +
        `(${list(base.values)}), ${pct(change)}; noise ${(noise * 100).toFixed(1)}%` +
        (regressed ? ': a regression beyond the noise' : ''),
    }
  })
}

/**
 * Why two plans' loads cannot be compared (other queues, sessions, load length, repeats, vCPU
 * pinning, accelerator), or undefined. Without `accel` (before any guest booted) the
 * accelerators are not compared.
 */
export function incomparable(
  current: {params: PlanParamsLike; accel?: string[]},
  baseline: {params: PlanParamsLike; accel?: string[]},
): string | undefined {
  const diffs: string[] = []
  for (const k of ['queues', 'vcpus', 'sessions', 'durationMs'] as const)
    if (current.params[k] !== baseline.params[k])
      diffs.push(`${k} ${baseline.params[k]} in the baseline, ${current.params[k]} now`)
  // The noise is the range of the repeats, which widens with their number: equal counts only.
  const [rb, rc] = [loadRepeats(baseline.params), loadRepeats(current.params)]
  if (rb !== rc) diffs.push(`repeats ${rb} in the baseline, ${rc} now`)
  // Pinned and unpinned vCPUs differ in placement, not in the code under test: like with like only.
  const pins = (p: PlanParamsLike) => describePlacement(p.vcpuCpus ?? [])
  if (pins(current.params) !== pins(baseline.params))
    diffs.push(`vCPUs ${pins(baseline.params)} in the baseline, ${pins(current.params)} now`)
  const acc = (a: string[]) => [...new Set(a)].sort().join('+') || 'none'
  if (current.accel && baseline.accel && acc(current.accel) !== acc(baseline.accel))
    diffs.push(`guests under ${acc(baseline.accel)} in the baseline, ${acc(current.accel)} now`)
  return diffs.length ? `the runs differ: ${diffs.join(', ')}` : undefined
}

type PlanParamsLike = {
  queues: number
  vcpus: number
  sessions: number
  durationMs: number
  repeats?: number
  vcpuCpus?: number[]
}

/** The parts of a plan report (or a plan results file) the comparison reads. */
export interface PlanLike {
  params: PlanParamsLike
  cases: Array<Parameters<typeof loadSamples>[0][number] & {guests: Array<{accel: string}>}>
}

/** Every load of `current` against `baseline`; all N/A with the reason when the runs differ. */
export function judgeBaseline(current: PlanLike, baseline: PlanLike, file: string): BaselineComparison {
  const accel = (p: PlanLike) => p.cases.flatMap((c) => c.guests.map((g) => g.accel))
  const why = incomparable(
    {params: current.params, accel: accel(current)},
    {params: baseline.params, accel: accel(baseline)},
  )
  const now = loadSamples(current.cases)
  const repeats = loadRepeats(current.params)
  const verdicts = why
    ? now.map((s): BaselineVerdict => ({...s, status: 'N/A', evidence: `${s.caseId} "${s.label}": ${why}`}))
    : compareWithBaseline(now, loadSamples(baseline.cases)).map((v) =>
        // Fewer samples than the plan's repeats: a load its case runs once to check behaviour
        // (affinity's single flow, churn under queue changes), not one of the performance figures.
        v.status === 'N/A' && v.values.length < Math.min(repeats, MIN_SAMPLES) && v.baseline
          ? {
              ...v,
              evidence:
                `${v.caseId} "${v.label}" ${v.metric}: ` +
                'not a performance figure: its case runs it once, whatever --repeats',
            }
          : v,
      )
  return {file, verdicts, regressions: verdicts.filter((v) => v.status === 'FAIL').length}
}

/** The loads a comparison judged (PASS or FAIL); the rest are N/A, each with its reason. */
export const comparedLoads = (b: BaselineComparison): number =>
  b.verdicts.filter((v) => v.status !== 'N/A').length

/** The comparison's headline, on the terminal and the page: never "0 regressed" when nothing was compared. */
export function baselineHeadline(b: BaselineComparison): string {
  const compared = comparedLoads(b)
  return compared
    ? `against ${b.file}: ${b.regressions} of ${compared} load(s) compared regressed beyond the noise`
    : `against ${b.file}: no load could be compared (each says why): not a pass`
}

/**
 * Refuses, before anything boots, a baseline whose loads this run cannot be compared with: one
 * recorded with fewer than MIN_SAMPLES repeats (its noise cannot be measured), one whose plan
 * differs (queues, sessions, load length, repeats, pinning), or one without loads of the cases
 * to run. Exit 7: the file given cannot serve; a full run would end with every load N/A.
 */
export function refuseIncomparableBaseline(
  file: string,
  baseline: PlanLike,
  params: PlanParamsLike,
  caseIds: string[],
): void {
  const refuse = (why: string) => new MqbError(`--baseline ${file}: ${why}`, ExitCode.badResults)
  const has = loadRepeats(baseline.params)
  if (has < MIN_SAMPLES)
    throw refuse(
      `it was recorded with ${has} repeat${has === 1 ? '' : 's'} of each load (${baseline.params.repeats === undefined ? 'without --repeats' : `--repeats ${has}`}); a comparison needs ${MIN_SAMPLES} or more on both runs to measure the noise: record it again with --repeats ${MIN_SAMPLES}`,
    )
  const why = incomparable({params}, {params: baseline.params})
  if (why) throw refuse(`its loads cannot be compared with this run's: ${why}`)
  const withLoads = loadSamples(baseline.cases).map((s) => s.caseId)
  if (!caseIds.some((id) => withLoads.includes(id)))
    throw refuse(
      `it holds no load of the cases to run (${caseIds.join(', ')}); its loads are of ${[...new Set(withLoads)].join(', ') || 'no case'}`,
    )
}

/** The baseline plan of `--baseline FILE`: a results file `check vm` wrote, validated. */
export function loadBaselinePlan(path: string): PlanResultsFile {
  const r = loadAnyResults(path)
  if (r.kind !== 'plan')
    throw new MqbError(
      `${path} is the results file of a scale run: --baseline takes one that check vm wrote`,
      ExitCode.badResults,
    )
  return r.plan
}
