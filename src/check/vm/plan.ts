// Running the cases of `check vm` one after the other: each gets a context that boots
// guests (the shared default guest or its own), a signal that fires on Ctrl-C and at its bound,
// and a try/finally that removes what it booted. A case that throws or overruns ends as a FAIL
// with what it saw, and the next case still runs; only an interrupt stops the plan.
import {ExitCode, MqbError} from '../../errors.js'
import type {CleanupRegistry} from '../../host/cleanup.js'
import type {GuestRecord} from '../../results/schema.js'
import {randomTestbedName} from '../../testbed/common.js'
import {createVmBed} from '../../testbed/index.js'
import {ownerSelf} from '../../testbed/registry.js'
import type {VmBed} from '../../testbed/vm.js'
import {CASES} from './cases.js'
import type {
  CaseContext,
  CaseNotRun,
  CaseReport,
  GuestVariant,
  PlanParams,
  PlanReport,
  VmCase,
} from './types.js'

export interface PlanHooks {
  cleanup: CleanupRegistry
  signal?: AbortSignal
  onPhase?: (line: string) => void
  /** each case's report as it ends, for a person watching */
  onCase?: (c: CaseReport) => void
}

/** The cases to run: the ids named, else the default set (plus the extended one with `extended`). */
export function selectCases(ids: string[] | undefined, extended: boolean, table: VmCase[] = CASES): VmCase[] {
  if (!ids?.length) return table.filter((c) => c.set === 'default' || extended)
  const unknown = ids.filter((id) => !table.some((c) => c.id === id))
  if (unknown.length)
    throw new MqbError(
      `unknown case${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the cases are ${table.map((c) => c.id).join(', ')}`,
      ExitCode.badInput,
    )
  return table.filter((c) => ids.includes(c.id))
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** Rejects with `why` when `signal` aborts: a case blocked on a dead guest still ends. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, {once: true})
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

export async function runVmPlan(params: PlanParams, cases: VmCase[], hooks: PlanHooks): Promise<PlanReport> {
  const t0 = performance.now()
  const phase = hooks.onPhase ?? (() => {})
  let shared: {bed: VmBed; record: GuestRecord} | undefined
  const boot = async (variant: GuestVariant = {}): Promise<VmBed> => {
    const queues = variant.queues ?? params.queues
    // Recorded with this process as a run's owner: `testbed down --all` leaves the plan's guests alone.
    return createVmBed(
      {kind: 'vm', name: randomTestbedName('c')},
      {
        cleanup: hooks.cleanup,
        owner: ownerSelf('mqbench check'),
        maxQueues: queues,
        uncheckedQueues: variant.uncheckedQueues,
        vm: {
          vcpus: variant.vcpus ?? params.vcpus,
          vcpuCpus: params.vcpuCpus,
          memoryMiB: variant.memoryMiB ?? params.memoryMiB,
          kernel: params.kernel,
          accel: params.accel,
          mq: variant.mq,
          vectors: variant.vectors,
          append: variant.append,
          extraNics: variant.extraNics,
        },
      },
    )
  }
  const reports: CaseReport[] = []
  try {
    for (const c of cases) {
      if (hooks.signal?.aborted) break
      const t = performance.now()
      const own: VmBed[] = []
      const guests: GuestRecord[] = []
      const bound = c.boundMs(params)
      const caseAbort = new AbortController()
      const timer = setTimeout(
        () => caseAbort.abort(new Error(`the case did not finish within ${bound / 1000} s`)),
        bound,
      )
      const onOuter = () => caseAbort.abort(new Error('interrupted'))
      hooks.signal?.addEventListener('abort', onOuter, {once: true})
      let last = ''
      const ctx: CaseContext = {
        params,
        signal: caseAbort.signal,
        cleanup: hooks.cleanup,
        phase: (line) => {
          last = line
          phase(`${c.id}: ${line}`)
        },
        shared: async () => {
          if (!shared) {
            phase(`booting the shared guest (${params.queues} queues, ${params.vcpus} vCPUs)`)
            const bed = await boot()
            shared = {bed, record: bed.setup}
          }
          if (!guests.includes(shared.record)) guests.push(shared.record)
          return shared.bed
        },
        boot: async (variant) => {
          const bed = await boot(variant)
          own.push(bed)
          guests.push(bed.setup)
          return bed
        },
      }
      let report: CaseReport
      try {
        const out = await abortable(c.run(ctx), caseAbort.signal)
        report = {id: c.id, title: c.title, source: c.source, ...out, wallMs: 0, guests}
      } catch (err) {
        // Stopped by Ctrl-C/SIGTERM, the case neither passed nor failed: it is INTERRUPTED.
        const interrupted = hooks.signal?.aborted === true
        const why = caseAbort.signal.aborted ? message(caseAbort.signal.reason) : message(err)
        report = {
          id: c.id,
          title: c.title,
          source: c.source,
          checks: [
            {
              id: 'completed',
              title: 'the case ran to its end',
              status: interrupted ? 'N/A' : 'FAIL',
              evidence: `${why}${last ? ` (last step: ${last})` : ''}`,
            },
          ],
          wallMs: 0,
          guests,
          error: why,
          ...(interrupted ? {interrupted: true} : {}),
        }
        // A shared guest that a failed case may have left changed is not trusted by the next.
        if (shared && guests.includes(shared.record)) {
          await shared.bed.close()
          shared = undefined
        }
      } finally {
        clearTimeout(timer)
        hooks.signal?.removeEventListener('abort', onOuter)
        for (const bed of own.reverse()) await bed.close().catch(() => {})
      }
      report.wallMs = Math.round(performance.now() - t)
      reports.push(report)
      hooks.onCase?.(report)
    }
  } finally {
    if (shared) await shared.bed.close()
  }
  if (hooks.signal?.aborted)
    throw new MqbError('check interrupted; every guest it started is stopped', ExitCode.interrupted)
  return {
    params,
    cases: reports,
    ...planTotals(reports),
    wallMs: Math.round(performance.now() - t0),
    notRun: [],
  }
}

/** The selected cases that never started: those after the last one that ended (or was stopped). */
export function casesNotRun(selected: VmCase[], ended: CaseReport[]): CaseNotRun[] {
  return selected
    .filter((c) => !ended.some((e) => e.id === c.id))
    .map((c) => ({id: c.id, title: c.title, source: c.source}))
}

/** The checks of `cases` counted by status. */
export function planTotals(cases: CaseReport[]): Pick<PlanReport, 'passed' | 'failed' | 'na'> {
  const all = cases.flatMap((r) => r.checks)
  const count = (s: string) => all.filter((c) => c.status === s).length
  return {passed: count('PASS'), failed: count('FAIL'), na: count('N/A')}
}
