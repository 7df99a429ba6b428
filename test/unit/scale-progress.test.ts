import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {
  formatEta,
  formatProgress,
  formatRound,
  RoundProgress,
  SweepProgress,
} from '../../src/scale/progress.js'
import type {Iteration, RunConfig} from '../../src/results/schema.js'

const config = {durationMs: 1000, warmupMs: 0, iterations: 2, queues: [1, 2]} as RunConfig
const iteration = (index: number, gbps: number) =>
  ({index, result: {workload: 'stream', gbps}}) as unknown as Iteration
const readback = {queueCount: 1, channels: {combined: 1}, sysfsQueues: {rx: 1, tx: 1}}

describe('progress', () => {
  it('formats the ETA and the line', () => {
    expect(formatEta(61_400)).toBe('1:01')
    expect(formatEta(3_725_000)).toBe('1:02:05')
    expect(
      formatProgress({
        stepPosition: 2,
        totalSteps: 4,
        queueCount: 2,
        iteration: 1,
        iterations: 3,
        etaMs: 5000,
        last: '1 tx/s',
      }),
    ).toBe('step 2/4 (2 queues) · iteration 1/3 · ETA 0:05 · last 1 tx/s')
  })

  it('writes plain lines when not on a TTY, counting steps skipped by a resume', () => {
    const out = new PassThrough()
    const p = new SweepProgress(config, 3, out)
    p.skip()
    p.stepStarted({index: 2, queueCount: 2}, readback)
    p.iterationDone({index: 2, queueCount: 2}, iteration(0, 12.345))
    const text = out.read().toString()
    expect(text).toMatch(/^step 2\/3: 2 queues set \(channels combined 1; sysfs rx 1 tx 1\)/)
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

  it('says round k of n with the queue count when alternating, counting iterations a resume skips', () => {
    expect(
      formatRound({round: 2, rounds: 3, queueCount: 4, visit: 5, visits: 9, etaMs: 2000, last: '3 tx/s'}),
    ).toBe('round 2/3 (4 queues) · iteration 5/9 · ETA 0:02 · last 3 tx/s')
    const out = new PassThrough()
    const p = new RoundProgress(config, 1, out)
    p.visitStarted({round: 1, queueCount: 2, iteration: 0}, {...readback, queueCount: 2})
    p.iterationDone({round: 1, queueCount: 2, iteration: 0}, iteration(0, 2.5))
    p.visitStarted({round: 2, queueCount: 1, iteration: 1}, readback)
    const lines = out.read().toString().split('\n')
    expect(lines[0]).toMatch(/^round 1\/2: 2 queues set/)
    expect(lines[1]).toBe('  2 queues, round 1/2: 2.50 Gbit/s')
    expect(lines[2]).toMatch(/^round 2\/2: 1 queue set/)
  })

  it('redraws the round line on a TTY with the ETA of the visits left', () => {
    const out = Object.assign(new PassThrough(), {isTTY: true})
    const p = new RoundProgress(config, 0, out)
    p.visitStarted({round: 1, queueCount: 1, iteration: 0}, readback)
    p.iterationDone({round: 1, queueCount: 1, iteration: 0}, iteration(0, 1))
    p.finish()
    const frames = out.read().toString().split('\r\x1b[K').filter(Boolean)
    expect(frames[0]).toMatch(/^round 1\/2 \(1 queue\) · iteration 1\/4 · ETA /)
    expect(frames[1]).toMatch(/last 1\.00 Gbit\/s\n$/)
  })

  // issue 10 case 10: between events the TTY line counts the ETA down instead of standing still
  it('counts the ETA down between iterations on a TTY, for steps and for rounds', () => {
    let now = 0
    const out = Object.assign(new PassThrough(), {isTTY: true})
    const last = () => out.read().toString().split('\r\x1b[K').filter(Boolean).at(-1) as string
    const steps = new SweepProgress({...config, durationMs: 10_000}, 2, out, () => now)
    steps.stepStarted({index: 1, queueCount: 1}, readback)
    const eta0 = /ETA (\S+)/.exec(last())![1]
    now += 3000
    steps.draw()
    const eta3 = /ETA (\S+)/.exec(last())![1]
    steps.finish()
    const secs = (s: string) => Number(s.split(':')[0]) * 60 + Number(s.split(':')[1])
    expect(secs(eta0) - secs(eta3)).toBe(3)
    const rounds = new RoundProgress({...config, durationMs: 10_000}, 0, out, () => now)
    rounds.visitStarted({round: 1, queueCount: 1, iteration: 0}, readback)
    const r0 = secs(/ETA (\S+)/.exec(last())![1])
    now += 5000
    rounds.draw()
    expect(r0 - secs(/ETA (\S+)/.exec(last())![1])).toBe(5)
    now += 3_600_000
    rounds.draw()
    expect(last()).toMatch(/ETA 0:00/)
    rounds.finish()
  })
})
