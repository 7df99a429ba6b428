import {describe, expect, it} from 'vitest'
import {parseQueueList} from '../../src/cli/parse.js'
import {MqbError} from '../../src/errors.js'
import {
  ITERATION_OVERHEAD_MS,
  STEP_OVERHEAD_MS,
  WORKLOAD_DEFAULTS,
  alternateVisits,
  missingIterations,
  planRemaining,
  planScale,
  remainingMs,
  remainingVisitsMs,
  resultsPath,
  shellCommand,
  type ScaleFlags,
} from '../../src/scale/plan.js'

const flags = (over: Partial<ScaleFlags> = {}): ScaleFlags => ({
  queues: [1, 2, 4, 8],
  testbed: {kind: 'tap'},
  workload: 'rr',
  sessions: 20,
  durationMs: 10_000,
  warmupMs: 2000,
  iterations: 3,
  ...over,
})

describe('planScale', () => {
  it('turns flags into one step per queue count and the recorded configuration', () => {
    const p = planScale(flags(), {testbedName: 's1234'})
    expect(p.steps).toEqual([
      {index: 1, queueCount: 1},
      {index: 2, queueCount: 2},
      {index: 3, queueCount: 4},
      {index: 4, queueCount: 8},
    ])
    expect(p.maxQueues).toBe(8)
    expect(p.config.testbed).toEqual({kind: 'tap', name: 's1234'})
    expect(p.config.params).toEqual({type: 'tcp_rr', requestSize: 1, responseSize: 1})
  })

  it('records the server and client pinning (pinnedCpus) only when one was given', () => {
    expect(planScale(flags(), {testbedName: 'x'}).config.pinnedCpus).toBeUndefined()
    expect(planScale(flags({workload: 'stream'}), {testbedName: 'x'}).config.params.messageSize).toBe(131072)
    const one = planScale(flags({pinning: {server: [1], client: undefined}}), {testbedName: 'x'})
    expect(one.config.pinnedCpus).toEqual({server: [1]})
    // both ends pinned: the "limited by" verdict may count only these CPUs
    const both = planScale(flags({pinning: {server: [1], client: [0, 0]}}), {testbedName: 'x'})
    expect(both.config.pinnedCpus).toEqual({server: [1], client: [0], workload: [0, 1]})
  })

  it('takes workload parameters over the defaults and rejects ones that do not apply', () => {
    expect(
      planScale(flags({workload: 'stream', params: {messageSize: 1000}}), {testbedName: 'x'}).config.params,
    ).toEqual({type: 'tcp_stream', messageSize: 1000})
    expect(() =>
      planScale(flags({workload: 'stream', params: {requestSize: 10}}), {testbedName: 'x'}),
    ).toThrow(/requestSize does not apply to the stream workload/)
    for (const w of ['crr', 'udp_rr'] as const)
      expect(planScale(flags({workload: w}), {testbedName: 'x'}).config.params.type).toBe(
        WORKLOAD_DEFAULTS[w].type,
      )
  })

  it('records the gen backend (--gen-backend), auto by default, and refuses it for other workloads', () => {
    expect(planScale(flags({workload: 'gen'}), {testbedName: 'x'}).config.params.backend).toBe('auto')
    expect(
      planScale(flags({workload: 'gen', params: {backend: 'xdp'}}), {testbedName: 'x'}).config.params.backend,
    ).toBe('xdp')
    expect(() => planScale(flags({params: {backend: 'xdp'}}), {testbedName: 'x'})).toThrow(
      /backend does not apply to the rr workload/,
    )
  })

  it('rejects queue counts above the maximum, naming it', () => {
    const err = (() => {
      try {
        planScale(flags({queues: [1, 4, 8], testbed: {kind: 'dev', dev: 'eth1'}, server: 'h:1'}), {
          testbedName: 'x',
          maxQueues: 4,
        })
      } catch (e) {
        return e as MqbError
      }
    })()
    expect(err).toBeInstanceOf(MqbError)
    expect(err!.message).toMatch(
      /queue count 8 is above the maximum of 4 for the dev:eth1 testbed; use counts from 1 to 4/,
    )
    expect(err!.exitCode).toBe(3)
    expect(() => planScale(flags({queues: [1, 300]}), {testbedName: 'x'})).toThrow(
      /maximum of 256 for the tap testbed/,
    )
  })

  it('needs a server for a dev testbed and positive counts', () => {
    expect(() => planScale(flags({testbed: {kind: 'dev', dev: 'eth1'}}), {testbedName: 'x'})).toThrow(
      /--server/,
    )
    expect(() => planScale(flags({iterations: 0}), {testbedName: 'x'})).toThrow(/--iterations 0/)
    expect(() => planScale(flags({sessions: 0}), {testbedName: 'x'})).toThrow(/--sessions 0/)
  })

  it('works with every queue-list spelling the parser accepts', () => {
    expect(
      planScale(flags({queues: parseQueueList('1..16:2')}), {testbedName: 'x'}).steps.map(
        (s) => s.queueCount,
      ),
    ).toEqual([1, 3, 5, 7, 9, 11, 13, 15])
    expect(() => parseQueueList('8..1')).toThrow(/backwards/)
    expect(() => parseQueueList('0..2')).toThrow(/queue count 0/)
    expect(() => parseQueueList('1,2,2')).toThrow(/twice/)
  })
})

