// The run's results file, kept on disk as a journal: after every step the whole file is written
// to a temporary file in the same directory, fsynced, and renamed over the old one, so a reader
// (or a crash at any instant) sees either the previous complete file or the new one, never half
// a file. A sweep killed during step 5 leaves a valid file with steps 1-4 and status "running";
// `ResultsJournal.open` picks it up for --resume. Results files are small (tens to hundreds of
// KB), so rewriting the whole file per step costs less than any append format would save.
// Every write is validated first: mqbench never writes a file that its own loader would refuse.
// A new file never replaces another: its name is created exclusively (two runs started in the
// same second get NAME.json and NAME-2.json), and the writer holds the file's lock (lock.ts).
import {ExitCode, MqbError} from '../errors.js'
import {createFileExclusive, writeFileAtomic} from '../host/files.js'
import {loadResults, validateResults} from './load.js'
import {lockResults, type LockSteps, type ResultsLock} from './lock.js'
import type {ResultsFile, RunStatus, Step} from './schema.js'

/** NAME.json, NAME-2.json, NAME-3.json, ...: the names a new results file tries in turn. */
export function candidateName(path: string, n: number): string {
  return n === 1 ? path : path.replace(/(\.json)?$/, `-${n}$1`)
}

export interface CreateSteps extends LockSteps {
  /** before the file's name is created: tests create a rival file of that name here */
  beforeCreate?: (path: string) => void
}

export class ResultsJournal {
  private constructor(
    readonly path: string,
    private readonly file: ResultsFile,
    private readonly lock: ResultsLock,
  ) {}

  /**
   * Starts a new results file at `path`, or, when that name exists or is being created by another
   * run, at the first free NAME-2.json, NAME-3.json, ...; `journal.path` says which. Never
   * replaces a file. The journal holds the file's lock until close().
   */
  static create(path: string, init: Omit<ResultsFile, 'steps'>, steps: CreateSteps = {}): ResultsJournal {
    const file: ResultsFile = {...init, run: {...init.run}, steps: []}
    const text = serialise(file, path)
    for (let n = 1; n <= 1000; n++) {
      const candidate = candidateName(path, n)
      let lock: ResultsLock
      try {
        lock = lockResults(candidate, process.pid, steps)
      } catch (err) {
        if (err instanceof MqbError && err.exitCode === ExitCode.busy) continue // another run is creating it
        throw err
      }
      try {
        steps.beforeCreate?.(candidate)
        if (createFileExclusive(candidate, text)) return new ResultsJournal(candidate, file, lock)
      } catch (err) {
        lock.release()
        throw err
      }
      lock.release()
    }
    throw new MqbError(`cannot create ${path}: it and 999 numbered variants exist`, ExitCode.busy, [
      'choose another --out',
    ])
  }

  /**
   * Opens an existing journal to resume it: locks it first (another resume of it exits 12 naming
   * this process), then reads it; the file must be valid and may hold no step yet.
   */
  static open(path: string, steps: LockSteps = {}): ResultsJournal {
    const lock = lockResults(path, process.pid, steps)
    try {
      const file = loadResults(path, {allowNoSteps: true})
      if (file.run.status === 'complete') {
        throw new MqbError(`${path}: the run is complete already; nothing to resume`, ExitCode.badInput)
      }
      return new ResultsJournal(path, file, lock)
    } catch (err) {
      lock.release()
      throw err
    }
  }

  /** Lets another process resume the file; the journal must not be written afterwards. */
  close(): void {
    this.lock.release()
  }

  /** The file as written so far (do not mutate; use appendStep/upsertStep/finish). */
  get results(): ResultsFile {
    return this.file
  }

  /** Queue counts of the run's plan that have no recorded step yet, in plan order. */
  remainingQueues(): number[] {
    const done = new Set(this.file.steps.map((s) => s.queueCount))
    return this.file.config.queues.filter((q) => !done.has(q))
  }

  /** Records a finished step durably before the sweep moves on. */
  appendStep(step: Step): void {
    if (this.file.steps.some((s) => s.queueCount === step.queueCount)) {
      throw new Error(`results journal: a step with ${step.queueCount} queue(s) is recorded already`)
    }
    this.file.steps.push(step)
    this.file.run.status = 'running'
    this.flush()
  }

  /**
   * (queue count, iteration) pairs of the plan with no recorded iteration, by queue count in plan
   * order, then iteration index. An alternating sweep records steps iteration by iteration, so a
   * run killed mid-round leaves steps with some iterations and not others.
   */
  missingIterations(): Array<{queueCount: number; iteration: number}> {
    const {queues, iterations} = this.file.config
    return queues.flatMap((queueCount) => {
      const have = new Set(
        this.file.steps.find((s) => s.queueCount === queueCount)?.iterations.map((it) => it.index),
      )
      return Array.from({length: iterations}, (_, iteration) => iteration)
        .filter((i) => !have.has(i))
        .map((iteration) => ({queueCount, iteration}))
    })
  }

  /**
   * Records a step that grows iteration by iteration (alternating sweep): replaces the step with
   * the same queue count, or inserts it so that steps stay in plan order. Durable before it
   * returns; if the write fails, the journal (in memory and on disk) keeps the previous steps.
   */
  upsertStep(step: Step): void {
    const {queues} = this.file.config
    if (!queues.includes(step.queueCount))
      throw new Error(
        `results journal: ${step.queueCount} queue(s) is not in the run's plan (${queues.join(', ')})`,
      )
    const indexes = step.iterations.map((it) => it.index)
    if (new Set(indexes).size !== indexes.length)
      throw new Error(
        `results journal: the step with ${step.queueCount} queue(s) holds an iteration index twice (${indexes.join(', ')})`,
      )
    const before = this.file.steps
    const statusBefore = this.file.run.status
    const steps = [...before.filter((s) => s.queueCount !== step.queueCount), step]
    steps.sort((a, b) => queues.indexOf(a.queueCount) - queues.indexOf(b.queueCount))
    this.file.steps = steps
    this.file.run.status = 'running'
    try {
      this.flush()
    } catch (err) {
      this.file.steps = before
      this.file.run.status = statusBefore
      throw err
    }
  }

  /**
   * Marks the run finished (complete, interrupted, failed) with why it ended, and the error that
   * ended it, if any.
   */
  finish(status: RunStatus, end: {error?: string; endReason?: string} = {}): void {
    this.file.run.status = status
    this.file.run.finishedAt = new Date().toISOString()
    if (end.error !== undefined) this.file.run.error = end.error
    else delete this.file.run.error
    if (end.endReason !== undefined) this.file.run.endReason = end.endReason
    this.flush()
  }

  /** True when every (queue count, iteration) of the plan is recorded. */
  get allRecorded(): boolean {
    return this.missingIterations().length === 0
  }

  private flush(): void {
    writeFileAtomic(this.path, serialise(this.file, this.path))
  }
}

/** The file's text, once it passed the validator that every reader applies. */
function serialise(file: ResultsFile, path: string): string {
  try {
    validateResults(file, {allowNoSteps: true, what: path, written: true})
  } catch (err) {
    // A reader would refuse what this run made: a bug, named by the field, and never written.
    throw new MqbError(
      `mqbench made a results file it cannot read (a bug; please report it): ${(err as Error).message}`,
      ExitCode.failure,
    )
  }
  return JSON.stringify(file, null, 1) + '\n'
}
