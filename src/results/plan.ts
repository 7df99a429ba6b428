// The results file of `check vm`: a test-plan kind of the results family ("schema":
// "mqbench/results", "kind": "plan"), with its own JSON Schema (docs/plan-results.schema.json,
// which takes HostInfo and GuestRecord from the scale schema) and validator. A scale run's file
// has steps; a plan has cases: the two never share a validator, and loadAnyResults dispatches.
// A plan file is written once, at the end, atomically and under a name no other run has.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {ValidateFunction} from 'ajv'
import type {PlanReport} from './plan-schema.js'
import {ExitCode, MqbError} from '../errors.js'
import {createFileExclusive, ensureDir} from '../host/files.js'
import {candidateName} from './journal.js'
import {describeError, readResultsJson, RESULTS_SCHEMA_PATH, schemaAjv, validateResults} from './load.js'
import {RESULTS_SCHEMA, type HostInfo, type ResultsFile} from './schema.js'
import {PLAN_VERSION, upgradePlan} from './versions.js'

export const PLAN_KIND = 'plan'
export {PLAN_VERSION}

export const PLAN_SCHEMA_PATH = new URL('../../docs/plan-results.schema.json', import.meta.url)

export interface PlanResultsFile extends PlanReport {
  schema: typeof RESULTS_SCHEMA
  kind: typeof PLAN_KIND
  version: typeof PLAN_VERSION
  createdAt: string
  host: HostInfo
  /** the command line that reproduces the run */
  command: string
  /**
   * interrupted: Ctrl-C/SIGTERM stopped the plan; the cases that ended are recorded, the one it
   * stopped as `interrupted`, and `notRun` lists those that never started
   */
  status: 'complete' | 'interrupted'
  /** a guest ran under TCG: timings and rates are functional only */
  functionalOnly: boolean
}

export function planResults(
  report: PlanReport,
  o: {host: HostInfo; command: string; at: Date; status?: PlanResultsFile['status']},
): PlanResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    kind: PLAN_KIND,
    version: PLAN_VERSION,
    createdAt: o.at.toISOString(),
    host: o.host,
    command: o.command,
    status: o.status ?? 'complete',
    functionalOnly: report.cases.some((c) => c.guests.some((g) => g.accel === 'tcg')),
    notRun: [],
    ...report,
  }
}

/**
 * What failed in a plan: its FAIL checks and, with --baseline, the loads that regressed beyond
 * the noise. One count for the closing line, the page's title and the exit code.
 */
export const planFailures = (p: Pick<PlanReport, 'failed' | 'baseline'>): number =>
  p.failed + (p.baseline?.regressions ?? 0)

/** "13 passed, 2 failed (2 regressed against the baseline), 4 n/a, 1 interrupted, 3 not run (95 s)" */
export function planClosingLine(p: PlanReport): string {
  const regressed = p.baseline?.regressions ?? 0
  const interrupted = p.cases.filter((c) => c.interrupted).length
  return [
    `${p.passed} passed`,
    `${planFailures(p)} failed${regressed ? ` (${regressed} regressed against the baseline)` : ''}`,
    `${p.na} n/a`,
    ...(interrupted ? [`${interrupted} interrupted`] : []),
    ...(p.notRun?.length ? [`${p.notRun.length} not run`] : []),
  ]
    .join(', ')
    .concat(` (${(p.wallMs / 1000).toFixed(0)} s)`)
}

let validator: ValidateFunction | undefined

function compiled(): ValidateFunction {
  if (validator) return validator
  const ajv = schemaAjv({discriminator: true})
  // HostInfo and GuestRecord are referenced from the scale schema, not copied.
  ajv.addSchema(JSON.parse(readFileSync(RESULTS_SCHEMA_PATH, 'utf8')))
  validator = ajv.compile(JSON.parse(readFileSync(PLAN_SCHEMA_PATH, 'utf8')))
  return validator
}

