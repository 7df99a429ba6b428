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

/** The plan's guests: how one boots, and the shared default guest while one is up. */
class PlanGuests {
  shared?: {bed: VmBed; record: GuestRecord}

  constructor(
    private readonly params: PlanParams,
    private readonly hooks: PlanHooks,
  ) {}

  boot(variant: GuestVariant = {}): Promise<VmBed> {
    const {params, hooks} = this
    // Recorded with this process as a run's owner: `testbed down --all` leaves the plan's guests alone.
    return createVmBed(
      {kind: 'vm', name: randomTestbedName('c')},
      {
        cleanup: hooks.cleanup,
        owner: ownerSelf('mqbench check'),
        maxQueues: variant.queues ?? params.queues,
        uncheckedQueues: variant.uncheckedQueues,
        vm: {
          vcpus: variant.vcpus ?? params.vcpus,
          vcpuCpus: params.vcpuCpus,
          memoryMiB: variant.memoryMiB ?? params.memoryMiB,
          kernel: params.kernel,
          accel: params.accel,
          mq: variant.mq,
          vectors: variant.vectors,
          nicFeatures: variant.nicFeatures,
          append: variant.append,
          extraNics: variant.extraNics,
        },
      },
    )
  }

  /** Closes the shared guest (a failed case may have left it changed; at the plan's end). */
  async closeShared(): Promise<void> {
    const s = this.shared
    this.shared = undefined
    if (s) await s.bed.close()
  }
}

export async function runVmPlan(params: PlanParams, cases: VmCase[], hooks: PlanHooks): Promise<PlanReport> {
  const t0 = performance.now()
  const guests = new PlanGuests(params, hooks)
  const reports: CaseReport[] = []
  try {
    for (const c of cases) {
      if (hooks.signal?.aborted) break
      const report = await runCase(c, params, guests, hooks)
      reports.push(report)
      hooks.onCase?.(report)
    }
  } finally {
    await guests.closeShared()
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

/**
 * One case: its context (the shared guest or its own, a signal that fires at its bound and on
 * Ctrl-C), its outcome or the FAIL (N/A when interrupted) that says what it last did, and its
 * own guests closed whatever happened.
 */
async function runCase(
  c: VmCase,
  params: PlanParams,
  guests: PlanGuests,
  hooks: PlanHooks,
): Promise<CaseReport> {
  const t = performance.now()
  const phase = hooks.onPhase ?? (() => {})
  const own: VmBed[] = []
  const records: GuestRecord[] = []
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
      if (!guests.shared) {
        phase(`booting the shared guest (${params.queues} queues, ${params.vcpus} vCPUs)`)
        const bed = await guests.boot()
        guests.shared = {bed, record: bed.setup}
      }
      if (!records.includes(guests.shared.record)) records.push(guests.shared.record)
      return guests.shared.bed
    },
    boot: async (variant) => {
      const bed = await guests.boot(variant)
      own.push(bed)
      records.push(bed.setup)
      return bed
    },
  }
  let report: CaseReport
  try {
    const out = await abortable(c.run(ctx), caseAbort.signal)
    report = {id: c.id, title: c.title, source: c.source, ...out, wallMs: 0, guests: records}
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
      guests: records,
      error: why,
      ...(interrupted ? {interrupted: true} : {}),
    }
    // A shared guest that a failed case may have left changed is not trusted by the next.
    if (guests.shared && records.includes(guests.shared.record)) await guests.closeShared()
  } finally {
    clearTimeout(timer)
    hooks.signal?.removeEventListener('abort', onOuter)
    for (const bed of own.reverse()) await bed.close().catch(() => {})
  }
  report.wallMs = Math.round(performance.now() - t)
  return report
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
