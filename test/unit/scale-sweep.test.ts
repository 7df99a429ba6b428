import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {ResultsJournal, withIteration} from '../../src/results/journal.js'
import {loadResults} from '../../src/results/load.js'
import type {QueueTraffic, ResultsFile, Step, WorkloadResult} from '../../src/results/schema.js'
import {runAlternating} from '../../src/scale/alternate.js'
import {missingIterations, planRemaining, planScale, type ScalePlan} from '../../src/scale/plan.js'
import {mergeEnds, runSweep, SweepInterrupted, type Probes} from '../../src/scale/sweep.js'
import type {PreparedWorkload} from '../../src/scale/workloads.js'
import type {Testbed} from '../../src/testbed/types.js'

const qt = (
  queue: number,
  tx: number,
  rx: number,
  source: QueueTraffic['source'] = 'relay',
): QueueTraffic => ({
  queue,
  source,
  txPackets: tx,
  txBytes: tx * 100,
  rxPackets: rx,
  rxBytes: rx * 100,
  drops: 0,
})

/** A tap-like testbed whose relay counters grow by 10 frames per active queue per window. */
function fakeTestbed(): Testbed & {set: number[]; windows: number} {
  let count = 4
  const tb = {
    kind: 'tap',
    name: 'f',
    nsA: 'a',
    nsB: 'b',
    devA: 'da',
    devB: 'db',
    ipA: '1',
    ipB: '2',
    maxQueues: 4,
    set: [] as number[],
    windows: 0,
    async setQueueCount(n: number) {
      count = n
      tb.windows = 0
      tb.set.push(n)
      return {queueCount: n, channels: {combined: n}, sysfsQueues: {rx: n, tx: n}}
    },
    queueCount: () => count,
    relayQueueTraffic: async () =>
      Array.from({length: count}, (_, q) => qt(q, 10 * tb.windows, 5 * tb.windows)),
    async checkHealthy() {},
    async close() {},
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
  delta: () => ({
    interrupts: [],
    softnet: [{cpu: 0, processed: 1, dropped: 0, timeSqueeze: 0, receivedRps: 0, flowLimit: 0}],
    queues: [],
  }),
  cpuTimes: () => [{cpu: 0, user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0}],
  config: () => ({
    channels: {},
    sysfsQueues: {rx: 0, tx: 0},
    rpsCpus: [],
    xpsCpus: [],
    irqAffinity: {},
    offloads: {},
  }),
}

function fakeJournal(steps: Step[] = []): ResultsJournal {
  const results = {steps}
  return {results, appendStep: (s: Step) => steps.push(s)} as unknown as ResultsJournal
}

function workloadOn(
  tb: Testbed & {windows: number},
  onRun?: (queueCount: number, call: number) => void,
  opts: {pauseMs?: number; result?: WorkloadResult} = {},
): PreparedWorkload & {calls: Array<[number, number]>} {
  const calls: Array<[number, number]> = []
  return {
    calls,
    async run(w) {
      calls.push([w.queueCount, w.durationMs])
      onRun?.(w.queueCount, calls.length)
      // distinct millisecond timestamps, so that tests can order iterations by startedAt
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs))
      tb.windows++
      return opts.result ?? ({workload: 'stream', gbps: w.queueCount} as unknown as WorkloadResult)
    },
    close: async () => {},
  }
}

const plan = planScale(
  {
    queues: [1, 2, 4],
    testbed: {kind: 'tap'},
    workload: 'stream',
    sessions: 2,
    durationMs: 100,
    warmupMs: 50,
    iterations: 2,
  },
  {testbedName: 'f'},
)

