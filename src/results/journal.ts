// The run's results file, kept on disk as a journal: after every step the whole file is written
// to a temporary file in the same directory, fsynced, and renamed over the old one, so a reader
// (or a crash at any instant) sees either the previous complete file or the new one, never half
// a file. A sweep killed during step 5 leaves a valid file with steps 1-4 and status "running";
// `ResultsJournal.open` picks it up for --resume. Results files are small (tens to hundreds of
// KB), so rewriting the whole file per step costs less than any append format would save.
import {existsSync} from 'node:fs'
import {writeFileAtomic} from '../host/files.js'
import {ExitCode, MqbError} from '../errors.js'
import {loadResults, validateResults} from './load.js'
import type {GuestRecord, ResultsFile, RunStatus, Step} from './schema.js'

export class ResultsJournal {
  private constructor(
    readonly path: string,
    private readonly file: ResultsFile,
  ) {}

  /** Starts a new results file; refuses to overwrite an existing one (use open() to resume it). */
  static create(path: string, init: Omit<ResultsFile, 'steps'>): ResultsJournal {
    if (existsSync(path)) {
      throw new MqbError(`${path} exists already`, ExitCode.busy, [
        `resume that run with --resume ${path}, or choose another --out`,
      ])
    }
    const file: ResultsFile = {...init, run: {...init.run}, steps: []}
    validateResults(file, {allowNoSteps: true, what: path})
    const journal = new ResultsJournal(path, file)
    journal.flush()
    return journal
  }

  /** Opens an existing journal to resume it: the file must be valid; it may hold no step yet. */
  static open(path: string): ResultsJournal {
    const file = loadResults(path, {allowNoSteps: true})
    if (file.run.status === 'complete') {
      throw new MqbError(`${path}: the run is complete already; nothing to resume`, ExitCode.badInput)
    }
    return new ResultsJournal(path, file)
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
   * Records the vm testbed's guest (qemu command line, kernel, accel, ...) in the run's testbed
   * configuration; a resumed run boots its own guest and records that one.
   */
  recordGuest(guest: GuestRecord): void {
    this.file.config.testbed = {...this.file.config.testbed, guest}
    this.flush()
  }

  /** Marks the run finished (complete, interrupted, failed), with the error that ended it, if any. */
  finish(status: RunStatus, error?: string): void {
    this.file.run.status = status
    this.file.run.finishedAt = new Date().toISOString()
    if (error !== undefined) this.file.run.error = error
    else delete this.file.run.error
    this.flush()
  }

  private flush(): void {
    writeFileAtomic(this.path, JSON.stringify(this.file, null, 1) + '\n')
  }
}
