import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {decodeHistogram, emptyHistogram} from '../../src/results/histogram.js'
import {
  describe as estimate,
  differenceOfMeans,
  ratioOfMeans,
  studentTQuantile,
} from '../../src/results/estimate.js'
import {queueVerdict, scalingSummary} from '../../src/results/stats.js'
import type {QueueTraffic, ResultsFile, RrResult} from '../../src/results/schema.js'

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')) as ResultsFile
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length

describe('Student t and intervals', () => {
  it('matches published two-sided 95% and 90% critical values', () => {
    const table: Array<[number, number, number]> = [
      [1, 12.706, 6.314],
      [2, 4.303, 2.92],
      [4, 2.776, 2.132],
      [9, 2.262, 1.833],
      [29, 2.045, 1.699],
    ]
    for (const [df, t95, t90] of table) {
      expect(studentTQuantile(0.975, df)).toBeCloseTo(t95, 3)
      expect(studentTQuantile(0.95, df)).toBeCloseTo(t90, 3)
    }
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.776, 3)
  })

  it('gives mean, median, spread and the t interval of a sample', () => {
    const e = estimate([10, 12, 11, 15])
    expect(e.mean).toBe(12)
    expect(e.median).toBe(11.5)
    expect([e.min, e.max]).toEqual([10, 15])
    const sd = Math.sqrt((4 + 0 + 1 + 9) / 3)
    expect(e.stddev).toBeCloseTo(sd, 12)
    expect(e.ci!.high - e.mean).toBeCloseTo((3.182446 * sd) / 2, 4)
    expect(estimate([7]).ci).toBeNull()
  })

  it("Fieller's interval for a ratio satisfies its defining equation at both ends", () => {
    const num = [20, 22, 21, 23]
    const den = [10, 12, 11]
    const r = ratioOfMeans(num, den)
    expect(r.value).toBeCloseTo(21.5 / 11, 12)
    const a = estimate(num)
    const b = estimate(den)
    const va = a.stddev ** 2 / a.n
    const vb = b.stddev ** 2 / b.n
    // (a - θb)^2 = t^2 (va + θ^2 vb) at θ = low and θ = high, for the Welch t used at the estimate
    const lhs = (θ: number) => (a.mean - θ * b.mean) ** 2 / (va + θ * θ * vb)
    expect(Math.sqrt(lhs(r.ci!.low))).toBeCloseTo(Math.sqrt(lhs(r.ci!.high)), 9)
    expect(r.ci!.low).toBeLessThan(r.value)
    expect(r.ci!.high).toBeGreaterThan(r.value)
    // asymmetric: a noisy denominator stretches the upper side
    expect(r.ci!.high - r.value).toBeGreaterThan(r.value - r.ci!.low)
  })

  it('has no ratio interval when the denominator could be zero or a side has one value', () => {
    expect(ratioOfMeans([10, 11], [0.1, 5, -4]).ci).toBeNull()
    expect(ratioOfMeans([10], [5, 6]).ci).toBeNull()
  })

  it('judges a difference beyond noise only when the Welch interval excludes zero', () => {
    expect(differenceOfMeans([100, 101, 99], [120, 121, 119]).beyondNoise).toBe(true)
    expect(differenceOfMeans([100, 130, 70], [105, 135, 75]).beyondNoise).toBe(false)
    expect(differenceOfMeans([100], [120, 121]).beyondNoise).toBeNull()
    expect(differenceOfMeans([100, 101, 99], [120, 121, 119]).relative).toBeCloseTo(0.2, 12)
  })
})

const q = (
  queue: number,
  packets: number,
  bytes = packets * 100,
  source: QueueTraffic['source'] = 'relay',
): QueueTraffic => ({queue, source, txPackets: packets, txBytes: bytes, rxPackets: 0, rxBytes: 0, drops: 0})

