// Reading a results file: every way a file can be unusable ends as one line that names the file
// and what is wrong with it (ExitCode.badResults), never a stack trace or a page of ajv output.
// The JSON Schema in docs/results.schema.json is the single validator; it allows unknown
// properties so that additive v1 fields written by a newer mqbench still load here.
import {readFileSync} from 'node:fs'
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'
import {ExitCode, MqbError} from '../errors.js'
import {histogramEncodingProblem} from './histogram-check.js'
import {RESULTS_SCHEMA, RESULTS_VERSION, type ResultsFile} from './schema.js'
import {upgradeResults} from './versions.js'

/** docs/ sits two levels above both src/results/ (tests, tsx) and dist/results/ (the CLI). */
export const RESULTS_SCHEMA_PATH = new URL('../../docs/results.schema.json', import.meta.url)

let validator: ValidateFunction | undefined

/** An ajv for mqbench's schemas: strict, with the one format they use. */
export function schemaAjv(opts: {discriminator?: boolean} = {}): Ajv {
  const ajv = new Ajv({allErrors: false, strict: true, allowUnionTypes: true, ...opts})
  // ajv-formats is not a dependency; ISO 8601 timestamps are all the schema's formats need.
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) =>
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)),
  })
  return ajv
}

function compiled(): ValidateFunction {
  if (validator) return validator
  const ajv = schemaAjv({discriminator: true})
  validator = ajv.compile(JSON.parse(readFileSync(RESULTS_SCHEMA_PATH, 'utf8')))
  return validator
}

const bad = (what: string, message: string) => new MqbError(`${what}: ${message}`, ExitCode.badResults)

/** One ajv error as words: where, and what is wrong. */
export function describeError(e: ErrorObject): string {
  const where =
    e.instancePath === '' ? 'the top level' : e.instancePath.replace(/^\//, '').replaceAll('/', '.')
  if (e.keyword === 'required')
    return `${where} lacks the field "${(e.params as {missingProperty: string}).missingProperty}"`
  if (e.keyword === 'enum')
    return `${where} must be one of ${(e.params as {allowedValues: unknown[]}).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
  return `${where} ${e.message ?? 'is invalid'}`
}

export interface ValidateOptions {
  /** a journal being resumed may hold no step yet (killed during the first); a report needs one */
  allowNoSteps?: boolean
  /** names the input in messages (a path); defaults to "results" */
  what?: string
  /** a file this process is about to write: its histograms are its own encodings, not decoded again */
  written?: boolean
}

/**
 * What the schema cannot say: each queue count is one step (a second would be silently dropped
 * by every reader), each iteration index appears once per step, and every latency histogram
 * decodes. Returns the first problem, naming the field, or undefined.
 */
function contentProblem(results: ResultsFile, decode: boolean): string | undefined {
  const stepOf = new Map<number, number>()
  for (const [i, step] of results.steps.entries()) {
    const first = stepOf.get(step.queueCount)
    if (first !== undefined)
      return `steps.${i}.queueCount: ${step.queueCount} queue(s) is recorded twice (steps.${first} has it too)`
    stepOf.set(step.queueCount, i)
    const indexOf = new Map<number, number>()
    for (const [j, it] of step.iterations.entries()) {
      const prev = indexOf.get(it.index)
      if (prev !== undefined)
        return `steps.${i}.iterations.${j}.index: iteration ${it.index} is recorded twice (iterations.${prev} has it too)`
      indexOf.set(it.index, j)
      if (!decode || it.result.workload !== 'rr') continue
      const merged = it.result.latencyHistogram && histogramEncodingProblem(it.result.latencyHistogram)
      if (merged)
        return `steps.${i}.iterations.${j}.result.latencyHistogram is not a valid histogram (${merged})`
      for (const [k, session] of it.result.sessions.entries()) {
        const problem = histogramEncodingProblem(session.latencyHistogram)
        if (problem)
          return `steps.${i}.iterations.${j}.result.sessions.${k}.latencyHistogram is not a valid histogram (${problem})`
      }
    }
  }
  return undefined
}

/** Checks that `obj` is a results file this mqbench can read, and returns it typed. */
export function validateResults(obj: unknown, opts: ValidateOptions = {}): ResultsFile {
  const what = opts.what ?? 'results'
  if (
    typeof obj !== 'object' ||
    obj === null ||
    Array.isArray(obj) ||
    (obj as {schema?: unknown}).schema !== RESULTS_SCHEMA
  ) {
    throw bad(what, `not an mqbench results file (no "schema": "${RESULTS_SCHEMA}" field)`)
  }
  // A test plan's file (results/plan.ts) has cases, not steps: say so rather than "lacks steps".
  if ((obj as {kind?: unknown}).kind === 'plan')
    throw bad(what, 'a test-plan results file (check vm), not the results of a scale run')
  // Older versions are upgraded in memory (a copy: the caller's object stays as it was read).
  const version = (obj as {version?: unknown}).version
  if (version !== RESULTS_VERSION) {
    obj = structuredClone(obj)
    const unknown = upgradeResults(obj as Record<string, unknown>)
    if (unknown) throw bad(what, unknown)
  }
  const validate = compiled()
  if (!validate(obj)) {
    const first = validate.errors?.[0]
    throw bad(
      what,
      `not a valid version ${RESULTS_VERSION} results file: ${first ? describeError(first) : 'schema check failed'}`,
    )
  }
  const results = obj as unknown as ResultsFile
  const problem = contentProblem(results, !opts.written)
  if (problem) throw bad(what, `not a valid version ${RESULTS_VERSION} results file: ${problem}`)
  if (!opts.allowNoSteps && results.steps.length === 0) {
    throw bad(
      what,
      `the run recorded no steps (status "${results.run.status}"${results.run.error ? `: ${results.run.error}` : ''}); nothing to report`,
    )
  }
  for (const step of results.steps) {
    if (step.iterations.length === 0 && !opts.allowNoSteps)
      throw bad(what, `step with ${step.queueCount} queue(s) has no iterations`)
  }
  return results
}

/** Reads and validates a results file; every failure is one MqbError line naming the file. */
/** Reads a file as JSON; every failure is one MqbError line naming the file. */
export function readResultsJson(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as {code?: string}).code
    if (code === 'ENOENT') throw bad(path, 'no such file')
    if (code === 'EISDIR') throw bad(path, 'is a directory, not a results file')
    if (code === 'EACCES') throw bad(path, 'permission denied')
    throw bad(path, (err as Error).message)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw bad(path, `not JSON (${(err as Error).message}); is this an mqbench results file?`)
  }
}

/** Reads and validates a results file; every failure is one MqbError line naming the file. */
export function loadResults(path: string, opts: Omit<ValidateOptions, 'what'> = {}): ResultsFile {
  return validateResults(readResultsJson(path), {...opts, what: path})
}
