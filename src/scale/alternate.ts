// `mqbench scale --order alternate`: rounds instead of steps. Round r visits every queue count:
// set it, read it back, warm up, measure iteration r-1. Runs on these VMs drift by 15-30%, and
// with steps that drift would show up as a scaling effect; alternating spreads it over every
// count. Each measured iteration goes into its step in the journal at once (upsertStep), so a
// kill mid-round keeps every finished iteration and --resume runs only the missing pairs.
import type {Iteration, Step} from '../results/schema.js'
import type {QueueReadback} from '../testbed/types.js'
import type {PlannedVisit, ScalePlan} from './plan.js'
import {enterQueueCount, kernelProbes, measure, type SweepDeps} from './sweep.js'

export interface AlternateEvents {
  visitStarted?(visit: PlannedVisit, readback: QueueReadback): void
  iterationDone?(visit: PlannedVisit, iteration: Iteration, recorded: Step): void
}

export type AlternateDeps = Omit<SweepDeps, 'events'> & {events?: AlternateEvents}

/**
 * A step with one more iteration, iterations kept in index order. The step spans its first
 * iteration's visit (warm-up included, as in steps order) to its last iteration's end; the
 * configuration in force is the one read back on its first visit.
 */
export function addIteration(
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

/** Makes the plan's visits in order; returns the steps as recorded after the last one. */
export async function runAlternating(plan: ScalePlan, deps: AlternateDeps): Promise<Step[]> {
  if (!plan.visits) throw new Error('runAlternating: the plan has no visits (not an alternate-order plan)')
  const probes = deps.probes ?? kernelProbes
  const touched = new Set<number>()
  for (const visit of plan.visits) {
    const {startedAt, config} = await enterQueueCount(visit.queueCount, plan, deps, probes, (readback) =>
      deps.events?.visitStarted?.(visit, readback),
    )
    const it = await measure(visit.iteration, visit, plan, deps, probes)
    const previous = deps.journal.results.steps.find((s) => s.queueCount === visit.queueCount)
    const step = addIteration(previous, {startedAt, config}, it, new Date().toISOString(), visit.queueCount)
    deps.journal.upsertStep(step)
    touched.add(visit.queueCount)
    deps.events?.iterationDone?.(visit, it, step)
  }
  return deps.journal.results.steps.filter((s) => touched.has(s.queueCount))
}
