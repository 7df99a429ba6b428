// Turns the native counters of a finished run into a GenResult. Pure, so the arithmetic (rates
// over each thread's own window, loss as sent minus received, the placement matrix) is tested
// without sending a frame.
import type {GenPlacement, GenResult} from '../results/schema.js'
import type {NativeGenQueueStats, NativeRxThreadStats} from '../native.js'
import type {GenPlan} from './plan.js'

export interface SummaryInput {
  backend: 'packet' | 'tap' | 'xdp'
  dev: string
  plan: GenPlan
  tx: NativeGenQueueStats[]
  /**
   * threads[m] is PACKET_FANOUT_QM member m, which gets the frames with skb->queue_mapping % n == m.
   * A receiving driver records receive queue q as queue_mapping q + 1 (skb_record_rx_queue: tun,
   * NICs), while veth passes the sender's TX queue index through unchanged: queueMappingOffset
   * is 1 for the former and 0 for veth.
   */
  rx?: {dev: string; threads: NativeRxThreadStats[]; queueMappingOffset: number}
  expectedTxQueue: number[]
  ratePps?: number
  qdiscBypass?: boolean
  interrupted?: boolean
  /** --backend auto: which backend ran and why */
  backendChoice?: string
}

const mbps = (bytes: number, ms: number) => (ms > 0 ? (bytes * 8) / (ms * 1e3) : 0)
const perSecond = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0)

export function summarise(s: SummaryInput): GenResult {
  const queues = s.tx.map((q, i) => {
    const ms = q.endNs > q.startNs ? (q.endNs - q.startNs) / 1e6 : 0
    return {
      queue: q.queue,
      cpu: s.plan.queues[i].cpu,
      packets: q.packets,
      bytes: q.bytes,
      errors: q.refused,
      pps: perSecond(q.packets, ms),
      mbps: mbps(q.bytes, ms),
      ms,
    }
  })
  // The run lasted from the first thread's start to the last one's end.
  const starts = s.tx.filter((q) => q.startNs > 0).map((q) => q.startNs)
  const ends = s.tx.filter((q) => q.endNs > 0).map((q) => q.endNs)
  const durationMs = starts.length && ends.length ? (Math.max(...ends) - Math.min(...starts)) / 1e6 : 0
  const packets = queues.reduce((a, q) => a + q.packets, 0)
  const bytes = queues.reduce((a, q) => a + q.bytes, 0)
  const result: GenResult = {
    workload: 'gen',
    backend: s.backend,
    dev: s.dev,
    frameSize: s.plan.frame.frameSize,
    flowsPerQueue: s.plan.flowsPerQueue,
    durationMs,
    packets,
    bytes,
    pps: perSecond(packets, durationMs),
    mbps: mbps(bytes, durationMs),
    queues: queues.map(({ms: _ms, ...q}) => q),
  }
  if (s.ratePps !== undefined) result.ratePps = s.ratePps
  if (s.qdiscBypass !== undefined) result.qdiscBypass = s.qdiscBypass
  if (s.interrupted) result.interrupted = true
  // Every queue of one device binds in the same mode; a mix would be worth seeing, so the
  // zero-copy queues win only when all of them are.
  const modes = s.tx.map((q) => q.xdpMode).filter((m) => m !== undefined)
  if (s.backend === 'xdp' && modes.length)
    result.xdpMode = modes.every((m) => m === 'zerocopy') ? 'zerocopy' : 'copy'
  if (s.backendChoice) result.backendChoice = s.backendChoice
  const placement: GenPlacement = {expectedTxQueue: s.expectedTxQueue}
  if (s.rx) {
    const counted = countReceived(s.tx, s.rx, s.expectedTxQueue)
    result.rx = counted.rx
    placement.matrix = counted.matrix
    placement.verified = counted.verified
  }
  result.placement = placement
  return result
}

/**
 * What a receiver counted, per sender queue (loss as sent minus received), and the placement
 * matrix by receive queue. Also used for a receiver that ran elsewhere (inside a guest).
 */
export function countReceived(
  tx: Array<{packets: number}>,
  rx: NonNullable<SummaryInput['rx']>,
  expectedTxQueue: number[],
): {rx: NonNullable<GenResult['rx']>; matrix: number[][]; verified?: boolean} {
  const rxQueues = Array.from({length: tx.length}, (_, q) => {
    const sum = (k: 'packets' | 'bytes' | 'reordered' | 'duplicates') =>
      rx.threads.reduce((a, t) => a + t.queues[q][k], 0)
    const got = sum('packets')
    const dup = sum('duplicates')
    // Sent minus received catches losses at the tail of a flow too, which sequence gaps cannot.
    return {
      queue: q,
      packets: got,
      bytes: sum('bytes'),
      lost: Math.max(0, tx[q].packets - (got - dup)),
      reordered: sum('reordered'),
      duplicates: dup,
    }
  })
  const members = rx.threads.length
  const matrix = rx.threads.map((_, rxq) =>
    rx.threads[(rxq + rx.queueMappingOffset) % members].queues.map((q) => q.packets),
  )
  return {
    rx: {
      dev: rx.dev,
      packets: rxQueues.reduce((a, q) => a + q.packets, 0),
      lost: rxQueues.reduce((a, q) => a + q.lost, 0),
      reordered: rxQueues.reduce((a, q) => a + q.reordered, 0),
      duplicates: rxQueues.reduce((a, q) => a + q.duplicates, 0),
      queues: rxQueues,
      socketDrops: rx.threads.reduce((a, t) => a + t.socketDrops, 0),
      foreign: rx.threads.reduce((a, t) => a + t.foreign, 0),
    },
    matrix,
    verified: placementVerified(matrix, expectedTxQueue),
  }
}

/**
 * undefined when nothing can be proven: a single receive queue, or a driver that picks the TX
 * queue itself (expected -1). Otherwise true when frames arrived, and each sender queue's frames arrived only on the receive queue its
 * expected TX queue maps to (veth and tap keep the queue index from sender to receiver).
 * With a single receive socket there is nothing to tell apart, so nothing is proven.
 */
export function placementVerified(matrix: number[][], expectedTxQueue: number[]): boolean | undefined {
  if (matrix.length < 2 || expectedTxQueue.some((q) => q < 0)) return undefined
  let total = 0
  for (let rxq = 0; rxq < matrix.length; rxq++) {
    for (let q = 0; q < matrix[rxq].length; q++) {
      total += matrix[rxq][q]
      if (matrix[rxq][q] > 0 && expectedTxQueue[q] % matrix.length !== rxq) return false
    }
  }
  return total > 0
}