describe('planRemaining (what is left of a results file)', () => {
  const step = (queueCount: number, indexes: number[]) => ({
    queueCount,
    iterations: indexes.map((index) => ({index})),
  })

  it('steps order: keeps the recorded order and drops the steps done', () => {
    const {config} = planScale(flags(), {testbedName: 'x'})
    const p = planRemaining({config, steps: [step(1, [0, 1, 2]), step(2, [0, 1, 2])]})
    expect(p.steps).toEqual([
      {index: 3, queueCount: 4},
      {index: 4, queueCount: 8},
    ])
    expect(p.visits).toBeUndefined()
    expect(p.maxQueues).toBe(8)
    expect(planRemaining({config, steps: [1, 2, 4, 8].map((q) => step(q, [0, 1, 2]))}).steps).toEqual([])
    // a new run is a results file with no steps
    expect(planRemaining({config, steps: []})).toEqual(planScale(flags(), {testbedName: 'x'}))
  })

  it('steps order: a recorded step is done (steps are recorded whole)', () => {
    const {config} = planScale(flags({queues: [1, 2]}), {testbedName: 'x'})
    expect(missingIterations({config, steps: [step(1, [0])]})).toEqual(
      [0, 1, 2].map((iteration) => ({queueCount: 2, iteration})),
    )
  })
})

