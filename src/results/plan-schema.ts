// The stored shapes of `check vm`: what a plan results file holds (docs/plan-results.schema.json)
// and the plan page draws. They live beside the scale run's shapes (schema.ts), below the runner
// (check/vm/) that fills them and the report that reads them.
import type {GuestRecord} from './schema.js'

/** A check's verdict, as `check` prints it and the results file stores it. */
export type CheckStatus = 'PASS' | 'FAIL' | 'N/A'

/** Where a case comes from: the Fedora page's plan or tp-qemu's test list. */
export type CaseSource = 'fedora' | 'tp-qemu'

/** One judged check: PASS, FAIL or N/A (always with the reason), with the figures it read. */
export interface PlanCheck {
  /** stable within its case ("max-combined", "irq-per-queue") */
  id: string
  title: string
  status: CheckStatus
  /** one line with the numbers read */
  evidence: string
}

// ---- figures: the vocabulary of what the report draws ---------------------------------------------
// Every figure is JSON-safe (it goes into the results file as it is) and says what it counts.

/** One interrupt line of a guest NIC around a load: its count before and after, and the rise per vCPU. */
export interface InterruptFigure {
  /** the /proc/interrupts name: virtio0-input.0, virtio0-output.1, virtio0-virtqueues */
  label: string
  irq: string
  /** the queue parsed from the name; absent for a shared line */
  queue?: number
  direction?: 'rx' | 'tx' | 'combined'
  /** summed over vCPUs */
  before: number
  after: number
  /** after - before per vCPU (index = vCPU) */
  perCpu: number[]
}

/** One per-queue counter of a guest NIC (ethtool -S) around a load. */
export interface QueueCounterFigure {
  /** "rx0 packets", "tx1 kicks" */
  label: string
  queue: number
  direction: 'rx' | 'tx'
  /** which ethtool -S quantity: packets where the driver counts them, else kicks */
  metric: string
  before: number
  after: number
}

/**
 * One guest queue's packet rate during a gen load: frames per second of the load's direction on
 * that queue (the agent's receiver's count on an RX queue, the driver's count on a TX queue,
 * pktgen's own rate for its thread's queue).
 */
export interface QueueRateFigure {
  queue: number
  direction: 'rx' | 'tx'
  pps: number
}

/** What a load moved: one row of the report's load table, with the per-queue bars behind it. */
export interface LoadFigure {
  /** "20 TCP_RR sessions at 2 queues" */
  label: string
  /** the workloads that ran at once (one for a plain load; several for a mixed stress) */
  workloads: Array<'tcp_rr' | 'udp_rr' | 'tcp_crr' | 'tcp_stream' | 'gen'>
  sessions: number
  /** queue pairs enabled in the guest during the load */
  queues: number
  durationMs: number
  transactionsPerSecond?: number
  bitsPerSecond?: number
  packetsPerSecond?: number
  /** sessions that ended with an error, or frames lost */
  errors?: number
  /**
   * gen loads: the rate each guest queue carried. packetsPerSecond is the senders' total, so the
   * queues' sum falls short of it by what was lost or carried elsewhere.
   */
  queueRates?: QueueRateFigure[]
  interrupts?: InterruptFigure[]
  counters?: QueueCounterFigure[]
}

/** One event of a timeline, at its offset from the timeline's start. */
export interface TimelineEvent {
  atMs: number
  label: string
}

/** A sequence of events (a migration: started, converged, stopped, resumed on the destination). */
export interface TimelineFigure {
  label: string
  events: TimelineEvent[]
  totalMs?: number
  downtimeMs?: number
  transferredBytes?: number
}

/** A problem line found in a guest's kernel log (health.ts). */
export interface KernelLogProblem {
  kind:
    | 'call-trace'
    | 'soft-lockup'
    | 'hard-lockup'
    | 'rcu-stall'
    | 'hung-task'
    | 'tx-timeout'
    | 'alloc-failure'
    | 'oom'
    | 'bug'
    | 'oops'
    | 'warning'
    | 'panic'
  /** the line as the log has it, without its timestamp */
  line: string
  /** where it was read: "console" or "dmesg" */
  source: string
}

