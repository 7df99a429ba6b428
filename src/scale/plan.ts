// From `mqbench scale` flags to a plan: the run's configuration as the results file records it,
// the steps (one per queue count) and the time they should take. Pure, so that every check
// (queue counts above the testbed's maximum, workload parameters) is unit-tested without root.
import {join} from 'node:path'
import {badInput} from '../errors.js'
import type {ResultsFile, RunConfig} from '../results/schema.js'
import {DEFAULT_FRAME_SIZE} from '../gen/frame.js'
import {KIND_MAX_QUEUES} from '../limits.js'
import {shellQuote} from '../util/shell.js'

export type WorkloadName = RunConfig['workload']
/** steps: every iteration of one queue count, then the next; alternate: rounds over all counts */
export type SweepOrder = NonNullable<RunConfig['order']>
export type TestbedChoice = {kind: RunConfig['testbed']['kind']; dev?: string}

export interface ScaleFlags {
  queues: number[]
  testbed: TestbedChoice
  workload: WorkloadName
  sessions: number
  durationMs: number
  warmupMs: number
  iterations: number
  /** default steps */
  order?: SweepOrder
  server?: string
  /** workload parameters given on the command line; the rest take the workload's defaults */
  params?: Record<string, number | string | boolean>
  /** sessions workloads: CPUs for the server the sweep starts and for the client threads */
  pinning?: {server?: number[]; client?: number[]}
}

export interface PlannedStep {
  /** 1-based position in the whole sweep */
  index: number
  queueCount: number
}

/** One measured iteration of an alternating sweep: set the count, read it back, warm up, measure. */
export interface PlannedVisit {
  /** 1-based; round r measures iteration r-1 of every queue count */
  round: number
  queueCount: number
  /** 0-based index of the iteration within its queue count's step */
  iteration: number
}

/** A (queue count, iteration) pair the results file does not hold yet. */
export interface MissingIteration {
  queueCount: number
  iteration: number
}

export interface ScalePlan {
  config: RunConfig
  /** steps order: the steps to run; alternate: the queue counts that still miss an iteration */
  steps: PlannedStep[]
  /** alternate order only: the visits to make, in order */
  visits?: PlannedVisit[]
  /** queues the testbed must be created with */
  maxQueues: number
}

/** Each workload's parameters and their defaults (netperf's where it has one). */
export const WORKLOAD_DEFAULTS: Record<WorkloadName, Record<string, number | string | boolean>> = {
  rr: {type: 'tcp_rr', requestSize: 1, responseSize: 1},
  crr: {type: 'tcp_crr', requestSize: 1, responseSize: 1},
  udp_rr: {type: 'udp_rr', requestSize: 1, responseSize: 1},
  stream: {type: 'tcp_stream', messageSize: 131072}, // iperf3's default (sessions/stream.ts)
  gen: {frameSize: DEFAULT_FRAME_SIZE, flowsPerQueue: 4, backend: 'auto'},
}

const sorted = (cpus: number[]) => [...new Set(cpus)].sort((a, b) => a - b)

/** The recorded pinning of a sweep's server and clients; `workload` only when both ends are pinned. */
function sessionPinning(p: ScaleFlags['pinning']): Pick<RunConfig, 'pinnedCpus'> {
  const server = p?.server?.length ? sorted(p.server) : undefined
  const client = p?.client?.length ? sorted(p.client) : undefined
  if (!server && !client) return {}
  return {
    pinnedCpus: {
      ...(server ? {server} : {}),
      ...(client ? {client} : {}),
      ...(server && client ? {workload: sorted([...server, ...client])} : {}),
    },
  }
}

export function planScale(flags: ScaleFlags, opts: {testbedName: string; maxQueues?: number}): ScalePlan {
  const limit = Math.min(opts.maxQueues ?? Infinity, KIND_MAX_QUEUES[flags.testbed.kind])
  const over = flags.queues.filter((q) => q > limit)
  if (over.length)
    throw badInput(
      `queue count ${over.join(', ')} is above the maximum of ${limit} for the ${flags.testbed.kind === 'dev' ? `dev:${flags.testbed.dev}` : flags.testbed.kind} testbed; use counts from 1 to ${limit}`,
    )
  if (flags.queues.length === 0) throw badInput('no queue counts to run; give --queues like 1..8')
  if (!Number.isInteger(flags.iterations) || flags.iterations < 1)
    throw badInput(`--iterations ${flags.iterations}: at least 1`)
  if (!Number.isInteger(flags.sessions) || flags.sessions < 1)
    throw badInput(`--sessions ${flags.sessions}: at least 1`)
  if (flags.testbed.kind === 'dev' && !flags.server)
    throw badInput(
      `the dev:${flags.testbed.dev} testbed needs --server HOST[:PORT] (a \`mqbench server\` on the far end) and --token`,
    )
  const defaults = WORKLOAD_DEFAULTS[flags.workload]
  const unknown = Object.keys(flags.params ?? {}).filter((k) => !(k in defaults))
  if (unknown.length)
    throw badInput(
      `${unknown.join(', ')} does not apply to the ${flags.workload} workload (it takes ${Object.keys(defaults).join(', ')})`,
    )
  const config: RunConfig = {
    testbed: {
      kind: flags.testbed.kind,
      name: opts.testbedName,
      ...(flags.testbed.dev ? {dev: flags.testbed.dev} : {}),
      ...(flags.server ? {server: flags.server} : {}),
    },
    workload: flags.workload,
    queues: [...flags.queues],
    sessions: flags.sessions,
    durationMs: flags.durationMs,
    warmupMs: flags.warmupMs,
    iterations: flags.iterations,
    order: flags.order ?? 'steps',
    params: {...defaults, ...flags.params},
    ...sessionPinning(flags.pinning),
  }
  return planRemaining({config, steps: []})
}

