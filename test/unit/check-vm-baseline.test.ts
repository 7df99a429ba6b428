// --baseline: a case's load figures against an earlier run's, a regression only beyond the
// run-to-run noise of the repeats in both runs, and "cannot judge" with fewer than 3 repeats;
// --repeats: the checks judged on every repeat, the repeats grouped per load, on the page too.
import {describe, expect, it} from 'vitest'
import {
  compareWithBaseline,
  incomparable,
  judgeBaseline,
  loadBaselinePlan,
  loadSamples,
} from '../../src/check/vm/baseline.js'
import type {LoadSamples} from '../../src/results/plan-schema.js'
import {readFileSync} from 'node:fs'
import {acrossRepeats, loadRepeats, numbersAcrossRepeats} from '../../src/check/vm/judge.js'
import {median} from '../../src/results/estimate.js'
import type {LoadFigure, PlanCheck} from '../../src/check/vm/types.js'
import {LIMITS} from '../../src/limits.js'
import {renderPlanHtml} from '../../src/report/plan-page.js'
import {PLAN_SCHEMA_PATH, validatePlanResults} from '../../src/results/plan.js'
import {mqbench} from '../helpers/mqbench-cli.js'

const rr = (caseId: string, values: number[], label = '20 TCP_RR sessions at 1 queue'): LoadSamples => ({
  caseId,
  label,
  metric: 'transactionsPerSecond',
  values,
})

describe('loadSamples', () => {
  it('groups the repeats of each load by case, label and metric', () => {
    const load = (tps: number, bps?: number) => ({label: 'L', transactionsPerSecond: tps, bitsPerSecond: bps})
    expect(
      loadSamples([
        {id: 'mq_off', figures: {loads: [load(10), load(12), load(11, 5e8)]}},
        {id: 'boot', figures: {}},
        {id: 'churn'},
      ]),
    ).toEqual([
      {caseId: 'mq_off', label: 'L', metric: 'transactionsPerSecond', values: [10, 12, 11]},
      {caseId: 'mq_off', label: 'L', metric: 'bitsPerSecond', values: [5e8]},
    ])
  })
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })
  it("a case's numbers over its repeats: counts add up, rates take the median, text is the first's", () => {
    const runs = [
      {sent: 100, rate: 10, pktgen: 'no pktgen module'},
      {sent: 120, rate: 30, pktgen: 'other'},
      {sent: 90, rate: 20, pktgen: 'other'},
    ]
    expect(numbersAcrossRepeats(runs, 'sum')).toEqual({sent: 310, rate: 60, pktgen: 'no pktgen module'})
    expect(numbersAcrossRepeats(runs, 'median')).toEqual({sent: 100, rate: 20, pktgen: 'no pktgen module'})
    expect(numbersAcrossRepeats([runs[1]], 'sum')).toEqual(runs[1])
  })
})