describe('queueVerdict', () => {
  it('is ok for an even or hash-lucky split and gives shares', () => {
    expect(queueVerdict([q(0, 500), q(1, 500)], 2)).toMatchObject({
      verdict: 'ok',
      shares: [0.5, 0.5],
      source: 'relay',
      basis: 'bytes',
    })
    expect(queueVerdict([q(0, 650), q(1, 350)], 2).verdict).toBe('ok')
  })

  it('is unused when a queue carried nothing, or nothing carried anything', () => {
    expect(queueVerdict([q(0, 500), q(1, 0)], 2).verdict).toBe('unused')
    expect(queueVerdict([q(0, 500)], 2)).toMatchObject({verdict: 'unused', shares: [1, 0]})
    expect(queueVerdict([], 1).verdict).toBe('unused')
  })

  it('is imbalanced when a queue is below half or above twice its fair share', () => {
    expect(queueVerdict([q(0, 100), q(1, 300), q(2, 300), q(3, 300)], 4).verdict).toBe('imbalanced') // 0.1 < 0.125
    expect(queueVerdict([q(0, 760), q(1, 120), q(2, 120)], 3).verdict).toBe('imbalanced') // 0.76 > 0.667
    expect(queueVerdict([q(0, 140), q(1, 300), q(2, 280), q(3, 280)], 4).verdict).toBe('ok')
  })

  it('uses the most trusted source present and sums iterations per queue', () => {
    const v = queueVerdict(
      [q(0, 10, 0, 'interrupts'), q(1, 0, 0, 'interrupts'), q(0, 300), q(1, 200), q(0, 200), q(1, 300)],
      2,
    )
    expect(v).toMatchObject({source: 'relay', verdict: 'ok', shares: [0.5, 0.5]})
  })

  it('falls back to packets without byte counts and reports traffic on detached queues', () => {
    const v = queueVerdict(
      [q(0, 30, 0, 'interrupts'), q(1, 10, 0, 'interrupts'), q(2, 5, 0, 'interrupts')],
      2,
    )
    expect(v).toMatchObject({basis: 'packets', shares: [0.75, 0.25], outside: 5, verdict: 'ok'})
  })
})

