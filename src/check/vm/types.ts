// The runner's shapes of `check vm`: a table of cases (the Fedora plan's and tp-qemu's),
// each a function from a context that boots guests to the checks it judged. A case owns what it
// boots; the runner removes it when the case ends, passes, fails or overruns its bound. What a
// plan stores (checks, figures, case and plan reports) is results/plan-schema.ts, re-exported
// here as the vocabulary the cases speak.
import type {CleanupRegistry} from '../../host/cleanup.js'
import type {CaseFigures, CaseSource, PlanCheck, PlanParams} from '../../results/plan-schema.js'
import type {VmBed} from '../../testbed/vm.js'
import type {VmOptions} from '../../testbed/types.js'

export type {
  CaseFigures,
  CaseNotRun,
  CaseReport,
  InterruptFigure,
  KernelLogProblem,
  LoadFigure,
  PlanCheck,
  PlanParams,
  PlanReport,
  QueueCounterFigure,
  QueueRateFigure,
  TimelineEvent,
  TimelineFigure,
} from '../../results/plan-schema.js'

/** What a case hands back: its checks and the structured figures the report draws. */
export interface CaseOutcome {
  checks: PlanCheck[]
  /** JSON-safe figures for the results file and the report */
  figures?: CaseFigures
}

/** Which run a case belongs to: the default set (CI, under 5 minutes under TCG) or --extended. */
export type CaseSet = 'default' | 'extended'

/** A guest differing from the plan's default one (queues, vectors, mq=off, kernel parameters). */
export type GuestVariant = Pick<
  VmOptions,
  'vcpus' | 'mq' | 'vectors' | 'nicFeatures' | 'append' | 'memoryMiB' | 'extraNics'
> & {
  queues?: number
  /** the queue count goes to qemu as given, unchecked by mqbench (a case that judges qemu's refusal) */
  uncheckedQueues?: boolean
}

export interface CaseContext {
  readonly params: PlanParams
  /** aborted on Ctrl-C/SIGTERM and when the case overruns its bound */
  readonly signal: AbortSignal
  /** one line for a person watching ("setting 2 channels in the guest") */
  phase(line: string): void
  /** where host changes are registered with their undo (the process-wide registry) */
  readonly cleanup: CleanupRegistry
  /**
   * The plan's default guest (N queues, the plan's vCPUs), booted on first use and shared by the
   * cases that leave it as they found it: queue count back to N, link up.
   */
  shared(): Promise<VmBed>
  /** A guest of the case's own (removed when the case ends, whatever the outcome). */
  boot(variant?: GuestVariant): Promise<VmBed>
}

export interface VmCase {
  id: string
  title: string
  /** where the case comes from: the Fedora page's plan or tp-qemu's test list */
  source: CaseSource
  set: CaseSet
  /** the bound after which the case is stopped and FAILs with what it saw */
  boundMs(p: PlanParams): number
  run(ctx: CaseContext): Promise<CaseOutcome>
}
