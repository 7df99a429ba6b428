// Queue attribution per testbed method, and the per-queue figures and findings built on it.
import {describe, expect, it} from 'vitest'
import type {NativeSessionProbe} from '../../src/native.js'
import {jainIndex, queueFinding, queueGroups, sessionGroups} from '../../src/results/queues.js'
import type {LatencySummaryUs, QueueGroup, RrSession} from '../../src/results/schema.js'
import {attributeSession, tcpInfoSummary, cpuQueueMap} from '../../src/sessions/attribution.js'

const probe = (o: Partial<NativeSessionProbe> = {}): NativeSessionProbe => ({
  samples: 3,
  rxCpuFirst: 1,
  rxCpuLast: 1,
  rxCpuChanges: 0,
  rxCpusSeen: [1],
  txCpuFirst: 0,
  txCpuLast: 0,
  txCpuChanges: 0,
  txCpusSeen: [0],
  cpusBeyond: 0,
  napiFirst: 0,
  napiLast: 0,
  napiChanges: 0,
  ...o,
})

const lat = (p99: number, count = 100): LatencySummaryUs => ({
  count,
  min: 1,
  mean: 2,
  p50: 2,
  p90: 3,
  p99,
  p999: p99,
  max: p99,
})

describe('attributeSession', () => {
  const veth = {method: 'veth-xps' as const, cpuQueue: {0: 0, 1: 1}}
  it('veth: the sending CPU names the tx queue through XPS', () => {
    expect(attributeSession(probe({txCpusSeen: [1]}), veth)).toMatchObject({
      method: 'veth-xps',
      queue: 1,
      queues: [1],
      moved: false,
    })
  })
  it('a session sent from two CPUs of two queues moved: no one queue, both listed', () => {
    const a = attributeSession(probe({txCpusSeen: [0, 1], txCpuChanges: 2}), veth)
    expect(a).toMatchObject({moved: true, queues: [0, 1]})
    expect(a.queue).toBeUndefined()
  })
  it('a CPU outside the map names no queue, and says which', () => {
    const a = attributeSession(probe({txCpusSeen: [3]}), veth)
    expect(a).toMatchObject({
      method: 'none',
      reason: 'sent from CPU 3, which has no XPS queue: its queue is not known',
    })
  })
  it('tap: the receiving CPU is the relay worker of one queue pair', () => {
    expect(
      attributeSession(probe({rxCpusSeen: [1]}), {method: 'relay-cpu', cpuQueue: {1: 0, 0: 1}}),
    ).toMatchObject({
      method: 'relay-cpu',
      queue: 0,
    })
  })
  it('loopback and unsampled sessions are not attributed, with the reason', () => {
    expect(attributeSession(probe(), {method: 'none', reason: 'loopback'})).toMatchObject({
      method: 'none',
      reason: 'loopback',
      samples: 3,
    })
    expect(attributeSession(undefined, veth)).toMatchObject({
      method: 'none',
      reason: 'not sampled (sampling was off)',
    })
    expect(attributeSession(probe({txCpusSeen: []}), veth)).toMatchObject({
      method: 'none',
      reason: 'nothing received yet',
    })
  })
  it('keeps a NAPI id when the receive path had one', () => {
    expect(attributeSession(probe({napiLast: 8193, txCpusSeen: [0]}), veth).napiId).toBe(8193)
  })
})

describe('cpuQueueMap', () => {
  it('maps each CPU to its one queue and leaves out CPUs in two masks (flow hash picks)', () => {
    expect(
      cpuQueueMap([
        [0, 2],
        [1, 3],
      ]),
    ).toEqual({0: 0, 2: 0, 1: 1, 3: 1})
    expect(cpuQueueMap([[0, 1], [1]])).toEqual({0: 0})
  })
})

describe('tcpInfoSummary', () => {
  it('is absent without TCP samples', () => {
    expect(tcpInfoSummary(probe())).toBeUndefined()
  })
})

const session = (id: number, queue: number | undefined, tps: number, moved = false): RrSession => ({
  id,
  thread: 0,
  cpu: 0,
  transactions: tps,
  windowMs: 1000,
  transactionsPerSecond: tps,
  errors: 0,
  stalled: false,
  latency: lat(10),
  latencyHistogram: '',
  queue: {
    method: 'veth-xps',
    ...(queue === undefined ? {} : {queue}),
    queues: moved ? [0, 1] : [queue ?? 0],
    moved,
    rxCpus: [],
    txCpus: [],
    samples: 1,
  },
  tcpInfo: {
    samples: 1,
    rttMinUs: 5,
    rttMeanUs: 10 * (id + 1),
    rttMaxUs: 50,
    rttvarMaxUs: 3,
    cwndMin: 10,
    cwndMax: 10,
    cwndLast: 10,
    totalRetrans: id,
    deliveryRateMaxBps: 1,
    deliveryRateLastBps: 1,
  },
})

describe('queueGroups', () => {
  const merged = [
    {latency: lat(10), histogram: 'a'},
    {latency: lat(0, 0), histogram: 'b'},
    {latency: lat(12), histogram: 'c'},
  ]
  it('one group per queue, idle ones included; moved sessions in none', () => {
    const sessions = [
      session(0, 0, 100),
      session(1, 0, 300),
      session(2, 2, 50),
      session(3, undefined, 70, true),
    ]
    const g = queueGroups(sessions, 3, merged)!
    expect(g.movedSessions).toEqual([3])
    expect(g.queues.map((q) => q.sessions)).toEqual([[0, 1], [], [2]])
    expect(g.queues[0]).toMatchObject({
      transactions: 400,
      transactionsPerSecond: 400,
      latencyHistogram: 'a',
      rttMeanUs: 15,
      totalRetrans: 1,
    })
    expect(g.queues[0].jainIndex).toBeCloseTo(jainIndex([100, 300]), 12)
    expect(g.queues[1]).toMatchObject({transactions: 0, jainIndex: 0})
    expect(Array.from(sessionGroups(sessions))).toEqual([0, 0, 2, -1])
  })
  it('none without an attributed session', () => {
    expect(queueGroups([session(0, undefined, 1, true)], 2, merged)).toBeUndefined()
  })
})

describe('queueFinding', () => {
  const group = (queue: number, sessions: number[], p99: number): QueueGroup => ({
    queue,
    sessions,
    transactions: 1,
    transactionsPerSecond: 1,
    latency: lat(p99, sessions.length ? 100 : 0),
    latencyHistogram: '',
    jainIndex: 1,
  })
  it('names a queue that carries several sessions while another is idle', () => {
    expect(queueFinding([group(0, [], 0), group(1, [0, 1, 2], 10)])).toMatchObject({
      queue: 1,
      kind: 'crowded',
    })
  })
  it('names a queue whose p99 is 3x the others, and nothing below that', () => {
    expect(queueFinding([group(0, [0], 10), group(1, [1], 31)])).toMatchObject({queue: 1, kind: 'slow'})
    expect(queueFinding([group(0, [0], 10), group(1, [1], 29)])).toBeUndefined()
    // one session alone on a queue beside an idle one is no crowd
    expect(queueFinding([group(0, [0], 10), group(1, [], 0)])).toBeUndefined()
  })
})