/**
 * The figures of one case. The named fields are what the report draws (loads with their
 * per-queue bars, a timeline, the kernel log problems); `numbers` and any other JSON-safe
 * field are shown as a list of free-form figures.
 */
export interface CaseFigures {
  loads?: LoadFigure[]
  timeline?: TimelineFigure
  kernelLog?: KernelLogProblem[]
  numbers?: Record<string, number | string | boolean>
  [other: string]: unknown
}

export interface PlanParams {
  /** N of the plan: queue pairs the guest is booted with */
  queues: number
  /** vCPUs per guest (default: N, as a guest enables min(queues, vCPUs) pairs) */
  vcpus: number
  /** host CPUs every guest's vCPU i is pinned to (the (i mod n)-th; --vcpu-cpus); absent: unpinned */
  vcpuCpus?: number[]
  /** concurrent TCP_RR sessions of the load checks (the plan's "20 concurrent netperf") */
  sessions: number
  /** length of each load window */
  durationMs: number
  memoryMiB: number
  kernel?: string
  /** the accelerator asked for (--accel): auto, or what a guest ran with */
  accel: 'auto' | GuestRecord['accel']
  /** cycles of the extended hotplug-repeat case (its default: 20) */
  hotplugCycles?: number
  /**
   * --repeats: runs of each performance load (mq at N and at 1 queue, gen's three, stress, mq_off), so
   * that --baseline can measure each run's noise; absent: once (judge.ts loadRepeats)
   */
  repeats?: number
}

/** The throughput figures a load records, all higher-is-better. */
export const LOAD_METRICS = ['transactionsPerSecond', 'bitsPerSecond', 'packetsPerSecond'] as const
export type LoadMetric = (typeof LOAD_METRICS)[number]

/** The repeats of one load of one case: a case records each repeat as a load with the same label. */
export interface LoadSamples {
  caseId: string
  label: string
  metric: LoadMetric
  values: number[]
}

export interface BaselineVerdict extends LoadSamples {
  status: CheckStatus
  baseline?: number[]
  /** current median / baseline median - 1 */
  change?: number
  /** the two runs' ranges (max - min) of their repeats added, relative to the baseline's median */
  noise?: number
  evidence: string
}

export interface BaselineComparison {
  /** the baseline file as given */
  file: string
  verdicts: BaselineVerdict[]
  /** loads that regressed beyond the noise: `check` exits 9 when there is one */
  regressions: number
}

/** One case as run: its checks (or the failure that ended it), time taken and the guests it used. */
export interface CaseReport {
  id: string
  title: string
  source: CaseSource
  checks: PlanCheck[]
  figures?: CaseFigures
  wallMs: number
  /** the setup of each guest the case booted or shared, in order */
  guests: GuestRecord[]
  /**
   * set when the case ended early: an error or its bound (its checks then include a FAIL saying
   * so), or an interrupt (see `interrupted`)
   */
  error?: string
  /**
   * Ctrl-C/SIGTERM stopped the case: it neither passed nor failed, and its "ran to its end" check
   * is N/A with where it stopped (version 1 files called this a FAIL)
   */
  interrupted?: boolean
}

/** A case the plan selected that never started (the plan was interrupted before it). */
export interface CaseNotRun {
  id: string
  title: string
  source: CaseSource
}

export interface PlanReport {
  params: PlanParams
  cases: CaseReport[]
  passed: number
  failed: number
  na: number
  wallMs: number
  /** --baseline: each case's loads against an earlier plan's (baseline.ts) */
  baseline?: BaselineComparison
  /**
   * the selected cases that never started because the plan was interrupted ([] when it was not);
   * absent in files of version 1, which did not record them
   */
  notRun?: CaseNotRun[]
}
