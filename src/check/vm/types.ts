// The shapes of `check --testbed vm`: a table of cases (the Fedora plan's and tp-qemu's), each a
// function from a context that boots guests to the checks it judged. A case owns what it boots;
// the runner removes it when the case ends, passes, fails or overruns its bound.
import type {CleanupRegistry} from '../../host/cleanup.js'
import type {GuestRecord} from '../../results/schema.js'
import type {VmBed} from '../../testbed/vm.js'
import type {VmOptions} from '../../testbed/types.js'
import type {CheckStatus} from '../checks.js'

/** One judged check: PASS, FAIL or N/A (always with the reason), with the figures it read. */
export interface PlanCheck {
  /** stable within its case ("max-combined", "irq-per-queue") */
  id: string
  title: string
  status: CheckStatus
  /** one line with the numbers read */
  evidence: string
}

/** What a case hands back: its checks and the structured figures the report draws. */
export interface CaseOutcome {
  checks: PlanCheck[]
  /** JSON-safe figures for the results file and the report (per-queue counts, timelines, rates) */
  figures?: Record<string, unknown>
}

/** Which run a case belongs to: the default set (CI, under 5 minutes under TCG) or --extended. */
export type CaseSet = 'default' | 'extended'

export interface PlanParams {
  /** N of the plan: queue pairs the guest is booted with */
  queues: number
  /** vCPUs per guest (default: N, as a guest enables min(queues, vCPUs) pairs) */
  vcpus: number
  /** concurrent TCP_RR sessions of the load checks (the plan's "20 concurrent netperf") */
  sessions: number
  /** length of each load window */
  durationMs: number
  memoryMiB: number
  kernel?: string
  accel: NonNullable<VmOptions['accel']>
}

/** A guest differing from the plan's default one (queues, vectors, mq=off, kernel parameters). */
export type GuestVariant = Pick<VmOptions, 'vcpus' | 'mq' | 'vectors' | 'append' | 'memoryMiB'> & {
  queues?: number
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
  source: 'fedora' | 'tp-qemu'
  set: CaseSet
  /** the bound after which the case is stopped and FAILs with what it saw */
  boundMs(p: PlanParams): number
  run(ctx: CaseContext): Promise<CaseOutcome>
}

/** One case as run: its checks (or the failure that ended it), time taken and the guests it used. */
export interface CaseReport {
  id: string
  title: string
  source: VmCase['source']
  checks: PlanCheck[]
  figures?: Record<string, unknown>
  wallMs: number
  /** the setup of each guest the case booted or shared, in order */
  guests: GuestRecord[]
  /** set when the case ended early (an error, its bound); its checks then include a FAIL saying so */
  error?: string
}

export interface PlanReport {
  params: PlanParams
  cases: CaseReport[]
  passed: number
  failed: number
  na: number
  wallMs: number
}