describe('--order alternate', () => {
  it('records the order; steps stay the default and plan no visits', () => {
    const steps = planScale(flags(), {testbedName: 'x'})
    expect(steps.config.order).toBe('steps')
    expect(steps.visits).toBeUndefined()
    expect(planScale(flags({order: 'steps'}), {testbedName: 'x'}).visits).toBeUndefined()
  })

  it('plans rounds: every queue count once per round, in queue order', () => {
    const p = planScale(flags({queues: [1, 2, 4], iterations: 3, order: 'alternate'}), {testbedName: 'x'})
    expect(p.config.order).toBe('alternate')
    expect(p.visits!.map((v) => [v.round, v.queueCount, v.iteration])).toEqual([
      [1, 1, 0],
      [1, 2, 0],
      [1, 4, 0],
      [2, 1, 1],
      [2, 2, 1],
      [2, 4, 1],
      [3, 1, 2],
      [3, 2, 2],
      [3, 4, 2],
    ])
    // the steps (one per queue count) and the testbed size are those of a steps run
    expect(p.steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
    expect(p.maxQueues).toBe(4)
  })

  it('orders missing pairs by round, then by the recorded queue order (not numerically)', () => {
    const missing = [
      {queueCount: 8, iteration: 1},
      {queueCount: 2, iteration: 0},
      {queueCount: 8, iteration: 0},
      {queueCount: 2, iteration: 1},
    ]
    expect(alternateVisits([8, 2], missing).map((v) => `${v.round}:${v.queueCount}`)).toEqual([
      '1:8',
      '1:2',
      '2:8',
      '2:2',
    ])
  })

  it('resumes a run killed mid-round 2 with the pairs it misses, in round order', () => {
    const {config} = planScale(flags({queues: [1, 2, 4], iterations: 3, order: 'alternate'}), {
      testbedName: 'x',
    })
    // round 1 complete, round 2 done for 1 queue only
    const of = (queueCount: number, indexes: number[]) => ({
      queueCount,
      iterations: indexes.map((index) => ({index})),
    })
    const p = planRemaining({config, steps: [of(1, [0, 1]), of(2, [0]), of(4, [0])]})
    expect(p.visits!.map((v) => [v.round, v.queueCount])).toEqual([
      [2, 2],
      [2, 4],
      [3, 1],
      [3, 2],
      [3, 4],
    ])
    expect(p.steps.map((s) => s.queueCount)).toEqual([1, 2, 4])
    expect(p.maxQueues).toBe(4)
    const nothing = planRemaining({config, steps: [1, 2, 4].map((q) => of(q, [0, 1, 2]))})
    expect(nothing.visits).toEqual([])
    expect(nothing.steps).toEqual([])
    // only 2 queues left to measure: the testbed is still made for the largest planned count
    const one = planRemaining({config, steps: [of(1, [0, 1, 2]), of(2, [0, 1]), of(4, [0, 1, 2])]})
    expect(one.steps).toEqual([{index: 2, queueCount: 2}])
    expect(one.visits).toEqual([{round: 3, queueCount: 2, iteration: 2}])
    expect(one.maxQueues).toBe(4)
  })

  it('estimates the time left per visit (each one warms up again)', () => {
    const c = {durationMs: 1000, warmupMs: 300}
    expect(remainingVisitsMs(c, 3)).toBe(3 * (STEP_OVERHEAD_MS + 300 + 1000 + ITERATION_OVERHEAD_MS))
    expect(remainingVisitsMs(c, 0)).toBe(0)
  })
})

describe('remainingMs', () => {
  it('counts warm-up, iterations and overheads', () => {
    const c = {durationMs: 1000, warmupMs: 300, iterations: 2}
    const step = STEP_OVERHEAD_MS + 300 + 2 * (1000 + ITERATION_OVERHEAD_MS)
    expect(remainingMs(c, 2)).toBe(2 * step)
    expect(remainingMs(c, 1, 1)).toBe(step + 1000 + ITERATION_OVERHEAD_MS)
    expect(remainingMs(c, 0)).toBe(0)
  })
})

describe('resultsPath and shellCommand', () => {
  it('names the file by testbed, workload and UTC time', () => {
    const at = new Date('2026-11-24T23:25:01.123Z')
    expect(resultsPath('out', {testbed: {kind: 'tap', name: 'x'}, workload: 'rr'}, at)).toBe(
      'out/scale-tap-rr-20261124T232501Z.json',
    )
    expect(resultsPath('o', {testbed: {kind: 'dev', name: 'x', dev: 'eth1'}, workload: 'stream'}, at)).toBe(
      'o/scale-dev-eth1-stream-20261124T232501Z.json',
    )
  })

  it('quotes what the shell would split', () => {
    expect(shellCommand(['scale', '--queues', '1..8', '--out', "my dir's"])).toBe(
      `mqbench scale --queues 1..8 --out 'my dir'\\''s'`,
    )
  })
})
