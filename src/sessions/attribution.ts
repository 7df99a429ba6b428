// Which queue carried each session, from what its socket's samples say (native/session_probe.h)
// and what the testbed knows by construction. Each testbed names one method (docs/sessions.md,
// "Queues and TCP_INFO"); the result says which was used, and a session seen on more than one
// queue is shown as moved, never averaged onto one. Pure: tests feed it probes.
import type {NativeSessionProbe} from '../native.js'
import type {SessionQueue, TcpInfoSummary} from '../results/schema.js'

/**
 * What a testbed knows about its queues, handed to the client by the caller that set them up:
 *   veth-xps   XPS of the client's veth maps each CPU to one tx queue, and veth delivers tx queue K
 *              to the peer's rx queue K; with the sending threads pinned, the sender's CPU names
 *              the queue of the session's requests
 *   relay-cpu  tap testbed: the relay's worker for queue pair K runs pinned on one CPU and writes
 *              into the tap there, so the receiving socket's SO_INCOMING_CPU names the queue
 *   none       nothing names a queue here; `reason` says why (loopback: one queue, no NAPI)
 */
export type AttributionContext =
  | {method: 'veth-xps'; /** CPU -> tx queue of the client's device */ cpuQueue: Record<number, number>}
  | {method: 'relay-cpu'; /** relay worker CPU -> queue pair */ cpuQueue: Record<number, number>}
  | {method: 'none'; reason: string}

const uniqueSorted = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b)

/** Queues for CPUs through a map; the first CPU the map does not know, if any. */
function queuesOf(cpus: number[], cpuQueue: Record<number, number>): {queues: number[]; unknown?: number} {
  const unknown = cpus.find((c) => cpuQueue[c] === undefined)
  return {
    queues: uniqueSorted(cpus.filter((c) => cpuQueue[c] !== undefined).map((c) => cpuQueue[c])),
    unknown,
  }
}

function unattributed(probe: NativeSessionProbe | undefined, reason: string): SessionQueue {
  return {
    method: 'none',
    queues: [],
    moved: false,
    reason,
    rxCpus: probe?.rxCpusSeen ?? [],
    txCpus: probe?.txCpusSeen ?? [],
    ...(probe?.napiLast ? {napiId: probe.napiLast} : {}),
    samples: probe?.samples ?? 0,
  }
}

/** Which of the probe's CPU lists a method reads, and what to call it when a CPU has no queue. */
const METHOD_CPUS = {
  'veth-xps': {cpus: (p: NativeSessionProbe) => p.txCpusSeen, what: 'sent from CPU', fix: 'has no XPS queue'},
  'relay-cpu': {
    cpus: (p: NativeSessionProbe) => p.rxCpusSeen,
    what: 'received on CPU',
    fix: 'runs no relay worker',
  },
} as const

export function attributeSession(
  probe: NativeSessionProbe | undefined,
  ctx: AttributionContext,
): SessionQueue {
  if (ctx.method === 'none') return unattributed(probe, ctx.reason)
  if (!probe || probe.samples === 0) return unattributed(probe, 'not sampled (sampling was off)')
  const m = METHOD_CPUS[ctx.method]
  const cpus = m.cpus(probe)
  if (cpus.length === 0)
    return unattributed(
      probe,
      probe.cpusBeyond > 0 ? 'CPUs above 63 are not tracked' : 'nothing received yet',
    )
  const {queues, unknown} = queuesOf(cpus, ctx.cpuQueue)
  if (unknown !== undefined)
    return unattributed(probe, `${m.what} ${unknown}, which ${m.fix}: its queue is not known`)
  return {
    method: ctx.method,
    ...(queues.length === 1 ? {queue: queues[0]} : {}),
    queues,
    moved: queues.length > 1,
    rxCpus: probe.rxCpusSeen,
    txCpus: probe.txCpusSeen,
    ...(probe.napiLast ? {napiId: probe.napiLast} : {}),
    samples: probe.samples,
  }
}

export function tcpInfoSummary(probe: NativeSessionProbe | undefined): TcpInfoSummary | undefined {
  const t = probe?.tcp
  if (!t) return undefined
  return {
    samples: t.samples,
    rttMinUs: t.rttMinUs,
    rttMeanUs: t.rttMeanUs,
    rttMaxUs: t.rttMaxUs,
    rttvarMaxUs: t.rttvarMaxUs,
    cwndMin: t.cwndMin,
    cwndMax: t.cwndMax,
    cwndLast: t.cwndLast,
    totalRetrans: t.totalRetrans,
    deliveryRateMaxBps: t.deliveryRateMaxBps,
    deliveryRateLastBps: t.deliveryRateLastBps,
  }
}

/**
 * CPU -> queue from each queue's CPUs (veth: tx-K's xps_cpus; tap: the relay worker's CPU of pair
 * K). A CPU of two queues names neither (XPS picks between them by flow hash; one relay CPU serves
 * both), so it is left out and its sessions are not attributed.
 */
export function cpuQueueMap(xpsCpus: number[][]): Record<number, number> {
  const count = new Map<number, number>()
  for (const cpus of xpsCpus) for (const c of cpus) count.set(c, (count.get(c) ?? 0) + 1)
  const out: Record<number, number> = {}
  xpsCpus.forEach((cpus, q) => {
    for (const c of cpus) if (count.get(c) === 1) out[c] = q
  })
  return out
}
