// From `mqbench scale` flags to a plan: the run's configuration as the results file records it,
// the steps (one per queue count) and the time they should take. Pure, so that every check
// (queue counts above the testbed's maximum, workload parameters) is unit-tested without root.
import {join} from 'node:path'
import {badInput} from '../errors.js'
import type {RunConfig} from '../results/schema.js'

export type WorkloadName = RunConfig['workload']
export type TestbedChoice = {kind: RunConfig['testbed']['kind']; dev?: string}

/** The largest queue count each kind can be created with (tun: MAX_TAP_QUEUES; veth: a sane bound). */
export const KIND_MAX_QUEUES: Record<TestbedChoice['kind'], number> = {tap: 256, veth: 128, dev: 256}

export interface ScaleFlags {
  queues: number[]
  testbed: TestbedChoice
  workload: WorkloadName
  sessions: number
  durationMs: number
  warmupMs: number
  iterations: number
  server?: string
  /** workload parameters given on the command line; the rest take the workload's defaults */
  params?: Record<string, number | string | boolean>
}

export interface PlannedStep {
  /** 1-based position in the whole sweep */
  index: number
  queueCount: number
}

export interface ScalePlan {
  config: RunConfig
  steps: PlannedStep[]
  /** queues the testbed must be created with */
  maxQueues: number
}

/** Each workload's parameters and their defaults (netperf's where it has one). */
export const WORKLOAD_DEFAULTS: Record<WorkloadName, Record<string, number | string | boolean>> = {
  rr: {type: 'tcp_rr', requestSize: 1, responseSize: 1},
  crr: {type: 'tcp_crr', requestSize: 1, responseSize: 1},
  udp_rr: {type: 'udp_rr', requestSize: 1, responseSize: 1},
  stream: {type: 'tcp_stream', messageSize: 16384},
  gen: {frameSize: 64, flowsPerQueue: 4},
}

export function planScale(flags: ScaleFlags, opts: {testbedName: string; maxQueues?: number}): ScalePlan {
  const limit = Math.min(opts.maxQueues ?? Infinity, KIND_MAX_QUEUES[flags.testbed.kind])
  const over = flags.queues.filter((q) => q > limit)
  if (over.length)
    throw badInput(`queue count ${over.join(', ')} is above the maximum of ${limit} for the ${flags.testbed.kind === 'dev' ? `dev:${flags.testbed.dev}` : flags.testbed.kind} testbed; use counts from 1 to ${limit}`)
  if (flags.queues.length === 0) throw badInput('no queue counts to run; give --queues like 1..8')
  if (!Number.isInteger(flags.iterations) || flags.iterations < 1) throw badInput(`--iterations ${flags.iterations}: at least 1`)
  if (!Number.isInteger(flags.sessions) || flags.sessions < 1) throw badInput(`--sessions ${flags.sessions}: at least 1`)
  if (flags.testbed.kind === 'dev' && !flags.server) throw badInput(`the dev:${flags.testbed.dev} testbed needs --server HOST[:PORT] (a \`mqbench server\` on the far end) and --token`)
  const defaults = WORKLOAD_DEFAULTS[flags.workload]
  const unknown = Object.keys(flags.params ?? {}).filter((k) => !(k in defaults))
  if (unknown.length) throw badInput(`${unknown.join(', ')} does not apply to the ${flags.workload} workload (it takes ${Object.keys(defaults).join(', ')})`)
  const config: RunConfig = {
    testbed: {kind: flags.testbed.kind, name: opts.testbedName, ...(flags.testbed.dev ? {dev: flags.testbed.dev} : {}), ...(flags.server ? {server: flags.server} : {})},
    workload: flags.workload,
    queues: [...flags.queues],
    sessions: flags.sessions,
    durationMs: flags.durationMs,
    warmupMs: flags.warmupMs,
    iterations: flags.iterations,
    params: {...defaults, ...flags.params},
  }
  return {config, steps: stepsOf(config.queues), maxQueues: Math.max(...config.queues)}
}

/** The plan of a run being resumed: its recorded configuration, minus the steps already done. */
export function resumePlan(config: RunConfig, doneQueueCounts: number[]): ScalePlan {
  const done = new Set(doneQueueCounts)
  return {config, steps: stepsOf(config.queues).filter((s) => !done.has(s.queueCount)), maxQueues: Math.max(...config.queues)}
}

function stepsOf(queues: number[]): PlannedStep[] {
  return queues.map((queueCount, i) => ({index: i + 1, queueCount}))
}

/** Setting a queue count, reading it back and snapshots: measured at 0.3-1 s per step here. */
export const STEP_OVERHEAD_MS = 1000
/** Per iteration: fresh connections, two snapshots, per-CPU times. */
export const ITERATION_OVERHEAD_MS = 500

/** Time left for `steps` full steps plus `iterationsLeftInStep` iterations of the current one. */
export function remainingMs(config: Pick<RunConfig, 'durationMs' | 'warmupMs' | 'iterations'>, steps: number, iterationsLeftInStep = 0): number {
  const iteration = config.durationMs + ITERATION_OVERHEAD_MS
  return steps * (STEP_OVERHEAD_MS + config.warmupMs + config.iterations * iteration) + iterationsLeftInStep * iteration
}

/** ./mqbench-results/scale-tap-rr-20261124T232501Z.json */
export function resultsPath(outDir: string, config: Pick<RunConfig, 'testbed' | 'workload'>, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const bed = config.testbed.kind === 'dev' ? `dev-${config.testbed.dev}` : config.testbed.kind
  return join(outDir, `scale-${bed}-${config.workload}-${stamp}.json`)
}

/** A shell command that reproduces the run (the argv quoted for sh). */
export function shellCommand(argv: string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)
  return ['mqbench', ...argv.map(quote)].join(' ')
}
