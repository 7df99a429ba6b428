import {describe, expect, it} from 'vitest'
import type {ResultsJournal} from '../../src/results/journal.js'
import type {QueueTraffic, Step, WorkloadResult} from '../../src/results/schema.js'
import {planScale} from '../../src/scale/plan.js'
import {mergeEnds, runSweep, SweepInterrupted, type Probes} from '../../src/scale/sweep.js'
import type {PreparedWorkload} from '../../src/scale/workloads.js'
import type {Testbed} from '../../src/testbed/types.js'

const qt = (queue: number, tx: number, rx: number, source: QueueTraffic['source'] = 'relay'): QueueTraffic => ({queue, source, txPackets: tx, txBytes: tx * 100, rxPackets: rx, rxBytes: rx * 100, drops: 0})

/** A tap-like testbed whose relay counters grow by 10 frames per active queue per window. */
function fakeTestbed(): Testbed & {set: number[]; windows: number} {
  let count = 4
  const tb = {
    kind: 'tap', name: 'f', nsA: 'a', nsB: 'b', devA: 'da', devB: 'db', ipA: '1', ipB: '2', maxQueues: 4, set: [] as number[], windows: 0,
    setQueueCount(n: number) {
      count = n
      tb.windows = 0
      tb.set.push(n)
      return {queueCount: n, channels: {combined: n}, sysfsQueues: {rx: n, tx: n}}
    },
    queueCount: () => count,
    relayQueueTraffic: () => Array.from({length: count}, (_, q) => qt(q, 10 * tb.windows, 5 * tb.windows)),
    checkHealthy() {},
    close() {},
  }
  return tb as unknown as Testbed & {set: number[]; windows: number}
}

// each snapshot of a device sees one more tx drop than the last one
const drops = new Map<string, number>()
const probes: Probes = {
  snapshot: (dev) => {
    drops.set(dev, (drops.get(dev) ?? 0) + 1)
    return {dev, statistics: {tx_dropped: drops.get(dev), rx_dropped: 0}} as never
  },
  delta: () => ({interrupts: [], softnet: [{cpu: 0, processed: 1, dropped: 0, timeSqueeze: 0, receivedRps: 0, flowLimit: 0}], queues: []}),
  cpuTimes: () => [{cpu: 0, user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0}],
  config: () => ({channels: {}, sysfsQueues: {rx: 0, tx: 0}, rpsCpus: [], xpsCpus: [], irqAffinity: {}, offloads: {}}),
}

function fakeJournal(steps: Step[] = []): ResultsJournal {
  const results = {steps}
  return {results, appendStep: (s: Step) => steps.push(s)} as unknown as ResultsJournal
}

function workloadOn(tb: Testbed & {windows: number}, onRun?: (queueCount: number, call: number) => void): PreparedWorkload & {calls: Array<[number, number]>} {
  const calls: Array<[number, number]> = []
  return {
    calls,
    async run(w) {
      calls.push([w.queueCount, w.durationMs])
      onRun?.(w.queueCount, calls.length)
      tb.windows++
      return {workload: 'stream', gbps: w.queueCount} as unknown as WorkloadResult
    },
    close: async () => {},
  }
}

const plan = planScale({queues: [1, 2, 4], testbed: {kind: 'tap'}, workload: 'stream', sessions: 2, durationMs: 100, warmupMs: 50, iterations: 2}, {testbedName: 'f'})

describe('runSweep', () => {
  it('sets and records each queue count with warm-up, iterations and relay deltas', async () => {
    const tb = fakeTestbed()
    const wl = workloadOn(tb)
    const journal = fakeJournal()
    const steps = await runSweep(plan, {testbed: tb, workload: wl, journal, signal: new AbortController().signal, probes})
    expect(tb.set).toEqual([1, 2, 4])
    expect(wl.calls).toEqual([[1, 50], [1, 100], [1, 100], [2, 50], [2, 100], [2, 100], [4, 50], [4, 100], [4, 100]])
    expect(journal.results.steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
    expect(steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
    const s2 = steps[1]
    expect(s2.config.channels).toEqual({combined: 2})
    expect(s2.config.sysfsQueues).toEqual({rx: 2, tx: 2})
    expect(s2.iterations.map((i) => i.index)).toEqual([0, 1])
    // each window moved 10 frames A->B and 5 back on every active queue: the delta, not the total
    expect(s2.iterations[1].queues).toEqual([qt(0, 10, 5), qt(1, 10, 5)])
    expect(s2.iterations[0].softnet[0].processed).toBe(1)
    expect(s2.iterations[0].deviceDrops).toEqual([
      {dev: 'da', netns: 'a', txDropped: 1, rxDropped: 0},
      {dev: 'db', netns: 'b', txDropped: 1, rxDropped: 0},
    ])
  })

  it('skips the steps the journal holds (resume)', async () => {
    const tb = fakeTestbed()
    const done = {queueCount: 1} as Step
    const journal = fakeJournal([done])
    await runSweep(plan, {testbed: tb, workload: workloadOn(tb), journal, signal: new AbortController().signal, probes})
    expect(tb.set).toEqual([2, 4])
    expect(journal.results.steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
  })

  it('abandons the step in progress when aborted, keeping the steps done', async () => {
    const tb = fakeTestbed()
    const ac = new AbortController()
    const journal = fakeJournal()
    // abort during the 2nd iteration of the 2-queue step (call 5 = warm-up 4, iterations 5 and 6)
    const wl = workloadOn(tb, (_q, call) => call === 5 && ac.abort())
    await expect(runSweep(plan, {testbed: tb, workload: wl, journal, signal: ac.signal, probes})).rejects.toBeInstanceOf(SweepInterrupted)
    expect(journal.results.steps.map((s) => s.queueCount)).toEqual([1])
    expect(wl.calls).toHaveLength(5)
  })

  it('stops on a failed relay', async () => {
    const tb = fakeTestbed()
    tb.checkHealthy = () => {
      throw new Error('relay failed')
    }
    await expect(runSweep(plan, {testbed: tb, workload: workloadOn(tb), journal: fakeJournal(), signal: new AbortController().signal, probes})).rejects.toThrow('relay failed')
  })
})

describe('mergeEnds', () => {
  it('takes what A sent from what B received when A counts no tx per queue (veth)', () => {
    const a = [qt(0, 0, 7, 'ethtool'), qt(1, 0, 3, 'ethtool')]
    const b = [qt(0, 0, 11, 'ethtool'), qt(1, 0, 0, 'ethtool')]
    expect(mergeEnds(a, b)).toEqual([qt(0, 11, 7, 'ethtool'), qt(1, 0, 3, 'ethtool')])
  })

  it("keeps A's own tx counters where it has them (a NIC)", () => {
    const a = [qt(0, 4, 7, 'ethtool')]
    const b = [qt(0, 0, 99, 'ethtool'), qt(1, 0, 1, 'ethtool')]
    expect(mergeEnds(a, b)).toEqual([qt(0, 4, 7, 'ethtool'), {...qt(1, 0, 0, 'ethtool'), txBytes: 0}])
  })
})
