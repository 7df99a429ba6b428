// One `mqbench scale` run from start to end: plan (or resume), testbed, journal, workload,
// sweep (in steps or alternating rounds), and whatever ends it: completion, Ctrl-C/SIGTERM (the
// step or, alternating, the iteration in progress is abandoned; the journal says interrupted), or an error (the journal says failed). The testbed is removed
// in every case. The command only parses flags and renders what this returns.
import {farCheck, requirePrereqs, type NeedsId} from '../prereqs.js'
import {randomUUID} from 'node:crypto'
import {mkdirSync, rmSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {hostInfo} from '../host/info.js'
import {ResultsJournal} from '../results/journal.js'
import {RESULTS_SCHEMA, RESULTS_VERSION, type ResultsFile} from '../results/schema.js'
import {randomTestbedName} from '../testbed/common.js'
import {createTestbed, type VmOptions} from '../testbed/index.js'
import {ownerAlive, ownerSelf, readRecords, removeTestbed, type TestbedRecord} from '../testbed/registry.js'
import {runAlternating} from './alternate.js'
import {
  missingIterations,
  planRemaining,
  planScale,
  resultsPath,
  shellCommand,
  type ScaleFlags,
  type ScalePlan,
} from './plan.js'
import {RoundProgress, SweepProgress} from './progress.js'
import {runSweep, SweepInterrupted, type Probes, type SweepDeps} from './sweep.js'
import {PartialRunError} from '../sessions/index.js'
import {WORKLOADS} from './workloads.js'

export interface ScaleRunOptions {
  /** a new run: its flags and the directory for the results file */
  flags?: ScaleFlags
  outDir?: string
  /** or a results file to finish */
  resume?: string
  token?: string
  /** dev testbed: the person allows a server that is not on this machine (--allow-remote) */
  allowRemote?: boolean
  relayCpus?: number[]
  /** vm testbed: the guest's vCPUs, memory, kernel, accel */
  vm?: VmOptions
  /** the argv after `mqbench`, recorded in the results file */
  argv: string[]
  /** false: no progress lines (--json) */
  progress: boolean
  /** where the testbed registers every host change with its undo */
  cleanup: CleanupRegistry
  /** aborted on Ctrl-C/SIGTERM: the step (or iteration) in progress is abandoned, the journal says interrupted */
  signal?: AbortSignal
  probes?: Probes
}

export interface ScaleRunResult {
  resultsFile: string
  results: ResultsFile
}

function openJournal(opts: ScaleRunOptions): {journal: ResultsJournal; plan: ScalePlan} {
  if (opts.resume) {
    const journal = ResultsJournal.open(opts.resume)
    // The recorded order decides: an alternating run resumes round by round where it stopped.
    return {journal, plan: planRemaining(journal.results)}
  }
  if (!opts.flags) throw new MqbError('give --queues for a new run, or --resume FILE', ExitCode.badInput)
  const plan = planScale(opts.flags, {testbedName: randomTestbedName()})
  const now = new Date()
  const outDir = opts.outDir ?? './mqbench-results'
  try {
    mkdirSync(outDir, {recursive: true})
  } catch (err) {
    throw new MqbError(`cannot create --out ${outDir}: ${(err as Error).message}`, ExitCode.badInput)
  }
  // The verdict on what limits scaling needs to know which CPUs the threads could run on.
  if (opts.relayCpus?.length && plan.config.testbed.kind === 'tap')
    plan.config.pinnedCpus = {
      ...plan.config.pinnedCpus,
      relay: [...new Set(opts.relayCpus)].sort((a, b) => a - b),
    }
  const journal = ResultsJournal.create(resultsPath(outDir, plan.config, now), {
    schema: RESULTS_SCHEMA,
    version: RESULTS_VERSION,
    run: {
      id: randomUUID(),
      startedAt: now.toISOString(),
      status: 'running',
      argv: opts.argv,
      command: shellCommand(opts.argv),
    },
    host: hostInfo(),
    config: plan.config,
  })
  return {journal, plan}
}

export async function runScale(opts: ScaleRunOptions): Promise<ScaleRunResult> {
  // What the testbed needs, before a results file is made (a resumed run's kind is in its file).
  const needs = (kind: string) => requirePrereqs(`testbed:${kind}` as NeedsId, {kernel: opts.vm?.kernel})
  if (opts.flags && !opts.resume) await needs(opts.flags.testbed.kind)
  const {journal, plan} = openJournal(opts)
  const {config} = plan
  if (opts.resume)
    await needs(config.testbed.kind).catch((err: unknown) => {
      journal.close()
      throw err
    })
  const signal = opts.signal ?? new AbortController().signal
  const finished = () => ({resultsFile: journal.path, results: journal.results})
  if (plan.steps.length === 0) {
    try {
      journal.finish('complete', {endReason: 'nothing left to measure'})
    } finally {
      journal.close()
    }
    return finished()
  }
  let testbed
  let workload
  try {
    const resumed = opts.resume ? resumeTestbed(config.testbed.name, readRecords()) : undefined
    if (resumed?.removeStale) {
      // The killed run's guest would otherwise keep burning CPU under the resumed run's figures.
      const removed = removeTestbed(config.testbed.name, {missingOk: true})
      if (opts.progress && removed.length)
        process.stderr.write(
          `mqbench: removed testbed ${config.testbed.name} that the stopped run left (${removed.join(', ')})\n`,
        )
    }
    testbed = await createTestbed(
      {
        kind: config.testbed.kind,
        dev: config.testbed.dev,
        server: config.testbed.server,
        token: opts.token,
        name: resumed?.name ?? config.testbed.name,
      },
      {
        maxQueues: plan.maxQueues,
        relayCpus: opts.relayCpus,
        vm: opts.vm,
        cleanup: opts.cleanup,
        owner: ownerSelf('mqbench scale'),
        farCheck: farCheck('far:server'),
      },
    )
    if (testbed.guest) journal.recordGuest(testbed.guest)
    if (opts.progress)
      for (const w of testbed.warnings ?? []) process.stderr.write(`mqbench: warning: ${w}\n`)
    workload = await WORKLOADS[config.workload].prepare(testbed, config, {
      token: opts.token,
      allowRemote: opts.allowRemote,
    })
    await sweep(plan, {testbed, workload, journal, signal, probes: opts.probes}, opts.progress)
    journal.finish('complete', {endReason: `all ${measuredText(journal)} measured`})
    return finished()
  } catch (caught) {
    // A far host that went away says so itself (which host, when, why), not the run's symptom.
    const err = (await testbed?.explain?.(caught)) ?? caught
    const by = typeof signal.reason === 'string' ? signal.reason : 'a signal'
    if (
      (err instanceof SweepInterrupted || signal.aborted) &&
      missingIterations(journal.results).length === 0
    ) {
      // The signal came after the last iteration was recorded: the run is complete (exit 0).
      journal.finish('complete', {
        endReason: `all ${measuredText(journal)} measured (${by} came after the last)`,
      })
      return finished()
    }
    if (err instanceof SweepInterrupted || signal.aborted) {
      journal.finish('interrupted', {endReason: `interrupted by ${by} after ${keptText(journal)}`})
      throw new MqbError(
        `interrupted: ${keptText(journal)} kept in ${journal.path}; finish with \`mqbench scale --resume ${journal.path}\``,
        ExitCode.interrupted,
      )
    }
    if (!testbed && !opts.resume) {
      // The testbed could not even be made (no such device, no privilege): nothing was measured,
      // so leave no results file behind, only the error.
      rmSync(journal.path, {force: true})
      journal.close()
      throw err
    }
    const message = (err as Error).message
    journal.finish('failed', {error: message, endReason: `failed after ${keptText(journal)}: ${message}`})
    if (err instanceof PartialRunError) throw stoppedEarly(err.reason, journal)
    throw err
  } finally {
    await workload?.close().catch(() => {})
    await testbed?.close()
    journal.close()
  }
}

/**
 * The testbed a resumed run uses. The results lock proves the run that wrote the file is gone, so
 * whatever its testbed left (its record names the dead owner; a guest may still run) is removed
 * first and the name is used again, so that a resume killed in turn is found the same way. Only a
 * testbed of that name with a live owner (the name taken by an unrelated run) sends it elsewhere.
 */
export function resumeTestbed(
  name: string,
  records: Array<Pick<TestbedRecord, 'name' | 'pid' | 'owner'>>,
  alive: (r: Pick<TestbedRecord, 'pid' | 'owner'>) => boolean = ownerAlive,
): {name: string; removeStale: boolean} {
  const rec = records.find((r) => r.name === name)
  if (rec && alive(rec)) return {name: randomTestbedName('r'), removeStale: false}
  return {name, removeStale: true}
}

/** Runs the plan in the recorded order, with progress lines unless `progress` is false. */
async function sweep(plan: ScalePlan, deps: Omit<SweepDeps, 'events'>, progress: boolean): Promise<void> {
  const {config} = plan
  if (plan.visits) {
    const p = progress
      ? new RoundProgress(config, config.queues.length * config.iterations - plan.visits.length)
      : undefined
    try {
      await runAlternating(plan, {
        ...deps,
        events: p && {
          visitStarted: (v, r) => p.visitStarted(v, r),
          iterationDone: (v, it) => p.iterationDone(v, it),
        },
      })
    } finally {
      p?.finish()
    }
    return
  }
  const p = progress ? new SweepProgress(config, config.queues.length) : undefined
  // Steps already in the journal count as done for the progress line.
  for (let i = 0; i < config.queues.length - plan.steps.length; i++) p?.skip()
  try {
    await runSweep(plan, {
      ...deps,
      events: p && {
        stepStarted: (s, r) => p.stepStarted(s, r),
        iterationDone: (s, it) => p.iterationDone(s, it),
        stepDone: (s, r) => p.stepDone(s, r),
      },
    })
  } finally {
    p?.finish()
  }
}

/**
 * A workload that stopped early (server died, link vanished) keeps its partial window only in the
 * single-run commands; a sweep drops the iteration in progress, so say what the file really keeps.
 */
export function stoppedEarly(reason: string, journal: Pick<ResultsJournal, 'results' | 'path'>): MqbError {
  return new MqbError(
    `the test stopped early: ${reason}; ${keptText(journal)} kept in ${journal.path} (not the iteration in progress); finish with \`mqbench scale --resume ${journal.path}\``,
    ExitCode.partial,
  )
}

/** What a complete run measured: its steps, or with --order alternate its iterations. */
function measuredText(journal: ResultsJournal): string {
  const {config, steps} = journal.results
  return config.order === 'alternate'
    ? `${config.queues.length * config.iterations} iterations`
    : `${steps.length} step${steps.length === 1 ? '' : 's'}`
}

/** What an interrupted run keeps: whole steps, or with --order alternate single iterations. */
function keptText(journal: Pick<ResultsJournal, 'results'>): string {
  const {config, steps} = journal.results
  if (config.order !== 'alternate') return `${steps.length} of ${config.queues.length} steps`
  const done = steps.reduce((n, s) => n + s.iterations.length, 0)
  return `${done} of ${config.queues.length * config.iterations} iterations`
}
