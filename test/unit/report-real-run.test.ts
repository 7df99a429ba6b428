// A results file from a real run (`mqbench scale --queues 1..2 --duration 2s --iterations 2
// --sessions 8 --warmup 0.5s` on the tap testbed), so that the loader, the statistics and the
// report are held to what the engines really write, not only to synthetic fixtures.
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {decodeHistogram} from '../../src/results/histogram.js'
import {loadResults} from '../../src/results/load.js'
import type {RrResult} from '../../src/results/schema.js'
import {scalingSummary} from '../../src/results/stats.js'
import {summarySentences} from '../../src/report/summary.js'

const file = fileURLToPath(new URL('../fixtures/results/real-tap-rr.json', import.meta.url))
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length

describe('a real scale run', () => {
  const r = loadResults(file)

  it('validates and holds what the sweep promises: both steps, every iteration, every session', () => {
    expect(r.run.status).toBe('complete')
    expect(r.steps.map((s) => s.queueCount)).toEqual([1, 2])
    for (const step of r.steps) {
      expect(step.iterations).toHaveLength(r.config.iterations)
      expect(step.config.sysfsQueues).toEqual({rx: step.queueCount, tx: step.queueCount})
      for (const it of step.iterations)
        expect((it.result as RrResult).sessions).toHaveLength(r.config.sessions)
    }
  })

  it('keeps the total equal to the sum of the sessions, and each histogram holds its session transactions', () => {
    for (const step of r.steps) {
      for (const it of step.iterations) {
        const rr = it.result as RrResult
        expect(rr.transactionsPerSecond).toBeCloseTo(
          rr.sessions.reduce((s, x) => s + x.transactionsPerSecond, 0),
          6,
        )
        for (const s of rr.sessions)
          expect(decodeHistogram(s.latencyHistogram).totalCount).toBe(s.transactions)
      }
    }
  })

  it('shows one queue used at 1 queue and both at 2, from the relay counters', () => {
    const [one, two] = r.steps
    for (const it of one.iterations) {
      const used = it.queues.filter((q) => q.txPackets + q.rxPackets > 0).map((q) => q.queue)
      expect(used).toEqual([0])
    }
    for (const it of two.iterations) {
      const used = it.queues.filter((q) => q.txPackets > 0 && q.rxPackets > 0).map((q) => q.queue)
      expect(used).toEqual([0, 1])
    }
  })

  it('derives the speed-up the report states from the raw per-iteration figures', () => {
    const tps = r.steps.map((s) =>
      mean(s.iterations.map((it) => (it.result as RrResult).transactionsPerSecond)),
    )
    const s = scalingSummary(r)
    expect(s.steps[1].speedup.value).toBeCloseTo(tps[1] / tps[0], 9)
    expect(s.steps[1].efficiency.value).toBeCloseTo(tps[1] / tps[0] / 2, 9)
    expect(summarySentences(r, s)[0]).toMatch(/queues?: [\d.]+x the transactions\/s of 1 queue/)
  })
})