/**
 * The visits of an alternating sweep, in round order: round r visits every queue count (in the
 * order of `queues`) that misses iteration r-1. Slow drift of the machine (measured here at
 * 15-30% from one run to the next) then spreads over all counts instead of posing as scaling.
 */
export function alternateVisits(queues: number[], missing: MissingIteration[]): PlannedVisit[] {
  return [...missing]
    .sort((a, b) => a.iteration - b.iteration || queues.indexOf(a.queueCount) - queues.indexOf(b.queueCount))
    .map(({queueCount, iteration}) => ({round: iteration + 1, queueCount, iteration}))
}

/** What a results file holds of a run: its configuration and the steps recorded so far. */
export type RecordedRun = Pick<ResultsFile, 'config'> & {
  steps: Array<{queueCount: number; iterations: Array<{index: number}>}>
}

/**
 * (queue count, iteration) pairs of the run's plan with no recorded iteration, by queue count in
 * plan order, then iteration index. Steps order records whole steps, so there a recorded step is
 * done; an alternating sweep records iteration by iteration, so a run killed mid-round leaves
 * steps with some iterations and not others.
 */
export function missingIterations(run: RecordedRun): MissingIteration[] {
  const {queues, iterations, order} = run.config
  return queues.flatMap((queueCount) => {
    const step = run.steps.find((s) => s.queueCount === queueCount)
    if (step && order !== 'alternate') return []
    const have = new Set(step?.iterations.map((it) => it.index))
    return Array.from({length: iterations}, (_, iteration) => iteration)
      .filter((i) => !have.has(i))
      .map((iteration) => ({queueCount, iteration}))
  })
}

/**
 * What is left to measure of a run, the one place that decides it: a new run (no steps yet) and a
 * resumed one alike. Steps order: the steps not recorded, in plan order. Alternate order: the
 * missing pairs as visits in the recorded round order, and the queue counts they touch. The sweeps
 * execute what this returns and decide nothing themselves; the testbed is still made for the
 * largest planned count.
 */
export function planRemaining(run: RecordedRun): ScalePlan {
  const {config} = run
  const missing = missingIterations(run)
  const pending = new Set(missing.map((m) => m.queueCount))
  const steps = stepsOf(config.queues).filter((s) => pending.has(s.queueCount))
  const maxQueues = Math.max(...config.queues)
  if (config.order !== 'alternate') return {config, steps, maxQueues}
  return {config, steps, visits: alternateVisits(config.queues, missing), maxQueues}
}

function stepsOf(queues: number[]): PlannedStep[] {
  return queues.map((queueCount, i) => ({index: i + 1, queueCount}))
}

/** Setting a queue count, reading it back and snapshots: measured at 0.3-1 s per step here. */
export const STEP_OVERHEAD_MS = 1000
/** Per iteration: fresh connections, two snapshots, per-CPU times. */
export const ITERATION_OVERHEAD_MS = 500

/** Time left for `steps` full steps plus `iterationsLeftInStep` iterations of the current one. */
export function remainingMs(
  config: Pick<RunConfig, 'durationMs' | 'warmupMs' | 'iterations'>,
  steps: number,
  iterationsLeftInStep = 0,
): number {
  const iteration = config.durationMs + ITERATION_OVERHEAD_MS
  return (
    steps * (STEP_OVERHEAD_MS + config.warmupMs + config.iterations * iteration) +
    iterationsLeftInStep * iteration
  )
}

/** Time left for `visits` visits of an alternating sweep: each sets the count, warms up, measures once. */
export function remainingVisitsMs(
  config: Pick<RunConfig, 'durationMs' | 'warmupMs'>,
  visits: number,
): number {
  return visits * (STEP_OVERHEAD_MS + config.warmupMs + config.durationMs + ITERATION_OVERHEAD_MS)
}

/** ./mqbench-results/scale-tap-rr-20261124T232501Z.json */
export function resultsPath(
  outDir: string,
  config: Pick<RunConfig, 'testbed' | 'workload'>,
  at: Date,
): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const bed = config.testbed.kind === 'dev' ? `dev-${config.testbed.dev}` : config.testbed.kind
  return join(outDir, `scale-${bed}-${config.workload}-${stamp}.json`)
}

/** A shell command that reproduces the run (the argv quoted for sh). */
export function shellCommand(argv: string[]): string {
  return shellQuote(['mqbench', ...argv])
}
