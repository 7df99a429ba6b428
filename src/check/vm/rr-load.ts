// A TCP_RR load between the host namespace and a guest NIC, with the guest snapshots around it:
// the agent's session server in the guest, one engine thread pinned per vCPU (so that replies
// leave on every vCPU's TX queue by XPS), mqbench's sessions from the host namespace, and the
// interrupt deltas of the guest NIC. The per-queue judging is the host `check`'s (checks.ts).
import {randomBytes} from 'node:crypto'
import {observeDelta} from '../../observe/index.js'
import type {RrResult} from '../../results/schema.js'
import {runRr} from '../../sessions/index.js'
import type {VmBed} from '../../testbed/vm.js'
import {guestSnapshot} from '../../vm/guest-observe.js'
import {evaluateChecks, type LoadRun} from '../checks.js'
import {loadFigure} from './figures.js'
import type {LoadFigure, PlanCheck} from './types.js'

/**
 * The agent's session server in the guest on the guest NIC's address, one engine thread pinned
 * per vCPU (replies then leave on every vCPU's TX queue by XPS), with a fresh token.
 */
export async function guestServer(
  bed: VmBed,
  maxSessions: number,
  cpus = Array.from({length: bed.setup.vcpus}, (_, i) => i),
): Promise<{port: number; token: string; stop: () => Promise<void>}> {
  const token = randomBytes(12).toString('hex')
  const srv = await bed.agent.serverStart({bind: bed.ipGuest, port: 0, token, maxSessions, cpus})
  return {
    port: srv.port,
    token,
    stop: async () => {
      await bed.agent.serverStop().catch(() => {})
    },
  }
}

export async function rrLoad(
  bed: VmBed,
  dev: string,
  /** cpus: the guest vCPUs the server's engine threads are pinned to (default: one per vCPU) */
  opts: {sessions: number; durationMs: number; signal?: AbortSignal; cpus?: number[]},
): Promise<LoadRun & {rr: RrResult}> {
  const srv = await guestServer(bed, opts.sessions, opts.cpus)
  const token = srv.token
  try {
    const before = await guestSnapshot(bed.agent, dev)
    const rr = await runRr(
      {
        server: bed.ipGuest,
        port: srv.port,
        netns: bed.ns,
        token,
        type: 'tcp_rr',
        sessions: opts.sessions,
        requestSize: 1,
        responseSize: 1,
        durationMs: opts.durationMs,
      },
      {signal: opts.signal},
    )
    const after = await guestSnapshot(bed.agent, dev)
    return {
      queueCount: after.queueCounts.rx,
      transactionsPerSecond: rr.transactionsPerSecond,
      before,
      after,
      interrupts: observeDelta(before, after).interrupts,
      rr,
    }
  } finally {
    await srv.stop()
  }
}

/** The host check's per-queue judging of a load on `queues` queue pairs: interrupts and ethtool -S. */
export function perQueueChecks(dev: string, queues: number, vcpus: number, load: LoadRun): PlanCheck[] {
  const wanted = new Set(['irq-per-queue', 'ethtool-per-queue'])
  return evaluateChecks({
    dev,
    queues,
    onlineCpus: Array.from({length: vcpus}, (_, i) => i),
    loadN: load,
  }).filter((c) => wanted.has(c.id))
}

/** Every session carried transactions (a session stuck at zero is a queue that lost its flows). */
export function sessionsCheck(rr: RrResult, sessions: number): PlanCheck {
  const idle = rr.sessions.filter((s) => s.transactions === 0).length
  const ok = rr.sessions.length === sessions && idle === 0
  return {
    id: 'rr-sessions',
    title: `${sessions} TCP_RR sessions between host and guest all carried transactions`,
    status: ok ? 'PASS' : 'FAIL',
    evidence:
      `${rr.sessions.length} sessions, ${idle} without a transaction, ` +
      `${Math.round(rr.transactionsPerSecond)} transactions/s`,
  }
}

/**
 * The plan's load step on a guest NIC: TCP_RR sessions, then the sessions check, the interrupt
 * and counter checks of `queues` queue pairs (titles prefixed with `prefix`) and the load's
 * figure (`enabled`: the pairs the guest had enabled, when not `queues`).
 */
export async function judgedRrLoad(
  bed: VmBed,
  dev: string,
  o: {
    sessions: number
    durationMs: number
    signal?: AbortSignal
    queues: number
    enabled?: number
    prefix: string
    label: string
  },
): Promise<{checks: PlanCheck[]; figure: LoadFigure}> {
  const load = await rrLoad(bed, dev, o)
  return {
    checks: [
      sessionsCheck(load.rr, o.sessions),
      ...perQueueChecks(dev, o.queues, bed.setup.vcpus, load).map((c) => ({
        ...c,
        title: `${o.prefix}: ${c.title}`,
      })),
    ],
    figure: loadFigure(
      {
        label: o.label,
        workloads: ['tcp_rr'],
        sessions: o.sessions,
        queues: o.enabled ?? o.queues,
        durationMs: o.durationMs,
        transactionsPerSecond: load.rr.transactionsPerSecond,
      },
      load,
    ),
  }
}
