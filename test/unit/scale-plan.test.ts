import {describe, expect, it} from 'vitest'
import {parseQueueList} from '../../src/cli/parse.js'
import {MqbError} from '../../src/errors.js'
import {ITERATION_OVERHEAD_MS, STEP_OVERHEAD_MS, WORKLOAD_DEFAULTS, planScale, remainingMs, resultsPath, resumePlan, shellCommand, type ScaleFlags} from '../../src/scale/plan.js'

const flags = (over: Partial<ScaleFlags> = {}): ScaleFlags => ({
  queues: [1, 2, 4, 8], testbed: {kind: 'tap'}, workload: 'rr', sessions: 20, durationMs: 10_000, warmupMs: 2000, iterations: 3, ...over,
})

describe('planScale', () => {
  it('turns flags into one step per queue count and the recorded configuration', () => {
    const p = planScale(flags(), {testbedName: 's1234'})
    expect(p.steps).toEqual([{index: 1, queueCount: 1}, {index: 2, queueCount: 2}, {index: 3, queueCount: 4}, {index: 4, queueCount: 8}])
    expect(p.maxQueues).toBe(8)
    expect(p.config.testbed).toEqual({kind: 'tap', name: 's1234'})
    expect(p.config.params).toEqual({type: 'tcp_rr', requestSize: 1, responseSize: 1})
  })

  it('takes workload parameters over the defaults and rejects ones that do not apply', () => {
    expect(planScale(flags({workload: 'stream', params: {messageSize: 1000}}), {testbedName: 'x'}).config.params).toEqual({type: 'tcp_stream', messageSize: 1000})
    expect(() => planScale(flags({workload: 'stream', params: {requestSize: 10}}), {testbedName: 'x'})).toThrow(/requestSize does not apply to the stream workload/)
    for (const w of ['crr', 'udp_rr'] as const) expect(planScale(flags({workload: w}), {testbedName: 'x'}).config.params.type).toBe(WORKLOAD_DEFAULTS[w].type)
  })

  it('rejects queue counts above the maximum, naming it', () => {
    const err = (() => {
      try {
        planScale(flags({queues: [1, 4, 8], testbed: {kind: 'dev', dev: 'eth1'}, server: 'h:1'}), {testbedName: 'x', maxQueues: 4})
      } catch (e) {
        return e as MqbError
      }
    })()
    expect(err).toBeInstanceOf(MqbError)
    expect(err!.message).toMatch(/queue count 8 is above the maximum of 4 for the dev:eth1 testbed; use counts from 1 to 4/)
    expect(err!.exitCode).toBe(3)
    expect(() => planScale(flags({queues: [1, 300]}), {testbedName: 'x'})).toThrow(/maximum of 256 for the tap testbed/)
  })

  it('needs a server for a dev testbed and positive counts', () => {
    expect(() => planScale(flags({testbed: {kind: 'dev', dev: 'eth1'}}), {testbedName: 'x'})).toThrow(/--server/)
    expect(() => planScale(flags({iterations: 0}), {testbedName: 'x'})).toThrow(/--iterations 0/)
    expect(() => planScale(flags({sessions: 0}), {testbedName: 'x'})).toThrow(/--sessions 0/)
  })

  it('works with every queue-list spelling the parser accepts', () => {
    expect(planScale(flags({queues: parseQueueList('1..16:2')}), {testbedName: 'x'}).steps.map((s) => s.queueCount)).toEqual([1, 3, 5, 7, 9, 11, 13, 15])
    expect(() => parseQueueList('8..1')).toThrow(/backwards/)
    expect(() => parseQueueList('0..2')).toThrow(/queue count 0/)
    expect(() => parseQueueList('1,2,2')).toThrow(/twice/)
  })
})

describe('resumePlan', () => {
  it('keeps the recorded order and drops the steps done', () => {
    const {config} = planScale(flags(), {testbedName: 'x'})
    const p = resumePlan(config, [1, 2])
    expect(p.steps).toEqual([{index: 3, queueCount: 4}, {index: 4, queueCount: 8}])
    expect(p.maxQueues).toBe(8)
    expect(resumePlan(config, [1, 2, 4, 8]).steps).toEqual([])
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
    expect(resultsPath('out', {testbed: {kind: 'tap', name: 'x'}, workload: 'rr'}, at)).toBe('out/scale-tap-rr-20261124T232501Z.json')
    expect(resultsPath('o', {testbed: {kind: 'dev', name: 'x', dev: 'eth1'}, workload: 'stream'}, at)).toBe('o/scale-dev-eth1-stream-20261124T232501Z.json')
  })

  it('quotes what the shell would split', () => {
    expect(shellCommand(['scale', '--queues', '1..8', '--out', "my dir's"])).toBe(`mqbench scale --queues 1..8 --out 'my dir'\\''s'`)
  })
})
