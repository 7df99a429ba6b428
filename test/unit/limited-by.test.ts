// The "limited by" verdict of a sweep (issue 10, "why it does not scale"): synthetic results for
// each verdict, made from a committed fixture by setting the figures the verdict reads (per-CPU
// time, per-queue traffic, drops, the metric), and the real-run fixtures.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {emptyHistogram, encodeHistogram} from '../../src/results/histogram.js'
import {limitedBy, type LimitVerdict} from '../../src/results/limited-by.js'
import {loadResults} from '../../src/results/load.js'
import type {Iteration, PerCpuTime, ResultsFile} from '../../src/results/schema.js'
import {scalingSummary} from '../../src/results/stats.js'
import {queueCountAdvice, limitedByFinding} from '../../src/tune/from-results.js'
import {summarySentences} from '../../src/report/summary.js'

const fixturePath = (name: string) => new URL(`../fixtures/results/${name}`, import.meta.url).pathname
const load = (name: string) => JSON.parse(readFileSync(fixturePath(name), 'utf8')) as ResultsFile

/** CPU times of a window in which CPU i was busy[i] percent (softirq: that share of the busy time). */
function cpus(windowMs: number, busy: number[], softirqShare = 0.2): PerCpuTime[] {
  return busy.map((b, cpu) => {
    const busyMs = (windowMs * b) / 100
    return {
      cpu,
      userMs: busyMs * (0.8 - softirqShare),
      niceMs: 0,
      sysMs: busyMs * 0.2,
      idleMs: windowMs - busyMs,
      iowaitMs: 0,
      irqMs: 0,
      softirqMs: busyMs * softirqShare,
      stealMs: 0,
    }
  })
}

/** Even traffic on every queue of the step, no drops. */
function evenQueues(it: Iteration, queueCount: number): void {
  it.queues = Array.from({length: queueCount}, (_, queue) => ({
    queue,
    source: 'relay' as const,
    txPackets: 100_000,
    txBytes: 6_400_000,
    rxPackets: 100_000,
    rxBytes: 6_400_000,
    drops: 0,
  }))
  it.deviceDrops = []
}

interface StepShape {
  busy: number[]
  /** throughput multiple of the 1-queue figure */
  speedup: number
  softirqShare?: number
  drops?: number
}

/** tap-rr.json (1..4 queues, 2 CPUs) with each step's CPU busy, speed-up and drops set. */
function shaped(shapes: StepShape[], edit?: (r: ResultsFile) => void): ResultsFile {
  const r = load('tap-rr.json')
  r.steps.forEach((step, i) => {
    const s = shapes[i]
    for (const it of step.iterations) {
      it.cpu = cpus(it.durationMs, s.busy, s.softirqShare)
      evenQueues(it, step.queueCount)
      if (s.drops) it.queues[0].drops = s.drops
      const res = it.result
      if (res.workload === 'rr') {
        const tps = 10_000 * s.speedup
        res.transactionsPerSecond = tps
        res.sessions.forEach((x) => (x.transactionsPerSecond = tps / res.sessions.length))
      }
      it.interrupts = []
    }
  })
  edit?.(r)
  return r
}

const emptyEncoded = encodeHistogram(emptyHistogram())
const verdict = (r: ResultsFile): LimitVerdict => limitedBy(r, scalingSummary(r))

