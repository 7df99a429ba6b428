import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {decodeHistogram, emptyHistogram} from '../../src/results/histogram.js'
import {compareRuns} from '../../src/results/compare.js'
import {scalingSummary} from '../../src/results/stats.js'
import type {ResultsFile, RrResult} from '../../src/results/schema.js'
import {buildReportModel, runLabels} from '../../src/report/model.js'
import {summarySentences} from '../../src/report/summary.js'

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')) as ResultsFile
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length
const tpsOf = (r: ResultsFile, qc: number) =>
  r.steps
    .find((s) => s.queueCount === qc)!
    .iterations.map((it) => (it.result as RrResult).transactionsPerSecond)
function p99Of(r: ResultsFile, qc: number): number {
  const h = emptyHistogram()
  for (const it of r.steps.find((s) => s.queueCount === qc)!.iterations)
    for (const s of (it.result as RrResult).sessions) h.add(decodeHistogram(s.latencyHistogram))
  return h.getValueAtPercentile(99)
}

describe('summary sentence', () => {
  it('states speed-up, interval, efficiency, p99 change, best and smallest within 5% as computed from the raw figures', () => {
    const r = load('tap-rr.json')
    const means = [1, 2, 3, 4].map((q) => mean(tpsOf(r, q)))
    const best = means.indexOf(Math.max(...means)) + 1
    const within = means.findIndex((m) => m >= 0.95 * Math.max(...means)) + 1
    expect(within).toBe(3) // the fixture plateaus: the headline is the 3-queue step
    const speedup = means[within - 1] / means[0]
    const efficiency = speedup / within
    const p99 = p99Of(r, within) / p99Of(r, 1) - 1
    const s = scalingSummary(r)
    const head = s.steps.find((x) => x.queueCount === within)!
    const sentence = summarySentences(r, s)[0]
    expect(sentence).toBe(
      `3 queues: ${speedup.toFixed(2)}x the transactions/s of 1 queue (95% CI ${head.speedup.ci!.low.toFixed(2)}-${head.speedup.ci!.high.toFixed(2)}), ` +
        `efficiency ${Math.round(efficiency * 100)}%; p99 latency ${Math.round(p99 * 100) > 0 ? '+' : ''}${Math.round(p99 * 100)}%; best: ${best} queues; smallest within 5% of best: ${within}.`,
    )
    expect(head.speedup.ci!.low).toBeLessThan(speedup)
    expect(head.speedup.ci!.high).toBeGreaterThan(speedup)
  })

  it('names imbalanced steps with their shares', () => {
    const r = load('tap-rr.json')
    const s = scalingSummary(r)
    const bad = s.steps.filter((x) => x.queues.verdict !== 'ok')
    expect(bad.length).toBeGreaterThan(0)
    const line = summarySentences(r, s).find((l) => l.startsWith('Queue use:'))!
    for (const b of bad)
      expect(line).toContain(
        `${b.queues.verdict} at ${b.queueCount} queues (shares ${b.queues.shares.map((v) => Math.round(100 * v)).join('/')}%)`,
      )
  })

  it('says when the run is unfinished, and when only one queue count was measured', () => {
    const r = load('veth-stream.json')
    r.run.status = 'interrupted'
    r.steps = r.steps.slice(0, 1)
    const lines = summarySentences(r, scalingSummary(r))
    expect(lines[0]).toMatch(
      /^Only 1 queue measured: [\d.]+ Gbit\/s \(95% CI [\d.]+-[\d.]+\); nothing to compare it with\.$/,
    )
    expect(lines.at(-1)).toBe('The run is interrupted: measured queue counts 1 of 1, 2, 4.')
  })
})

