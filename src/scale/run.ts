// One `mqbench scale` run from start to end: plan (or resume), testbed, journal, workload,
// sweep, and whatever ends it: completion, Ctrl-C/SIGTERM (the step in progress is abandoned,
// the journal says interrupted), or an error (the journal says failed). The testbed is removed
// in every case. The command only parses flags and renders what this returns.
import {randomUUID} from 'node:crypto'
import {mkdirSync, rmSync} from 'node:fs'
import {onInterrupt} from '../cli/cleanup.js'
import {ExitCode, MqbError} from '../errors.js'
import {hostInfo} from '../host.js'
import {ResultsJournal} from '../results/journal.js'
import {RESULTS_SCHEMA, RESULTS_VERSION, type ResultsFile} from '../results/schema.js'
import {randomTestbedName} from '../testbed/common.js'
import {createTestbed} from '../testbed/index.js'
import {planScale, resultsPath, resumePlan, shellCommand, type ScaleFlags, type ScalePlan} from './plan.js'
import {SweepProgress} from './progress.js'
import {runSweep, SweepInterrupted, type Probes} from './sweep.js'
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
  /** the argv after `mqbench`, recorded in the results file */
  argv: string[]
  /** false: no progress lines (--json) */
  progress: boolean
  probes?: Probes
}

export interface ScaleRunResult {
  resultsFile: string
  results: ResultsFile
}

function openJournal(opts: ScaleRunOptions): {journal: ResultsJournal; plan: ScalePlan} {
  if (opts.resume) {
    const journal = ResultsJournal.open(opts.resume)
    return {journal, plan: resumePlan(journal.results.config, journal.results.steps.map((s) => s.queueCount))}
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
  const journal = ResultsJournal.create(resultsPath(outDir, plan.config, now), {
    schema: RESULTS_SCHEMA,
    version: RESULTS_VERSION,
    run: {id: randomUUID(), startedAt: now.toISOString(), status: 'running', argv: opts.argv, command: shellCommand(opts.argv)},
    host: hostInfo(),
    config: plan.config,
  })
  return {journal, plan}
}

export async function runScale(opts: ScaleRunOptions): Promise<ScaleRunResult> {
  const {journal, plan} = openJournal(opts)
  const {config} = plan
  const aborter = new AbortController()
  const offInterrupt = onInterrupt(() => aborter.abort())
  const finished = () => ({resultsFile: journal.path, results: journal.results})
  if (plan.steps.length === 0) {
    journal.finish('complete')
    offInterrupt()
    return finished()
  }
  let testbed
  let workload
  try {
    // A resumed run gets a testbed of its own: the one of the killed run is gone or stale.
    testbed = createTestbed(
      {kind: config.testbed.kind, dev: config.testbed.dev, server: config.testbed.server, token: opts.token, name: opts.resume ? randomTestbedName('r') : config.testbed.name},
      {maxQueues: plan.maxQueues, relayCpus: opts.relayCpus},
    )
    workload = await WORKLOADS[config.workload].prepare(testbed, config, {token: opts.token, allowRemote: opts.allowRemote})
    const progress = opts.progress ? new SweepProgress(config, config.queues.length) : undefined
    // Steps already in the journal count as done for the progress line.
    for (let i = 0; i < config.queues.length - plan.steps.length; i++) progress?.skip()
    try {
      await runSweep(plan, {
        testbed, workload, journal, signal: aborter.signal, probes: opts.probes,
        events: progress && {stepStarted: (s, r) => progress.stepStarted(s, r), iterationDone: (s, it) => progress.iterationDone(s, it), stepDone: (s, r) => progress.stepDone(s, r)},
      })
    } finally {
      progress?.finish()
    }
    journal.finish('complete')
    return finished()
  } catch (err) {
    if (err instanceof SweepInterrupted || aborter.signal.aborted) {
      journal.finish('interrupted')
      const done = journal.results.steps.length
      throw new MqbError(`interrupted: ${done} of ${config.queues.length} steps kept in ${journal.path}; finish with \`mqbench scale --resume ${journal.path}\``, ExitCode.interrupted)
    }
    if (!testbed && !opts.resume) {
      // The testbed could not even be made (no such device, no privilege): nothing was measured,
      // so leave no results file behind, only the error.
      rmSync(journal.path, {force: true})
      throw err
    }
    journal.finish('failed', (err as Error).message)
    throw err
  } finally {
    offInterrupt()
    await workload?.close().catch(() => {})
    testbed?.close()
  }
}