/** What the schema cannot say: the totals are the checks' counts, and case ids are unique. */
function contentProblem(f: PlanResultsFile): string | undefined {
  const seen = new Map<string, number>()
  for (const [i, c] of f.cases.entries()) {
    const first = seen.get(c.id)
    if (first !== undefined)
      return `cases.${i}.id: case "${c.id}" is recorded twice (cases.${first} has it too)`
    seen.set(c.id, i)
  }
  const stopped = f.cases.findIndex((c) => c.interrupted)
  if (stopped >= 0 && f.status !== 'interrupted')
    return `cases.${stopped}: case "${f.cases[stopped].id}" was interrupted, but the plan's status is ${f.status}`
  if (stopped >= 0 && stopped !== f.cases.length - 1)
    return `cases.${stopped}: case "${f.cases[stopped].id}" was interrupted, yet cases ran after it`
  for (const [i, c] of (f.notRun ?? []).entries()) {
    if (f.status !== 'interrupted')
      return `notRun.${i}: case "${c.id}" did not run, but the plan's status is ${f.status}`
    if (seen.has(c.id))
      return `notRun.${i}: case "${c.id}" is listed as not run, yet cases.${seen.get(c.id)} ran it`
  }
  const all = f.cases.flatMap((c) => c.checks)
  const count = (s: string) => all.filter((c) => c.status === s).length
  for (const [field, status] of [
    ['passed', 'PASS'],
    ['failed', 'FAIL'],
    ['na', 'N/A'],
  ] as const)
    if (f[field] !== count(status))
      return `${field} is ${f[field]}, but the cases hold ${count(status)} ${status} check(s)`
  if (f.functionalOnly !== f.cases.some((c) => c.guests.some((g) => g.accel === 'tcg')))
    return `functionalOnly is ${f.functionalOnly}, but ${f.functionalOnly ? 'no guest' : 'a guest'} ran under TCG`
  return undefined
}

/** Checks that `obj` is a test-plan results file this mqbench can read, and returns it typed. */
export function validatePlanResults(obj: unknown, what = 'results'): PlanResultsFile {
  const bad = (message: string) => new MqbError(`${what}: ${message}`, ExitCode.badResults)
  const o = obj as {schema?: unknown; kind?: unknown; version?: unknown}
  if (typeof obj !== 'object' || obj === null || o.schema !== RESULTS_SCHEMA || o.kind !== PLAN_KIND)
    throw bad(
      `not an mqbench test-plan results file (no "schema": "${RESULTS_SCHEMA}", "kind": "${PLAN_KIND}")`,
    )
  // Older versions are upgraded in memory (results/versions.ts); the file on disk stays as it is.
  const unknown = upgradePlan(obj as Record<string, unknown>)
  if (unknown) throw bad(unknown)
  const validate = compiled()
  if (!validate(obj)) {
    const first = validate.errors?.[0]
    throw bad(`not a valid test-plan results file: ${first ? describeError(first) : 'schema check failed'}`)
  }
  const f = obj as PlanResultsFile
  const problem = contentProblem(f)
  if (problem) throw bad(`not a valid test-plan results file: ${problem}`)
  return f
}

/** ./mqbench-results/check-vm-20261130T190512Z.json */
export function planResultsPath(outDir: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return join(outDir, `check-vm-${stamp}.json`)
}

/**
 * Writes a plan's results under `outDir` (created if missing): validated first, then created
 * atomically and exclusively at the first free name of NAME.json, NAME-2.json, ...; returns the path.
 */
export function writePlanResults(outDir: string, file: PlanResultsFile): string {
  validatePlanResults(file, 'the results about to be written')
  ensureDir(outDir)
  const text = JSON.stringify(file, null, 2) + '\n'
  const path = planResultsPath(outDir, new Date(file.createdAt))
  for (let n = 1; n <= 1000; n++) {
    const candidate = candidateName(path, n)
    if (createFileExclusive(candidate, text)) return candidate
  }
  throw new MqbError(`cannot create ${path}: it and 999 numbered variants exist`, ExitCode.busy, [
    'choose another --out',
  ])
}

export type AnyResults = {kind: 'run'; results: ResultsFile} | {kind: 'plan'; plan: PlanResultsFile}

/** Reads a results file of either kind: a scale run's (steps) or a test plan's (cases). */
export function loadAnyResults(path: string): AnyResults {
  const obj = readResultsJson(path)
  if ((obj as {kind?: unknown} | null)?.kind === PLAN_KIND)
    return {kind: 'plan', plan: validatePlanResults(obj, path)}
  return {kind: 'run', results: validateResults(obj, {what: path})}
}