describe('comparison of two runs', () => {
  const before = load('tap-rr.json')
  const after = load('tap-rr-tuned.json')
  const c = compareRuns(scalingSummary(before), scalingSummary(after))

  it('reports the change per metric and queue count from the iteration means', () => {
    expect(c.comparable).toBe(true)
    const at4 = c.steps.find((s) => s.queueCount === 4)!.changes.find((m) => m.metric === 'transactions/s')!
    expect(at4.relative).toBeCloseTo(mean(tpsOf(after, 4)) / mean(tpsOf(before, 4)) - 1, 12)
    expect(at4.beyondNoise).toBe(true)
    // the tuning does not change the single-queue path: the fixtures differ there by noise alone
    const at1 = c.steps.find((s) => s.queueCount === 1)!.changes.find((m) => m.metric === 'transactions/s')!
    expect(at1.beyondNoise).toBe(false)
  })

  // issue 15: tcp_crr latency became socket() to close(); a comparison across that change says so
  it('notes a changed latency definition instead of passing it off as a latency change', () => {
    const crr = (r: ResultsFile, covers?: string) => {
      const x = structuredClone(r)
      for (const st of x.steps)
        for (const it of st.iterations) {
          const res = it.result as RrResult
          res.type = 'tcp_crr'
          if (covers) res.latencyCovers = covers
          else delete res.latencyCovers
        }
      return x
    }
    const now = 'socket() to close(): connect, request, response and close (netperf TCP_CRR)'
    const old = compareRuns(scalingSummary(crr(before)), scalingSummary(crr(after, now)))
    expect(old.note).toBe(
      `the latency definition changed: before, connect() to the last response byte (socket() and close() left out); after, ${now}`,
    )
    expect(
      compareRuns(scalingSummary(crr(before, now)), scalingSummary(crr(after, now))).note,
    ).toBeUndefined()
    expect(c.note).toBeUndefined() // tcp_rr files without the field: its definition never changed
  })

  it('refuses to compare different workloads', () => {
    const x = compareRuns(scalingSummary(before), scalingSummary(load('veth-stream.json')))
    expect(x).toMatchObject({comparable: false, reason: 'different workloads: transactions/s vs throughput'})
  })

  it('labels runs apart and puts a baseline first', () => {
    expect(new Set(runLabels([before, after])).size).toBe(2)
    const m = buildReportModel([after], {baseline: before})
    expect(m.runs[0].label).toMatch(/^baseline: /)
    expect(m.comparisons).toHaveLength(1)
    expect(m.comparisons[0].sentence).toContain(
      `${m.runs[1].label} vs ${m.runs[0].label}: at 1 queue transactions/s`,
    )
    const through = m.charts.find((ch) => ch.id === 'throughput-0')!
    expect(through.datasets.map((d) => d.label)).toEqual(
      expect.arrayContaining([m.runs[0].label, m.runs[1].label]),
    )
  })
})

describe('summary without per-queue counters', () => {
  it('says queue use is unknown rather than unused', () => {
    const r = load('veth-stream.json')
    for (const st of r.steps) for (const it of st.iterations) it.queues = []
    const lines = summarySentences(r, scalingSummary(r))
    expect(lines).toContain(
      'No per-queue counters were recorded at 1 queue, 2 queues, 4 queues: queue use there is unknown.',
    )
    expect(lines.some((l) => l.startsWith('Queue use:'))).toBe(false)
  })
})

describe('summary of device drops', () => {
  it('names the steps where a testbed device dropped frames', () => {
    const r = load('tap-rr.json')
    r.steps[1].iterations[0].deviceDrops = [
      {dev: 'mqb-fx0a', netns: 'mqb-fx0-a', txDropped: 1200, rxDropped: 34},
    ]
    r.steps[1].iterations[2].deviceDrops = [{dev: 'mqb-fx0a', netns: 'mqb-fx0-a', txDropped: 6, rxDropped: 0}]
    const lines = summarySentences(r, scalingSummary(r))
    expect(lines).toContain(
      'The testbed devices dropped frames at 2 queues (1,240): a reader fell behind, so those steps measure drops as well as the queues.',
    )
  })
})