describe('limited by', () => {
  // issue 30: each session's recorded queue is direct evidence, ahead of the CPU figures
  it('one queue: every session on queue 0 at 4 queues while the others carried none', () => {
    const crowd = (x: ResultsFile) => {
      const last = x.steps.at(-1)!
      for (const it of last.iterations) {
        const res = it.result
        if (res.workload !== 'rr') continue
        res.sessions.forEach((ses) => {
          ses.queue = {
            method: 'veth-xps',
            queue: 0,
            queues: [0],
            moved: false,
            rxCpus: [0],
            txCpus: [0],
            samples: 3,
          }
        })
        res.queues = Array.from({length: last.queueCount}, (_, queue) => ({
          queue,
          sessions: queue === 0 ? res.sessions.map((ses) => ses.id) : [],
          transactions: 0,
          transactionsPerSecond: queue === 0 ? res.transactionsPerSecond : 0,
          latency: res.latency,
          latencyHistogram: queue === 0 ? res.sessions[0].latencyHistogram : emptyEncoded,
          jainIndex: queue === 0 ? 1 : 0,
        }))
      }
    }
    const shapes = [
      {busy: [95, 87], speedup: 1},
      {busy: [97, 96], speedup: 1.01},
      {busy: [97, 97], speedup: 0.92},
      {busy: [98, 97], speedup: 0.93},
    ]
    const v = verdict(shaped(shapes, crowd))
    expect(v.kind).toBe('one queue')
    expect(v.headline).toMatch(
      /^queue 0 at 4 queues: queue 0 carried \d+ of \d+ attributed sessions while queue 1, 2, 3 carried none$/,
    )
    expect(v.evidence[0]).toMatch(/^queue 0: \d+\.\d sessions, p99 [\d.]+ us \(attributed by veth-xps\)$/)
    // the same figures without the sessions' queues: the CPUs are the verdict
    expect(verdict(shaped(shapes)).kind).toBe('cpu')
  })

  it('cpu: both CPUs saturated at one queue, so more queues cannot help', () => {
    const v = verdict(
      shaped([
        {busy: [95, 87], speedup: 1},
        {busy: [97, 96], speedup: 1.01},
        {busy: [97, 97], speedup: 0.92},
        {busy: [98, 97], speedup: 0.93},
      ]),
    )
    expect(v.kind).toBe('cpu')
    expect(v.headline).toBe(
      'more queues cannot help here: both CPUs were already 87-95% busy at 1 queue and 96-97% at 2 queues, so no CPU was free for another queue',
    )
    expect(v.evidence[0]).toBe('CPU busy at 1 queue: CPU 0 95%, CPU 1 87%')
    expect(v.evidence.at(-1)).toBe('speed-up 1.01 at 2 queues, 0.92 at 3 queues, 0.93 at 4 queues')
  })

  it('cpu: the pinned CPUs count, not every CPU, and the file records them', () => {
    // pinned to CPU 1 only: CPU 0 idle does not make room
    const r = shaped(
      [
        {busy: [10, 96], speedup: 1},
        {busy: [12, 97], speedup: 1.0},
        {busy: [11, 97], speedup: 0.98},
        {busy: [10, 97], speedup: 0.99},
      ],
      (x) => (x.config.pinnedCpus = {workload: [1], relay: [1]}),
    )
    const v = verdict(r)
    expect(v.kind).toBe('cpu')
    expect(v.headline).toMatch(
      /^more queues cannot help here: the pinned CPUs 1 were already 96% busy at 1 queue/,
    )
  })

  it('one CPU: one CPU saturated with the queue interrupts while the other idles', () => {
    const r = shaped(
      [
        {busy: [70, 20], speedup: 1},
        {busy: [97, 25], speedup: 1.05, softirqShare: 0.6},
        {busy: [98, 24], speedup: 1.04, softirqShare: 0.6},
        {busy: [98, 26], speedup: 1.06, softirqShare: 0.6},
      ],
      (x) => {
        for (const it of x.steps[1].iterations)
          it.interrupts = [0, 1].map((queue) => ({
            irq: String(30 + queue),
            name: `virtio0-input.${queue}`,
            queue,
            direction: 'rx' as const,
            perCpu: [5000, 0],
            total: 5000,
          }))
      },
    )
    const v = verdict(r)
    expect(v.kind).toBe('one CPU')
    expect(v.headline).toBe('one CPU did the work: CPU 0 was 97% busy at 2 queues while CPU 1 had room (25%)')
    expect(v.evidence).toContain('CPU 0: 58% in interrupts and softirq')
    expect(v.evidence).toContain('queue interrupts on CPU 0: 100% of 30000')
    expect(v.advice).toMatch(/IRQ affinity, XPS and RPS \(`mqbench tune`/)
  })

  it('queue imbalance: the flows landed on one queue of two', () => {
    const r = shaped(
      [
        {busy: [50, 40], speedup: 1},
        {busy: [60, 50], speedup: 1.1},
        {busy: [60, 50], speedup: 1.1},
        {busy: [60, 50], speedup: 1.12},
      ],
      (x) => {
        for (const it of x.steps[1].iterations)
          Object.assign(it.queues[1], {
            txPackets: 5_000,
            rxPackets: 5_000,
            txBytes: 320_000,
            rxBytes: 320_000,
          })
      },
    )
    const v = verdict(r)
    expect(v.kind).toBe('queue imbalance')
    expect(v.headline).toBe('the traffic did not spread over the queues: imbalanced at 2 queues')
    expect(v.evidence[0]).toBe('shares at 2 queues: 95%/5%')
  })

  it('backend: drops rose with load', () => {
    const v = verdict(
      shaped([
        {busy: [50, 40], speedup: 1},
        {busy: [60, 50], speedup: 1.2, drops: 1_000},
        {busy: [60, 50], speedup: 1.2, drops: 8_000},
        {busy: [60, 50], speedup: 1.1, drops: 30_000},
      ]),
    )
    expect(v.kind).toBe('backend')
    expect(v.headline).toMatch(
      /^drops rose with load: 4% of the traffic at 4 queues against 0\.00% at 1 queue/,
    )
    expect(v.evidence).toContain('4 queues: 90000 dropped of 2400000 (3.75%)')
  })

  it('none found: good scaling says so; poor scaling with no cause in view says that', () => {
    const good = verdict(
      shaped([
        {busy: [30, 20], speedup: 1},
        {busy: [50, 40], speedup: 1.9},
        {busy: [60, 55], speedup: 2.7},
        {busy: [70, 65], speedup: 3.5},
      ]),
    )
    expect(good.kind).toBe('none found')
    expect(good.headline).toMatch(/^scaling was good: 4 queues gave 3\.50x the transactions\/s of 1 queue/)
    const unknown = verdict(
      shaped([
        {busy: [30, 20], speedup: 1},
        {busy: [35, 25], speedup: 1.1},
        {busy: [35, 25], speedup: 1.1},
        {busy: [35, 25], speedup: 1.1},
      ]),
    )
    expect(unknown.kind).toBe('none found')
    expect(unknown.headline).toMatch(/does not single out a cause/)
    expect(unknown.advice).toMatch(/perf/)
  })

  it('on the real 2-vCPU tap run: cpu, in the report headline and in tune --from', () => {
    const r = loadResults(fixturePath('real-tap-rr.json'))
    const v = verdict(r)
    expect(v.kind).toBe('cpu')
    expect(v.headline).toMatch(/both CPUs were already 80-88% busy at 1 queue and 97% at 2 queues/)
    const sentences = summarySentences(r, scalingSummary(r))
    expect(sentences[1]).toMatch(
      /^Limited by cpu: more queues cannot help here: .* \(CPU busy at 1 queue: CPU 0 88%, CPU 1 80%/,
    )
    const finding = limitedByFinding(queueCountAdvice(r, 'real.json'))
    expect(finding).toMatchObject({area: 'limited-by', level: 'warn'})
    expect(finding.finding).toMatch(/^scale run real\.json was limited by cpu: more queues cannot help here/)
  })

  it('on the committed synthetic fixtures, each verdict with its numbers', () => {
    const kinds = ['tap-rr.json', 'veth-stream.json', 'veth-gen.json'].map(
      (f) => verdict(loadResults(fixturePath(f))).kind,
    )
    expect(kinds).toEqual(['queue imbalance', 'none found', 'none found'])
  })
})
