// `mqbench scale --order alternate`: rounds instead of steps. Round r visits every queue count:
// set it, read it back, warm up, measure iteration r-1. Runs on these VMs drift by 15-30%, and
// with steps that drift would show up as a scaling effect; alternating spreads it over every
// count. Each measured iteration goes into its step in the journal at once (addIteration), so a
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

/** Makes the plan's visits in order; returns the steps it touched as recorded after the last one, in plan order. */
export async function runAlternating(plan: ScalePlan, deps: AlternateDeps): Promise<Step[]> {
  if (!plan.visits) throw new Error('runAlternating: the plan has no visits (not an alternate-order plan)')
  const probes = deps.probes ?? kernelProbes
  const recorded = new Map<number, Step>()
  for (const visit of plan.visits) {
    const {startedAt, config} = await enterQueueCount(visit.queueCount, plan, deps, probes, (readback) =>
      deps.events?.visitStarted?.(visit, readback),
    )
    const it = await measure(visit.iteration, visit, plan, deps, probes)
    const step = deps.journal.addIteration(
      visit.queueCount,
      {startedAt, config},
      it,
      new Date().toISOString(),
    )
    recorded.set(visit.queueCount, step)
    deps.events?.iterationDone?.(visit, it, step)
  }
  return plan.config.queues.filter((q) => recorded.has(q)).map((q) => recorded.get(q)!)
}
