import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {ResultsJournal} from '../../src/results/journal.js'
import {loadResults} from '../../src/results/load.js'
import type {ResultsFile, Step} from '../../src/results/schema.js'
import {missingIterations, planRemaining} from '../../src/scale/plan.js'

const dir = mkdtempSync(join(tmpdir(), 'mqb-journal-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
// The committed fixture is version 1: read it as the current version, as a resumed run would.
const full: ResultsFile = loadResults(
  fileURLToPath(new URL('../fixtures/results/tap-rr.json', import.meta.url)),
)
const init = (): Omit<ResultsFile, 'steps'> => {
  const {steps: _steps, ...rest} = structuredClone(full)
  return {...rest, run: {...rest.run, status: 'running', finishedAt: undefined}}
}

// What a resumed sweep will measure, as the scale planner reads it from the journal's file.
const remainingQueues = (j: ResultsJournal) => planRemaining(j.results).steps.map((s) => s.queueCount)

describe('ResultsJournal', () => {
  it('writes a valid file after create and after every step, leaving no temp file', () => {
    const path = join(dir, 'run.json')
    const j = ResultsJournal.create(path, init())
    expect(loadResults(path, {allowNoSteps: true}).steps).toHaveLength(0)
    for (const [k, step] of full.steps.entries()) {
      j.appendStep(step)
      const onDisk = loadResults(path)
      expect(onDisk.steps.map((s) => s.queueCount)).toEqual(
        full.steps.slice(0, k + 1).map((s) => s.queueCount),
      )
      expect(onDisk.run.status).toBe('running')
    }
    j.finish('complete')
    const done = loadResults(path)
    expect(done.run.status).toBe('complete')
    expect(done.run.finishedAt).toBeDefined()
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  it('resumes a run killed after step 2 with the remaining queue counts', () => {
    const path = join(dir, 'killed.json')
    const j = ResultsJournal.create(path, init())
    j.appendStep(full.steps[0])
    j.appendStep(full.steps[1])
    // the process dies here: nothing else is written, and the kernel drops its lock
    j.close()
    const resumed = ResultsJournal.open(path)
    expect(resumed.results.steps).toHaveLength(2)
    expect(remainingQueues(resumed)).toEqual([3, 4])
    resumed.appendStep(full.steps[2])
    resumed.appendStep(full.steps[3])
    resumed.finish('complete')
    expect(loadResults(path).steps).toHaveLength(4)
  })

  it('resumes a journal that holds no step yet', () => {
    const path = join(dir, 'nostep.json')
    ResultsJournal.create(path, init()).close()
    expect(remainingQueues(ResultsJournal.open(path))).toEqual([1, 2, 3, 4])
  })

  it('never overwrites an existing file: a second run of the same name gets NAME-2.json; a complete run is not resumed', () => {
    const path = join(dir, 'twice.json')
    const j = ResultsJournal.create(path, init())
    const second = ResultsJournal.create(path, {...init(), run: {...init().run, id: 'second'}})
    expect(second.path).toBe(join(dir, 'twice-2.json'))
    second.appendStep(full.steps[1])
    j.appendStep(full.steps[0])
    j.finish('complete')
    j.close()
    expect(loadResults(path).steps.map((s) => s.queueCount)).toEqual([1])
    expect(loadResults(second.path).run.id).toBe('second')
    expect(loadResults(second.path).steps.map((s) => s.queueCount)).toEqual([2])
    expect(() => ResultsJournal.open(path)).toThrow(/complete already/)
  })

  it('takes the next name when a file of the chosen name appears between the choice and the create', () => {
    const path = join(dir, 'race.json')
    const j = ResultsJournal.create(path, init(), {
      // a writer that takes no lock (an older mqbench, a copy) creates the name just before us
      beforeCreate: (p) => p === path && writeFileSync(p, 'theirs\n'),
    })
    expect(j.path).toBe(join(dir, 'race-2.json'))
    expect(readFileSync(path, 'utf8')).toBe('theirs\n')
    expect(loadResults(j.path, {allowNoSteps: true}).run.id).toBe(init().run.id)
  })

  it('takes the next name while another run holds the lock of the chosen one (it is creating it)', () => {
    const path = join(dir, 'racelock.json')
    let rival: ResultsJournal | undefined
    const j = ResultsJournal.create(path, init(), {
      // the rival took racelock.json's lock first and has not created the file yet
      afterOpen: () => {
        if (!rival) rival = ResultsJournal.create(path, {...init(), run: {...init().run, id: 'rival'}})
      },
    })
    expect(rival?.path).toBe(path)
    expect(j.path).toBe(join(dir, 'racelock-2.json'))
    expect(loadResults(path, {allowNoSteps: true}).run.id).toBe('rival')
  })

  it('refuses a second step with the same queue count', () => {
    const j = ResultsJournal.create(join(dir, 'dup.json'), init())
    j.appendStep(full.steps[0])
    expect(() => j.appendStep(full.steps[0])).toThrow(/recorded already/)
  })

  it('records why a run failed', () => {
    const path = join(dir, 'failed.json')
    const j = ResultsJournal.create(path, init())
    j.appendStep(full.steps[0])
    j.finish('failed', {error: 'server died at step 2', endReason: 'failed: server died at step 2'})
    const r = loadResults(path)
    expect(r.run.status).toBe('failed')
    expect(r.run.error).toBe('server died at step 2')
    expect(r.run.endReason).toBe('failed: server died at step 2')
  })

  it('says a missing directory is bad input', () => {
    let err: unknown
    try {
      ResultsJournal.create(join(dir, 'no/such/dir/run.json'), init())
    } catch (e) {
      err = e
    }
    expect((err as MqbError).exitCode).toBe(ExitCode.badInput)
    expect((err as MqbError).message).toMatch(/no such directory .*no\/such\/dir$/)
  })

  // An alternating sweep grows each step by one iteration per round.
  const partOf = (q: number, indexes: number[]): Step => {
    const step = full.steps.find((s) => s.queueCount === q)!
    return {...step, iterations: step.iterations.filter((it) => indexes.includes(it.index))}
  }

  it('upserts steps iteration by iteration, kept in plan order on disk', () => {
    const path = join(dir, 'alt.json')
    const j = ResultsJournal.create(path, {...init(), config: {...init().config, order: 'alternate'}})
    expect(missingIterations(j.results)).toHaveLength(12)
    j.upsertStep(partOf(3, [0]))
    j.upsertStep(partOf(1, [0]))
    j.upsertStep(partOf(2, [0]))
    let onDisk = loadResults(path)
    expect(onDisk.steps.map((s) => s.queueCount)).toEqual([1, 2, 3])
    expect(onDisk.config.order).toBe('alternate')
    j.upsertStep(partOf(1, [0, 1]))
    onDisk = loadResults(path)
    expect(onDisk.steps.map((s) => [s.queueCount, s.iterations.map((it) => it.index)])).toEqual([
      [1, [0, 1]],
      [2, [0]],
      [3, [0]],
    ])
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([])
    // the process dies here (its lock with it): a resume sees exactly the pairs not written
    j.close()
    const resumed = ResultsJournal.open(path)
    expect(missingIterations(resumed.results)).toEqual([
      {queueCount: 1, iteration: 2},
      {queueCount: 2, iteration: 1},
      {queueCount: 2, iteration: 2},
      {queueCount: 3, iteration: 1},
      {queueCount: 3, iteration: 2},
      {queueCount: 4, iteration: 0},
      {queueCount: 4, iteration: 1},
      {queueCount: 4, iteration: 2},
    ])
  })

  it('keeps the previous steps in memory and on disk when an upsert cannot be written', () => {
    const path = join(dir, 'altfail.json')
    const j = ResultsJournal.create(path, init())
    j.upsertStep(partOf(1, [0]))
    const before = readFileSync(path, 'utf8')
    // a directory where the temporary file goes makes the write fail before the rename
    const tmp = join(dir, `.altfail.json.${process.pid}.tmp`)
    mkdirSync(tmp)
    try {
      expect(() => j.upsertStep(partOf(2, [0]))).toThrow(MqbError)
      expect(() => j.upsertStep(partOf(1, [0, 1]))).toThrow(MqbError)
    } finally {
      rmdirSync(tmp)
    }
    expect(readFileSync(path, 'utf8')).toBe(before)
    expect(j.results.steps.map((s) => [s.queueCount, s.iterations.length])).toEqual([[1, 1]])
    j.upsertStep(partOf(2, [0]))
    expect(loadResults(path).steps.map((s) => s.queueCount)).toEqual([1, 2])
  })

  it('refuses an upsert outside the plan or with an iteration twice', () => {
    const j = ResultsJournal.create(join(dir, 'altbad.json'), init())
    expect(() => j.upsertStep({...full.steps[0], queueCount: 9})).toThrow(
      /9 queue\(s\) is not in the run's plan \(1, 2, 3, 4\)/,
    )
    const step = full.steps[0]
    expect(() => j.upsertStep({...step, iterations: [step.iterations[0], step.iterations[0]]})).toThrow(
      /iteration index twice/,
    )
    expect(j.results.steps).toEqual([])
  })
})