describe('runSweep', () => {
  it('sets and records each queue count with warm-up, iterations and relay deltas', async () => {
    const tb = fakeTestbed()
    const wl = workloadOn(tb)
    const journal = fakeJournal()
    const steps = await runSweep(plan, {
      testbed: tb,
      workload: wl,
      journal,
      signal: new AbortController().signal,
      probes,
    })
    expect(tb.set).toEqual([1, 2, 4])
    expect(wl.calls).toEqual([
      [1, 50],
      [1, 100],
      [1, 100],
      [2, 50],
      [2, 100],
      [2, 100],
      [4, 50],
      [4, 100],
      [4, 100],
    ])
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

  it('runs exactly the steps planRemaining leaves of a resumed file', async () => {
    const tb = fakeTestbed()
    const done = {queueCount: 1, iterations: [{index: 0}, {index: 1}]} as Step
    const journal = fakeJournal([done])
    await runSweep(planRemaining({config: plan.config, steps: [done]}), {
      testbed: tb,
      workload: workloadOn(tb),
      journal,
      signal: new AbortController().signal,
      probes,
    })
    expect(tb.set).toEqual([2, 4])
    expect(journal.results.steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
  })

  it('abandons the step in progress when aborted, keeping the steps done', async () => {
    const tb = fakeTestbed()
    const ac = new AbortController()
    const journal = fakeJournal()
    // abort during the 2nd iteration of the 2-queue step (call 5 = warm-up 4, iterations 5 and 6)
    const wl = workloadOn(tb, (_q, call) => call === 5 && ac.abort())
    await expect(
      runSweep(plan, {testbed: tb, workload: wl, journal, signal: ac.signal, probes}),
    ).rejects.toBeInstanceOf(SweepInterrupted)
    expect(journal.results.steps.map((s) => s.queueCount)).toEqual([1])
    expect(wl.calls).toHaveLength(5)
  })

  it('stops on a failed relay', async () => {
    const tb = fakeTestbed()
    tb.checkHealthy = async () => {
      throw new Error('relay failed')
    }
    await expect(
      runSweep(plan, {
        testbed: tb,
        workload: workloadOn(tb),
        journal: fakeJournal(),
        signal: new AbortController().signal,
        probes,
      }),
    ).rejects.toThrow('relay failed')
  })
})

const dir = mkdtempSync(join(tmpdir(), 'mqb-alt-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
// The committed fixture is version 1: read it as the current version, as a resumed run would.
const fixture: ResultsFile = loadResults(
  fileURLToPath(new URL('../fixtures/results/tap-rr.json', import.meta.url)),
) as ResultsFile
const alternate = planScale(
  {
    queues: [1, 2, 4],
    testbed: {kind: 'tap'},
    workload: 'stream',
    sessions: 2,
    durationMs: 100,
    warmupMs: 50,
    iterations: 2,
    order: 'alternate',
  },
  {testbedName: 'f'},
)
// a file that ResultsJournal.open must validate needs a real workload result
const validResult = fixture.steps[0].iterations[0].result
let journals = 0
function realJournal(p: ScalePlan): ResultsJournal {
  return ResultsJournal.create(join(dir, `alt-${++journals}.json`), {
    schema: fixture.schema,
    version: fixture.version,
    run: {...fixture.run, status: 'running'},
    host: fixture.host,
    config: p.config,
  })
}
const onDisk = (j: ResultsJournal) =>
  (JSON.parse(readFileSync(j.path, 'utf8')) as ResultsFile).steps.map((s) => [
    s.queueCount,
    s.iterations.map((it) => it.index),
  ])

describe('runAlternating (--order alternate)', () => {
  it('visits every queue count once per round, warming up each time, and writes every iteration at once', async () => {
    const tb = fakeTestbed()
    const wl = workloadOn(tb, undefined, {pauseMs: 2, result: validResult})
    const journal = realJournal(alternate)
    const seen: unknown[] = []
    const steps = await runAlternating(alternate, {
      testbed: tb,
      workload: wl,
      journal,
      signal: new AbortController().signal,
      probes,
      events: {iterationDone: () => seen.push(onDisk(journal))},
    })
    expect(tb.set).toEqual([1, 2, 4, 1, 2, 4])
    expect(wl.calls).toEqual([
      [1, 50],
      [1, 100],
      [2, 50],
      [2, 100],
      [4, 50],
      [4, 100],
      [1, 50],
      [1, 100],
      [2, 50],
      [2, 100],
      [4, 50],
      [4, 100],
    ])
    // the file on disk after each visit: steps in queue order, growing one iteration at a time
    expect(seen).toEqual([
      [[1, [0]]],
      [
        [1, [0]],
        [2, [0]],
      ],
      [
        [1, [0]],
        [2, [0]],
        [4, [0]],
      ],
      [
        [1, [0, 1]],
        [2, [0]],
        [4, [0]],
      ],
      [
        [1, [0, 1]],
        [2, [0, 1]],
        [4, [0]],
      ],
      [
        [1, [0, 1]],
        [2, [0, 1]],
        [4, [0, 1]],
      ],
    ])
    expect(steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
    // iteration start times interleave 1,2,4,1,2,4; each step spans its first to its last iteration
    const starts = [0, 1].flatMap((i) => steps.map((s) => s.iterations[i].startedAt))
    expect([...starts].sort()).toEqual(starts)
    expect(new Set(starts).size).toBe(6)
    for (const s of steps) {
      expect(s.startedAt <= s.iterations[0].startedAt).toBe(true)
      expect(s.finishedAt > s.iterations[1].startedAt).toBe(true)
    }
    expect(steps[0].finishedAt > steps[2].iterations[0].startedAt).toBe(true)
    // relay deltas over the measured window, not totals since the count was set (the warm-up moved traffic too)
    expect(steps[1].iterations[1].queues).toEqual([qt(0, 10, 5), qt(1, 10, 5)])
    expect(steps[2].config.sysfsQueues).toEqual({rx: 4, tx: 4})
  })

  it('on abort abandons the iteration in progress and keeps every finished one', async () => {
    const tb = fakeTestbed()
    const ac = new AbortController()
    // calls: warm-up and iteration per visit; call 8 is the measured iteration of 1 queue, round 2
    const wl = workloadOn(tb, (_q, call) => call === 8 && ac.abort(), {result: validResult})
    const journal = realJournal(alternate)
    await expect(
      runAlternating(alternate, {testbed: tb, workload: wl, journal, signal: ac.signal, probes}),
    ).rejects.toBeInstanceOf(SweepInterrupted)
    expect(onDisk(journal)).toEqual([
      [1, [0]],
      [2, [0]],
      [4, [0]],
    ])
    expect(missingIterations(journal.results)).toHaveLength(3)
  })

  it('resumes a run killed mid-round with the missing pairs only, leaving recorded iterations as they were', async () => {
    const tb = fakeTestbed()
    const journal = realJournal(alternate)
    let calls = 0
    // "killed" after the 4th visit: a throw from the workload ends the sweep like a dead process
    await expect(
      runAlternating(alternate, {
        testbed: tb,
        workload: workloadOn(
          tb,
          () => {
            if (++calls === 9) throw new Error('killed')
          },
          {result: validResult},
        ),
        journal,
        signal: new AbortController().signal,
        probes,
      }),
    ).rejects.toThrow('killed')
    journal.close()
    const reopened = ResultsJournal.open(journal.path)
    const recorded = structuredClone(reopened.results.steps)
    expect(recorded.map((s) => [s.queueCount, s.iterations.map((it) => it.index)])).toEqual([
      [1, [0, 1]],
      [2, [0]],
      [4, [0]],
    ])
    const plan = planRemaining(reopened.results)
    const tb2 = fakeTestbed()
    await runAlternating(plan, {
      testbed: tb2,
      workload: workloadOn(tb2, undefined, {result: validResult}),
      journal: reopened,
      signal: new AbortController().signal,
      probes,
    })
    expect(tb2.set).toEqual([2, 4])
    expect(onDisk(reopened)).toEqual([
      [1, [0, 1]],
      [2, [0, 1]],
      [4, [0, 1]],
    ])
    expect(reopened.results.steps[0]).toEqual(recorded[0])
    expect(reopened.results.steps[1].iterations[0]).toEqual(recorded[1].iterations[0])
    expect(reopened.results.steps[1].startedAt).toBe(recorded[1].startedAt)
  })

  it('refuses a plan in steps order', async () => {
    const tb = fakeTestbed()
    await expect(
      runAlternating(plan, {
        testbed: tb,
        workload: workloadOn(tb),
        journal: fakeJournal(),
        signal: new AbortController().signal,
        probes,
      }),
    ).rejects.toThrow(/not an alternate-order plan/)
  })
})

describe('withIteration', () => {
  const it0 = {index: 0, startedAt: '2026-01-01T00:00:01.000Z'} as Step['iterations'][number]
  const it1 = {index: 1, startedAt: '2026-01-01T00:00:05.000Z'} as Step['iterations'][number]
  const config = {} as Step['config']
  it('starts a step on its first visit and keeps iterations in index order', () => {
    const first = withIteration(
      undefined,
      {startedAt: '2026-01-01T00:00:04.000Z', config},
      it1,
      '2026-01-01T00:00:06.000Z',
      2,
    )
    expect(first).toEqual({
      queueCount: 2,
      startedAt: '2026-01-01T00:00:04.000Z',
      finishedAt: '2026-01-01T00:00:06.000Z',
      config,
      iterations: [it1],
    })
    // a resume may fill an earlier index later: the span widens to cover both
    const both = withIteration(
      first,
      {startedAt: '2026-01-01T00:00:00.500Z', config: {channels: {}} as Step['config']},
      it0,
      '2026-01-01T00:00:02.000Z',
      2,
    )
    expect(both.iterations.map((i) => i.index)).toEqual([0, 1])
    expect([both.startedAt, both.finishedAt]).toEqual([
      '2026-01-01T00:00:00.500Z',
      '2026-01-01T00:00:06.000Z',
    ])
    expect(both.config).toBe(config)
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
