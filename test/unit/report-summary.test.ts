import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {decodeHistogram, emptyHistogram} from '../../src/results/histogram.js'
import {compareRuns, type RunComparison} from '../../src/results/compare.js'
import {runPlacement} from '../../src/results/placement.js'
import {scalingSummary} from '../../src/results/stats.js'
import type {ResultsFile, RrResult, SessionPinning} from '../../src/results/schema.js'
import {buildReportModel, runLabels} from '../../src/report/model.js'
import {renderHtml} from '../../src/report/html.js'
import {comparisonSentence, summarySentences} from '../../src/report/summary.js'

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
      `3 queues: ${speedup.toFixed(2)}x the transactions/s of 1 queue (95% CI [${head.speedup.ci!.low.toFixed(2)}, ${head.speedup.ci!.high.toFixed(2)}]), ` +
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
      /^Only 1 queue measured: [\d.]+ Gbit\/s \(95% CI \[[\d.]+, [\d.]+\]\); nothing to compare it with\.$/,
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
    // a latency change beyond noise is not judged; the other metrics still are
    const changes = old.steps.flatMap((s) => s.changes).filter((m) => m.beyondNoise)
    expect(changes.filter((m) => m.notJudged).map((m) => m.metric)).toEqual(
      changes.filter((m) => m.metric.endsWith('latency')).map((m) => m.metric),
    )
    expect(changes.some((m) => m.notJudged === 'the latency definition differs')).toBe(true)
    expect(changes.some((m) => m.metric === 'transactions/s' && !m.notJudged)).toBe(true)
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

// Single-session figures depend mostly on where the ends ran (docs/platform.md): a comparison of
// runs pinned differently names the ends and judges no change better or worse.
describe('comparison of runs pinned differently', () => {
  const before = load('tap-rr.json')
  const after = load('tap-rr-tuned.json')
  /** The file with every result recording this pinning, and nothing else changed. */
  const pinned = (r: ResultsFile, p: SessionPinning | undefined, edit?: (x: ResultsFile) => void) => {
    const x = structuredClone(r)
    for (const st of x.steps)
      for (const it of st.iterations) {
        const res = it.result as RrResult
        if (p) res.pinnedCpus = structuredClone(p)
        else delete res.pinnedCpus
      }
    edit?.(x)
    return x
  }
  const cmp = (a: ResultsFile, b: ResultsFile) => compareRuns(scalingSummary(a), scalingSummary(b))
  const at4 = (c: RunComparison) =>
    c.steps.find((s) => s.queueCount === 4)!.changes.find((m) => m.metric === 'transactions/s')!

  it('reads each end from the file: results for client and server, config for relay and vCPUs', () => {
    expect(runPlacement(before)).toEqual({client: 'unknown', server: 'unknown', relay: []})
    expect(runPlacement(pinned(before, {client: [0], server: [1]}))).toEqual({
      client: [0],
      server: [1],
      relay: [],
    })
    // a server that did not announce its CPUs: known only when the sweep started it pinned
    expect(runPlacement(pinned(before, {client: []})).server).toBe('unknown')
    const started = pinned(before, {client: []}, (x) => (x.config.pinnedCpus = {server: [1], relay: [0]}))
    expect(runPlacement(started)).toEqual({client: [], server: [1], relay: [0]})
    const mixed = pinned(before, {client: [0], server: []})
    ;(mixed.steps[1].iterations[0].result as RrResult).pinnedCpus = {client: [1], server: []}
    expect(runPlacement(mixed)).toMatchObject({client: 'varied', server: []})
    const vm = load('veth-stream.json')
    vm.config.testbed.kind = 'vm'
    expect(runPlacement(vm)).toEqual({client: 'unknown', server: 'unknown', vCPUs: 'unknown'})
    expect(runPlacement(load('veth-gen.json'))).toEqual({})
  })

  it('names every end pinned differently and judges no change better or worse', () => {
    const c = cmp(pinned(before, {client: [0], server: [1]}), pinned(after, {client: [], server: []}))
    expect(c.comparable).toBe(true)
    expect(c.differences).toEqual([
      {what: 'client pinning', before: 'CPUs 0', after: 'unpinned', withholds: 'all'},
      {what: 'server pinning', before: 'CPUs 1', after: 'unpinned', withholds: 'all'},
    ])
    expect(c.note).toBe(
      'the runs were pinned differently (client pinning CPUs 0 before, unpinned after; server pinning CPUs 1 before, unpinned after): ' +
        "where the ends run moves these figures by itself, a single session's most of all, so no change is judged better or worse",
    )
    // the same figures as the unpinned comparison: beyond noise, but not a verdict
    const same = at4(cmp(before, after))
    expect(same.beyondNoise).toBe(true)
    expect(same.notJudged).toBeUndefined()
    expect(at4(c)).toMatchObject({
      relative: same.relative,
      beyondNoise: true,
      notJudged: 'the client pinning and the server pinning differ',
    })
    for (const st of c.steps)
      for (const m of st.changes) expect(m.notJudged !== undefined).toBe(m.beyondNoise === true)
    expect(comparisonSentence('a', 'b', c)).toContain(
      'transactions/s +' +
        Math.round(100 * same.relative!) +
        '% (beyond noise, not judged: the client pinning and the server pinning differ)',
    )
  })

  it('files that differ only in pinning: the difference is named though no figure moved', () => {
    const c = cmp(
      before,
      pinned(before, {client: [0], server: [0]}, (x) => (x.config.pinnedCpus = {relay: [1]})),
    )
    expect(c.differences.map((d) => [d.what, d.before, d.after, d.withholds])).toEqual([
      ['client pinning', 'unknown (the file predates the record)', 'CPUs 0', 'none'],
      ['server pinning', 'unknown (the file predates the record)', 'CPUs 0', 'none'],
      ['relay pinning', 'unpinned', 'CPUs 1', 'all'],
    ])
    expect(c.note).toMatch(
      /^the runs were pinned differently \(relay pinning unpinned before, CPUs 1 after\): /,
    )
    expect(c.note).toMatch(
      /; pinning not known for both runs \(client pinning unknown \(the file predates the record\) before, CPUs 0 after; server pinning .*\): the changes may be the placement's$/,
    )
    for (const st of c.steps) for (const m of st.changes) expect(m.relative).toBe(0)
  })

  it('an unknown end is said to be unknown and withholds nothing', () => {
    const c = cmp(before, pinned(after, {client: [0], server: [1]}))
    expect(c.differences.every((d) => d.withholds === 'none')).toBe(true)
    expect(c.note).toMatch(/^pinning not known for both runs \(/)
    expect(at4(c)).toMatchObject({beyondNoise: true})
    expect(at4(c).notJudged).toBeUndefined()
  })

  it('says nothing when both runs were placed alike or neither recorded it', () => {
    const p = {client: [0], server: [1]}
    const c = cmp(pinned(before, p), pinned(after, p))
    expect(c.differences).toEqual([])
    expect(c.note).toBeUndefined()
    expect(cmp(before, after).differences).toEqual([])
  })

  it('shows the note and the withheld verdict in the report', () => {
    const m = buildReportModel([pinned(after, {client: [], server: []})], {
      baseline: pinned(before, {client: [0], server: [1]}),
    })
    const html = renderHtml(m)
    expect(html).toContain('yes, not judged: the client pinning and the server pinning differ')
    expect(html).not.toContain('yes: better')
    expect(html).toContain('the runs were pinned differently (client pinning CPUs 0 before')
    expect(m.comparisons[0].sentence).toContain('the runs were pinned differently')
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
