// --baseline: a case's load figures against an earlier run's, a regression only beyond the
// run-to-run noise of the repeats in both runs, and "cannot judge" with fewer than 3 repeats.
import {describe, expect, it} from 'vitest'
import {
  compareWithBaseline,
  incomparable,
  judgeBaseline,
  loadBaselinePlan,
  loadSamples,
  median,
  type LoadSamples,
} from '../../src/check/vm/baseline.js'
import {validatePlanResults} from '../../src/results/plan.js'
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
})

describe('compareWithBaseline', () => {
  it('a drop within the noise PASSes', () => {
    // TCG-like noise: +-15% within each run, the median 10% lower
    const [v] = compareWithBaseline([rr('mq_off', [4500, 5200, 4400])], [rr('mq_off', [5000, 5800, 4900])])
    expect(v.status).toBe('PASS')
    expect(v.change).toBeCloseTo(4500 / 5000 - 1)
    expect(v.noise).toBeCloseTo((5800 - 4900) / 5000)
  })
  it('a drop beyond the noise FAILs, saying so', () => {
    const [v] = compareWithBaseline([rr('mq_off', [3000, 3100, 2950])], [rr('mq_off', [5000, 5200, 4900])])
    expect(v).toMatchObject({status: 'FAIL'})
    expect(v.evidence).toBe(
      'mq_off "20 TCP_RR sessions at 1 queue" transactionsPerSecond: median 3000 (3000/3100/2950) vs baseline 5000 ' +
        '(5000/5200/4900), -40.0%; noise 6.0%: a regression beyond the noise',
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
        message: `${scale} is the results file of a scale run: --baseline takes one that check --testbed vm wrote`,
      }),
    )
  })
  it('check --testbed vm says so in one line before booting anything', async () => {
    const r = await mqbench(['check', '--testbed', 'vm', '--baseline', scale])
    expect(r.status).toBe(7)
    expect(r.stderr.trim()).toBe(
      `mqbench: ${scale} is the results file of a scale run: --baseline takes one that check --testbed vm wrote`,
    )
  })
})