describe('scalingSummary on the tap rr fixture', () => {
  const r = load('tap-rr.json')
  const s = scalingSummary(r)
  const tps = (qc: number) =>
    r.steps
      .find((x) => x.queueCount === qc)!
      .iterations.map((it) => (it.result as RrResult).transactionsPerSecond)

  it('takes transactions/s as the metric and the sum over sessions per iteration', () => {
    expect(s.metric.label).toBe('transactions/s')
    const it0 = r.steps[0].iterations[0].result as RrResult
    expect(s.steps[0].perIteration[0]).toBeCloseTo(
      it0.sessions.reduce((a, x) => a + x.transactionsPerSecond, 0),
      2,
    )
  })

  it('computes speed-up and efficiency from the iteration means', () => {
    for (const qc of [2, 3, 4]) {
      const st = s.steps.find((x) => x.queueCount === qc)!
      expect(st.metric.mean).toBeCloseTo(mean(tps(qc)), 9)
      expect(st.speedup.value).toBeCloseTo(mean(tps(qc)) / mean(tps(1)), 12)
      expect(st.efficiency.value).toBeCloseTo(mean(tps(qc)) / (qc * mean(tps(1))), 12)
      expect(st.speedup.ci!.low).toBeLessThan(st.speedup.value)
      expect(st.efficiency.ci!.high).toBeCloseTo(st.speedup.ci!.high / qc, 12)
    }
    expect(s.steps[0].speedup).toEqual({value: 1, ci: null})
  })

  it('finds the best queue count and the smallest within 5% of it', () => {
    const means = [1, 2, 3, 4].map((qc) => mean(tps(qc)))
    const best = means.indexOf(Math.max(...means)) + 1
    expect(s.best).toBe(best)
    expect(s.smallestWithin5pct).toBe(means.findIndex((m) => m >= 0.95 * means[best - 1]) + 1)
    expect(s.smallestWithin5pct).toBeLessThan(s.best) // the fixture plateaus, as 2 vCPUs do
  })

  it('merges every session histogram into the step latency', () => {
    const st = s.steps[1]
    const h = emptyHistogram()
    for (const it of r.steps[1].iterations)
      for (const x of (it.result as RrResult).sessions) h.add(decodeHistogram(x.latencyHistogram))
    expect(st.latency!.count).toBe(
      r.steps[1].iterations.reduce(
        (a, it) => a + (it.result as RrResult).sessions.reduce((b, x) => b + x.transactions, 0),
        0,
      ),
    )
    expect(st.latency!.p99).toBeCloseTo(h.getValueAtPercentile(99) / 1000, 9)
    expect(st.latencyPerIteration!.p99.n).toBe(3)
    expect(st.latencyDistribution!.at(-1)!.percentile).toBe(100)
  })

  it('splits CPU time per CPU as percent of that CPU and averages service demand', () => {
    const its = r.steps[2].iterations
    const c0 = its.map((it) => it.cpu.find((c) => c.cpu === 0)!)
    const total = c0.reduce(
      (a, c) => a + c.userMs + c.niceMs + c.sysMs + c.idleMs + c.iowaitMs + c.irqMs + c.softirqMs + c.stealMs,
      0,
    )
    expect(s.steps[2].cpu[0].softirqPct).toBeCloseTo(
      (100 * c0.reduce((a, c) => a + c.softirqMs, 0)) / total,
      9,
    )
    expect(s.steps[2].serviceDemand!.mean).toBeCloseTo(
      mean(its.map((it) => (it.result as RrResult).serviceDemandUsPerTx.local)),
      9,
    )
  })

  it('gives a per-step queue verdict from the relay counters', () => {
    const st = s.steps.find((x) => x.queueCount === 4)!
    const per = [0, 1, 2, 3].map((qi) =>
      r.steps[3].iterations
        .flatMap((it) => it.queues)
        .filter((x) => x.queue === qi)
        .reduce((a, x) => a + x.txBytes + x.rxBytes, 0),
    )
    const total = per.reduce((a, v) => a + v, 0)
    expect(st.queues.shares).toEqual(per.map((v) => v / total))
    expect(st.queues.verdict).toBe(
      per.some((v) => v / total < 0.125 || v / total > 0.5) ? 'imbalanced' : 'ok',
    )
  })
})

describe('scalingSummary on the veth stream fixture', () => {
  it('uses Gbit/s, µs/KB and has no latency', () => {
    const s = scalingSummary(load('veth-stream.json'))
    expect(s.metric.unit).toBe('Gbit/s')
    expect(s.serviceDemandUnit).toBe('µs/KB')
    expect(s.steps.map((x) => x.queueCount)).toEqual([1, 2, 4])
    expect(s.steps[0].latency).toBeUndefined()
    expect(s.steps[2].efficiency.value).toBeCloseTo(s.steps[2].speedup.value / 4, 12)
  })
})

describe('scalingSummary on the veth gen fixture', () => {
  it('uses packets/s and derives service demand from the CPU time per packet', () => {
    const r = load('veth-gen.json')
    const s = scalingSummary(r)
    expect(s.metric.label).toBe('packets/s')
    expect(s.serviceDemandUnit).toBe('µs/packet')
    const its = r.steps[1].iterations
    const perIt = its.map(
      (it) =>
        (it.cpu.reduce((a, c) => a + c.userMs + c.niceMs + c.sysMs + c.irqMs + c.softirqMs, 0) * 1000) /
        (it.result as {packets: number}).packets,
    )
    expect(s.steps[1].serviceDemand!.mean).toBeCloseTo(mean(perIt), 9)
    expect(s.steps[1].queues).toMatchObject({source: 'ethtool', basis: 'bytes'})
  })
})

describe('scalingSummary without a measured step', () => {
  it('is one actionable line with the bad-results exit code', () => {
    const r = load('veth-stream.json')
    r.steps = []
    r.run.status = 'interrupted'
    expect(() => scalingSummary(r)).toThrow(/recorded no measured step \(status "interrupted"\)/)
  })
})
