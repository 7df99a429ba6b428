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
import type {GuestRecord, Iteration, ResultsFile, RunStatus, Step} from './schema.js'

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
   * Adds one iteration to its step (alternating sweep), creating the step on its first visit, and
   * records it durably (upsertStep); returns the step as recorded.
   */
  addIteration(
    queueCount: number,
    visit: {startedAt: string; config: Step['config']},
    iteration: Iteration,
    finishedAt: string,
  ): Step {
    const previous = this.file.steps.find((s) => s.queueCount === queueCount)
    const step = withIteration(previous, visit, iteration, finishedAt, queueCount)
    this.upsertStep(step)
    return step
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
   * Records the vm testbed's guest (qemu command line, kernel, accel, ...) in the run's testbed
   * configuration; a resumed run boots its own guest and records that one.
   */
  recordGuest(guest: GuestRecord): void {
    this.file.config.testbed = {...this.file.config.testbed, guest}
    this.flush()
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

/**
 * A step with one more iteration, iterations kept in index order. The step spans its first
 * iteration's visit (warm-up included, as in steps order) to its last iteration's end; the
 * configuration in force is the one read back on its first visit.
 */
export function withIteration(
  previous: Step | undefined,
  visit: {startedAt: string; config: Step['config']},
  iteration: Iteration,
  finishedAt: string,
  queueCount: number,
): Step {
  if (!previous)
    return {queueCount, startedAt: visit.startedAt, finishedAt, config: visit.config, iterations: [iteration]}
  const iterations = [...previous.iterations.filter((it) => it.index !== iteration.index), iteration].sort(
    (a, b) => a.index - b.index,
  )
  const startedAt = previous.startedAt < visit.startedAt ? previous.startedAt : visit.startedAt
  const last = previous.finishedAt > finishedAt ? previous.finishedAt : finishedAt
  return {...previous, startedAt, finishedAt: last, iterations}
}
