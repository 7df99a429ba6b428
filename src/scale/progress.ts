// Sweep progress for a person: on a TTY one line redrawn in place (step k of n, iteration,
// ETA, last figure); otherwise one plain line per event, so logs and CI output stay readable.
// Written to stderr, so that --json output on stdout is only the result object. An alternating
// sweep (--order alternate) reports rounds instead: round k of n, the queue count, the visit.
import {metricValue} from '../results/stats.js'
import {plural} from '../util/text.js'
import type {Iteration, RunConfig, Step} from '../results/schema.js'
import type {QueueReadback} from '../testbed/types.js'
import {remainingMs, remainingVisitsMs, type PlannedStep, type PlannedVisit} from './plan.js'

const UNITS: Record<Iteration['result']['workload'], string> = {rr: 'tx/s', stream: 'Gbit/s', gen: 'pps'}

export function formatFigure(it: Iteration): string {
  const v = metricValue(it.result)
  const text = v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)
  return `${text} ${UNITS[it.result.workload]}`
}

export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

const queuesText = (n: number) => plural(n, 'queue')

/**
 * What the kernel read back after a queue-count change, in words: "combined 2 of 4, sysfs rx 2
 * tx 2, tap 2 attached 2 detached" (ethtool's own names; rx/tx channels where a device has them).
 */
export function readbackText(r: QueueReadback): string {
  const c = r.channels
  const ch: string[] = []
  if (c.combined !== undefined)
    ch.push(`combined ${c.combined}${c.maxCombined !== undefined ? ` of ${c.maxCombined}` : ''}`)
  for (const k of ['rx', 'tx'] as const) {
    const max = c[k === 'rx' ? 'maxRx' : 'maxTx']
    if (c[k] !== undefined && c[k] !== 0) ch.push(`${k} ${c[k]}${max !== undefined ? ` of ${max}` : ''}`)
  }
  const parts = [
    `channels ${ch.length ? ch.join(', ') : 'not reported'}`,
    `sysfs rx ${r.sysfsQueues.rx} tx ${r.sysfsQueues.tx}`,
  ]
  if (r.tapQueues) parts.push(`host tap ${r.tapQueues.attached} attached, ${r.tapQueues.detached} detached`)
  return parts.join('; ')
}

type Out = NodeJS.WritableStream & {isTTY?: boolean}

/**
 * The redrawn TTY line: between events (an iteration lasts seconds to minutes) it is redrawn every
 * second with the ETA counted down by the time since it was computed, so that it never stands still.
 */
class LiveLine {
  private etaSetAt = 0
  private timer?: NodeJS.Timeout

  constructor(
    private readonly out: Out,
    private readonly now: () => number,
    private readonly render: (etaMs: number) => string | undefined,
  ) {}

  private etaMs = 0

  setEta(ms: number): void {
    this.etaMs = ms
    this.etaSetAt = this.now()
  }

  /** The ETA as of now: the last computed one minus the time since. */
  eta(): number {
    return Math.max(0, this.etaMs - (this.now() - this.etaSetAt))
  }

  draw(): void {
    const line = this.render(this.eta())
    if (line === undefined) return
    this.out.write(`\r\x1b[K${line}`)
    this.timer ??= setInterval(() => this.draw(), 1000).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}

export interface ProgressState {
  stepPosition: number
  totalSteps: number
  queueCount: number
  iteration: number
  iterations: number
  etaMs: number
  last?: string
}

export function formatProgress(p: ProgressState): string {
  const parts = [
    `step ${p.stepPosition}/${p.totalSteps} (${queuesText(p.queueCount)})`,
    `iteration ${p.iteration}/${p.iterations}`,
    `ETA ${formatEta(p.etaMs)}`,
  ]
  if (p.last) parts.push(`last ${p.last}`)
  return parts.join(' · ')
}

export class SweepProgress {
  private position = 0
  private state?: ProgressState

  private readonly line: LiveLine

  constructor(
    private readonly config: RunConfig,
    private readonly totalSteps: number,
    private readonly out: Out = process.stderr,
    now: () => number = () => performance.now(),
  ) {
    this.line = new LiveLine(out, now, (etaMs) => this.state && formatProgress({...this.state, etaMs}))
  }