describe('compareWithBaseline', () => {
  it('a drop within the noise PASSes', () => {
    // TCG-like noise: +-15% within each run, the median 10% lower
    const [v] = compareWithBaseline([rr('mq_off', [4500, 5200, 4400])], [rr('mq_off', [5000, 5800, 4900])])
    expect(v.status).toBe('PASS')
    expect(v.change).toBeCloseTo(4500 / 5000 - 1)
    expect(v.noise).toBeCloseTo((5800 - 4900 + (5200 - 4400)) / 5000)
  })
  it('medians further apart than either range but within both together PASS', () => {
    // two runs of one setup: ranges 5.9% and 6.4%, medians 6.9% apart (the larger range alone FAILed it)
    const [v] = compareWithBaseline([rr('mq', [4700, 4950, 4650])], [rr('mq', [5000, 5300, 5050])])
    expect(v.change).toBeCloseTo(4700 / 5050 - 1)
    expect(v.status).toBe('PASS')
    expect(v.noise).toBeCloseTo((300 + 300) / 5050)
    // the same ranges with the medians beyond both together: a regression
    expect(
      compareWithBaseline([rr('mq', [4200, 4450, 4150])], [rr('mq', [5000, 5300, 5050])])[0].status,
    ).toBe('FAIL')
  })
  it('a drop beyond the noise FAILs, saying so', () => {
    const [v] = compareWithBaseline([rr('mq_off', [3000, 3100, 2950])], [rr('mq_off', [5000, 5200, 4900])])
    expect(v).toMatchObject({status: 'FAIL'})
    expect(v.evidence).toBe(
      'mq_off "20 TCP_RR sessions at 1 queue" transactionsPerSecond: median 3000 (3000/3100/2950) vs baseline 5000 ' +
        '(5000/5200/4900), -40.0%; noise 9.0%: a regression beyond the noise',
    )
  })
  it('quiet runs still need a drop over the 5% floor', () => {
    expect(compareWithBaseline([rr('a', [960, 960, 960])], [rr('a', [1000, 1000, 1000])])[0].status).toBe(
      'PASS',
    )
    expect(compareWithBaseline([rr('a', [940, 940, 940])], [rr('a', [1000, 1000, 1000])])[0].status).toBe(
      'FAIL',
    )
  })
  it('noisy runs still show a drop beyond both ranges: the noise never saturates at 100%', () => {
    // the ranges relative to their own medians add to 115% (48% + 67%), which no drop can pass;
    // in the load's units they are 27,343 of a 54,776 median: a 97% drop is beyond them
    const [v] = compareWithBaseline([rr('mq', [1440, 1227, 2195])], [rr('mq', [71357, 54776, 44982])])
    expect(v.noise).toBeCloseTo((2195 - 1227 + (71357 - 44982)) / 54776)
    expect(v.status).toBe('FAIL')
    // and runs whose ranges overlap stay within the noise, however wide
    expect(compareWithBaseline([rr('mq', [900, 1000, 2100])], [rr('mq', [1000, 1200, 2000])])[0].status).toBe(
      'PASS',
    )
  })
  it('an improvement PASSes', () => {
    expect(compareWithBaseline([rr('a', [2000, 2100, 1900])], [rr('a', [1000, 1050, 990])])[0].status).toBe(
      'PASS',
    )
  })
  it('says it cannot judge with fewer than 3 repeats on either side, or without the load in the baseline', () => {
    const few = compareWithBaseline([rr('churn', [1000])], [rr('churn', [1000, 1100])])[0]
    expect(few).toMatchObject({status: 'N/A'})
    expect(few.evidence).toMatch(
      /cannot estimate the run-to-run noise from 1 repeat now and 2 repeats in the baseline \(need 3\)$/,
    )
    expect(compareWithBaseline([rr('a', [1, 2, 3])], [rr('b', [1, 2, 3])])[0]).toMatchObject({
      status: 'N/A',
      evidence: 'a "20 TCP_RR sessions at 1 queue" transactionsPerSecond: not in the baseline',
    })
    expect(compareWithBaseline([rr('a', [1, 2, 3])], [rr('a', [0, 0, 0])])[0].status).toBe('N/A')
  })
})

describe('incomparable', () => {
  const p = {queues: 2, vcpus: 2, sessions: 20, durationMs: 2000}
  it('names what differs between the runs', () => {
    expect(incomparable({params: p, accel: ['tcg']}, {params: p, accel: ['tcg', 'tcg']})).toBeUndefined()
    expect(incomparable({params: {...p, queues: 4}, accel: ['kvm']}, {params: p, accel: ['tcg']})).toBe(
      'the runs differ: queues 2 in the baseline, 4 now, guests under tcg in the baseline, kvm now',
    )
  })
  it('compares pinned vCPUs only with the same pinning', () => {
    const pinned = (cpus?: number[]) => ({params: {...p, vcpuCpus: cpus}, accel: ['tcg']})
    expect(incomparable(pinned([0, 1]), pinned([0, 1]))).toBeUndefined()
    expect(incomparable(pinned([]), pinned(undefined))).toBeUndefined()
    expect(incomparable(pinned([0, 1]), pinned(undefined))).toBe(
      'the runs differ: vCPUs unpinned in the baseline, CPUs 0,1 now',
    )
    expect(incomparable(pinned([1, 0]), pinned([0, 1]))).toBe(
      'the runs differ: vCPUs CPUs 0,1 in the baseline, CPUs 1,0 now',
    )
  })
})

describe('judgeBaseline', () => {
  const plan = (tps: number[], accel = 'tcg', queues = 2) => ({
    params: {queues, vcpus: 2, sessions: 20, durationMs: 2000},
    cases: [
      {
        id: 'mq_off',
        guests: [{accel}],
        figures: {
          loads: tps.map((t) => ({label: '20 TCP_RR sessions at 1 queue', transactionsPerSecond: t})),
        },
      },
    ],
  })
  it('counts the regressions of a plan against its baseline', () => {
    const r = judgeBaseline(plan([3000, 3100, 2950]), plan([5000, 5200, 4900]), 'base.json')
    expect(r).toMatchObject({file: 'base.json', regressions: 1})
    expect(judgeBaseline(plan([5000, 5100, 4950]), plan([5000, 5200, 4900]), 'b').regressions).toBe(0)
  })
  it('compares nothing when the runs differ, and says why for each load', () => {
    const r = judgeBaseline(plan([3000, 3100, 2950], 'kvm'), plan([5000, 5200, 4900]), 'b')
    expect(r.regressions).toBe(0)
    expect(r.verdicts[0]).toMatchObject({
      status: 'N/A',
      evidence:
        'mq_off "20 TCP_RR sessions at 1 queue": the runs differ: guests under tcg in the baseline, kvm now',
    })
  })
})

