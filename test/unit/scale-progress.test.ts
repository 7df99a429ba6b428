import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {formatEta, formatProgress, SweepProgress} from '../../src/scale/progress.js'
import type {Iteration, RunConfig} from '../../src/results/schema.js'

const config = {durationMs: 1000, warmupMs: 0, iterations: 2} as RunConfig
const iteration = (index: number, gbps: number) => ({index, result: {workload: 'stream', gbps}} as unknown as Iteration)
const readback = {queueCount: 1, channels: {combined: 1}, sysfsQueues: {rx: 1, tx: 1}}

describe('progress', () => {
  it('formats the ETA and the line', () => {
    expect(formatEta(61_400)).toBe('1:01')
    expect(formatEta(3_725_000)).toBe('1:02:05')
    expect(formatProgress({stepPosition: 2, totalSteps: 4, queueCount: 2, iteration: 1, iterations: 3, etaMs: 5000, last: '1 tx/s'})).toBe('step 2/4 (2 queues) · iteration 1/3 · ETA 0:05 · last 1 tx/s')
  })

  it('writes plain lines when not on a TTY, counting steps skipped by a resume', () => {
    const out = new PassThrough()
    const p = new SweepProgress(config, 3, out)
    p.skip()
    p.stepStarted({index: 2, queueCount: 2}, readback)
    p.iterationDone({index: 2, queueCount: 2}, iteration(0, 12.345))
    const text = out.read().toString()
    expect(text).toMatch(/^step 2\/3: 2 queue\(s\) set/)
    expect(text).toMatch(/iteration 1\/2: 12\.35 Gbit\/s/)
  })

  it('redraws one line on a TTY', () => {
    const out = Object.assign(new PassThrough(), {isTTY: true})
    const p = new SweepProgress(config, 1, out)
    p.stepStarted({index: 1, queueCount: 1}, readback)
    p.iterationDone({index: 1, queueCount: 1}, iteration(0, 1500))
    p.finish()
    const text = out.read().toString()
    expect(text.split('\r\x1b[K').filter(Boolean)).toHaveLength(2)
    expect(text).toMatch(/last 1,500 Gbit\/s\n$/)
  })
})