  /** A step recorded by an earlier run (--resume). */
  skip(): void {
    this.position++
  }

  stepStarted(step: PlannedStep, readback: QueueReadback): void {
    this.position++
    this.state = {
      stepPosition: this.position,
      totalSteps: this.totalSteps,
      queueCount: step.queueCount,
      iteration: 0,
      iterations: this.config.iterations,
      etaMs: this.eta(0),
    }
    this.line.setEta(this.state.etaMs)
    if (!this.out.isTTY)
      this.out.write(
        `step ${this.position}/${this.totalSteps}: ${queuesText(step.queueCount)} set (${readbackText(readback)})\n`,
      )
    else this.draw()
  }

  iterationDone(step: PlannedStep, it: Iteration): void {
    if (!this.state) return
    this.state.iteration = it.index + 1
    this.state.last = formatFigure(it)
    this.state.etaMs = this.eta(this.state.iteration)
    this.line.setEta(this.state.etaMs)
    if (this.out.isTTY) this.draw()
    else
      this.out.write(
        `  ${queuesText(step.queueCount)}, iteration ${it.index + 1}/${this.config.iterations}: ${this.state.last}\n`,
      )
  }

  stepDone(_step: PlannedStep, _recorded: Step): void {
    if (this.out.isTTY) this.draw()
  }

  /** Ends the redrawn line so that what follows starts on its own. */
  finish(): void {
    this.line.stop()
    if (this.out.isTTY && this.state) this.out.write('\n')
  }

  private eta(iterationsDoneInStep: number): number {
    const stepsAfter = this.totalSteps - this.position
    return remainingMs(this.config, stepsAfter, this.config.iterations - iterationsDoneInStep)
  }

  /** Draws the TTY line now (a timer calls it every second between events). */
  draw(): void {
    this.line.draw()
  }
}

export interface RoundState {
  round: number
  rounds: number
  queueCount: number
  /** 1-based position of the visit in the whole sweep */
  visit: number
  visits: number
  etaMs: number
  last?: string
}

export function formatRound(p: RoundState): string {
  const parts = [
    `round ${p.round}/${p.rounds} (${queuesText(p.queueCount)})`,
    `iteration ${p.visit}/${p.visits}`,
    `ETA ${formatEta(p.etaMs)}`,
  ]
  if (p.last) parts.push(`last ${p.last}`)
  return parts.join(' · ')
}

export class RoundProgress {
  private state?: RoundState
  private readonly visits: number

  /** `done`: iterations an earlier run recorded (--resume), counted as made. */
  private readonly line: LiveLine

  constructor(
    private readonly config: RunConfig,
    private done = 0,
    private readonly out: Out = process.stderr,
    now: () => number = () => performance.now(),
  ) {
    this.visits = config.queues.length * config.iterations
    this.line = new LiveLine(out, now, (etaMs) => this.state && formatRound({...this.state, etaMs}))
  }

  visitStarted(visit: PlannedVisit, readback: QueueReadback): void {
    this.state = {
      round: visit.round,
      rounds: this.config.iterations,
      queueCount: visit.queueCount,
      visit: this.done + 1,
      visits: this.visits,
      etaMs: this.eta(),
      last: this.state?.last,
    }
    this.line.setEta(this.state.etaMs)
    if (!this.out.isTTY)
      this.out.write(
        `round ${visit.round}/${this.config.iterations}: ${queuesText(visit.queueCount)} set (${readbackText(readback)})\n`,
      )
    else this.draw()
  }

  iterationDone(visit: PlannedVisit, it: Iteration): void {
    this.done++
    if (!this.state) return
    this.state.last = formatFigure(it)
    this.state.etaMs = this.eta()
    this.line.setEta(this.state.etaMs)
    if (this.out.isTTY) this.draw()
    else
      this.out.write(
        `  ${queuesText(visit.queueCount)}, round ${visit.round}/${this.config.iterations}: ${this.state.last}\n`,
      )
  }

  finish(): void {
    this.line.stop()
    if (this.out.isTTY && this.state) this.out.write('\n')
  }

  private eta(): number {
    return remainingVisitsMs(this.config, this.visits - this.done)
  }

  /** Draws the TTY line now (a timer calls it every second between events). */
  draw(): void {
    this.line.draw()
  }
}