describe('--baseline FILE', () => {
  const plan = new URL('../fixtures/results/plan-vm-tcg.json', import.meta.url).pathname
  const scale = new URL('../fixtures/results/tap-rr.json', import.meta.url).pathname
  it('reads a plan results file, and a plan carrying the comparison still validates', () => {
    const base = loadBaselinePlan(plan)
    const withBaseline = {...base, baseline: judgeBaseline(base, base, plan)}
    expect(withBaseline.baseline.regressions).toBe(0)
    expect(validatePlanResults(JSON.parse(JSON.stringify(withBaseline)), 'x.json').baseline).toEqual(
      withBaseline.baseline,
    )
  })
  it("refuses a scale run's file with the bad-results exit code", () => {
    expect(() => loadBaselinePlan(scale)).toThrow(
      expect.objectContaining({
        exitCode: 7,
        message: `${scale} is the results file of a scale run: --baseline takes one that check vm wrote`,
      }),
    )
  })
  it('check vm says so in one line before booting anything', async () => {
    const r = await mqbench(['check', 'vm', '--baseline', scale])
    expect(r.status).toBe(7)
    expect(r.stderr.trim()).toBe(
      `mqbench: ${scale} is the results file of a scale run: --baseline takes one that check vm wrote`,
    )
  })
  it('the old spelling, check --testbed vm, names the new one in one line and runs it', async () => {
    for (const old of [['--testbed', 'vm'], ['--testbed=vm']]) {
      const r = await mqbench(['check', ...old, '--baseline', scale, '--json'])
      expect(r.status).toBe(7)
      expect(r.stderr.trim().split('\n')).toEqual([
        'mqbench: `check --testbed vm` is now `mqbench check vm` (same flags)',
        `mqbench: ${scale} is the results file of a scale run: --baseline takes one that check vm wrote`,
      ])
      // check vm's own output only: no second JSON document from `check`.
      expect(r.stdout).toBe('')
    }
  })
})

describe('repeats (--repeats, and --baseline without it)', () => {
  const ok = (id: string, evidence = 'fine'): PlanCheck => ({id, title: id, status: 'PASS', evidence})
  const bad = (id: string, evidence: string): PlanCheck => ({id, title: id, status: 'FAIL', evidence})
  it('judges every repeat: the worst decides, naming the repeat', () => {
    expect(acrossRepeats([[ok('a'), ok('b')]])).toEqual([ok('a'), ok('b')])
    const r = acrossRepeats([
      [ok('a', 'q0 +5, q1 +7'), ok('b')],
      [ok('a'), bad('b', 'queue 1 carried nothing')],
      [ok('a'), {...ok('b'), status: 'N/A', evidence: 'no counters'}],
    ])
    expect(r).toEqual([
      {...ok('a'), evidence: 'repeat 1 of 3 (3 PASS): q0 +5, q1 +7'},
      {...ok('b'), status: 'FAIL', evidence: 'repeat 2 of 3 (1 FAIL): queue 1 carried nothing'},
    ])
    expect(
      acrossRepeats([[ok('a')], [ok('a')], [{...ok('a'), status: 'N/A', evidence: 'x'}]])[0],
    ).toMatchObject({
      status: 'N/A',
      evidence: 'repeat 3 of 3 (1 N/A): x',
    })
    // a check that a repeat did not produce at all is not a PASS
    expect(acrossRepeats([[ok('a'), ok('b')], [ok('a')]])[1]).toMatchObject({
      status: 'FAIL',
      evidence: 'judged in 1 of 2 repeats only',
    })
  })
  it('a plan without repeats ran each load once; other repeat counts are other runs', () => {
    const p = {queues: 2, vcpus: 2, sessions: 20, durationMs: 2000, repeats: undefined}
    expect(loadRepeats(p)).toBe(1)
    expect(incomparable({params: {...p, repeats: 1}, accel: []}, {params: p, accel: []})).toBeUndefined()
    expect(incomparable({params: {...p, repeats: 3}, accel: []}, {params: p, accel: []})).toBe(
      'the runs differ: repeats 1 in the baseline, 3 now',
    )
  })

  // The mq case's two loads, 3 repeats each, as the case records them: same label per repeat.
  const mqPlan = (n: number[], one: number[], extra: Array<{id: string; tps: number}> = []) => ({
    params: {queues: 2, vcpus: 2, sessions: 20, durationMs: 1000, repeats: 3},
    cases: [
      {
        id: 'mq',
        guests: [{accel: 'tcg'}],
        figures: {
          loads: [
            ...n.map((t) => ({label: '20 TCP_RR sessions at 2 queue pairs', transactionsPerSecond: t})),
            ...one.map((t) => ({label: '4 TCP_RR sessions at 1 queue pair', transactionsPerSecond: t})),
          ],
        },
      },
      ...extra.map((x) => ({
        id: x.id,
        guests: [{accel: 'tcg'}],
        figures: {loads: [{label: `${x.id} load`, transactionsPerSecond: x.tps}]},
      })),
    ],
  })
  it("groups the mq case's repeats per load and judges both, a load run once says so", () => {
    const base = mqPlan([900, 1000, 1100], [400, 450, 500], [{id: 'churn', tps: 300}])
    const now = judgeBaseline(
      mqPlan([950, 1050, 1000], [420, 460, 470], [{id: 'churn', tps: 310}]),
      base,
      'b',
    )
    expect(now.verdicts.map((v) => [v.caseId, v.label, v.status, v.values.length])).toEqual([
      ['mq', '20 TCP_RR sessions at 2 queue pairs', 'PASS', 3],
      ['mq', '4 TCP_RR sessions at 1 queue pair', 'PASS', 3],
      ['churn', 'churn load', 'N/A', 1],
    ])
    expect(now.verdicts[2].evidence).toBe(
      'churn "churn load" transactionsPerSecond: not a performance figure: its case runs it once, whatever --repeats',
    )
    const tripled = mqPlan([2700, 3000, 3300], [1200, 1350, 1500])
    const r = judgeBaseline(mqPlan([950, 1050, 1000], [420, 460, 470]), tripled, 'b')
    expect(r.regressions).toBe(2)
    expect(
      r.verdicts.every((v) => v.status === 'FAIL' && /a regression beyond the noise$/.test(v.evidence)),
    ).toBe(true)
  })

  it('the plan page shows repeats as one row (median and range) and a block per repeat', () => {
    const file = loadBaselinePlan(new URL('../fixtures/results/plan-vm-tcg.json', import.meta.url).pathname)
    const mq = file.cases.find((c) => c.id === 'mq')!
    const [n, one] = mq.figures!.loads!
    const page = renderPlanHtml({
      ...file,
      params: {...file.params, repeats: 3},
      cases: [
        {
          ...mq,
          figures: {
            loads: [900, 1100, 1000].map((t): LoadFigure => ({...n, transactionsPerSecond: t})).concat([one]),
          },
        },
      ],
    })
    const rows = [...page.matchAll(/<tr data-load-row="([^"]+)">(.*?)<\/tr>/g)]
    expect(rows.map((m) => m[1])).toEqual([n.label, one.label])
    expect(rows[0][2]).toContain('(3 repeats: median, min–max)')
    expect(rows[0][2]).toContain('<td>1,000 <span class="range">(900–1,100)</span></td>')
    expect(rows[1][2]).not.toContain('repeats')
    expect([...page.matchAll(/<h4>([^<]+)<\/h4>/g)].map((m) => m[1])).toEqual([
      `${n.label} (repeat 1 of 3)`,
      `${n.label} (repeat 2 of 3)`,
      `${n.label} (repeat 3 of 3)`,
      one.label,
    ])
  })

  it('--repeats is bounded by LIMITS.maxRepeats (also in the plan schema); --baseline needs 3', async () => {
    const schema = JSON.parse(readFileSync(PLAN_SCHEMA_PATH, 'utf8'))
    expect(schema.properties.params.properties.repeats.maximum).toBe(LIMITS.maxRepeats)
    for (const bad of ['0', String(LIMITS.maxRepeats + 1)]) {
      const r = await mqbench(['check', 'vm', '--repeats', bad])
      expect(r.status, r.stderr).toBe(3)
      expect(r.stderr).toMatch(
        new RegExp(
          `^mqbench: --repeats: Expected an integer (greater|less) than or equal to \\d+ but received: ${bad} `,
        ),
      )
    }
    const plan = new URL('../fixtures/results/plan-vm-tcg.json', import.meta.url).pathname
    const r = await mqbench(['check', 'vm', '--baseline', plan, '--repeats', '2'])
    expect(r.status).toBe(3)
    expect(r.stderr.trim()).toBe(
      "mqbench: --baseline needs --repeats 3 or more: each run's noise is measured from its repeats",
    )
  })
})
