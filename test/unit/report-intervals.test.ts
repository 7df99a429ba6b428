// Confidence intervals in the scale report (issue 22): a noisy step's t-interval reached below
// zero and showed as "-4,520-23,273" with an axis down to -10,000; a rate, a latency or a cost
// cannot be negative, so the lower bound is shown as 0 and the interval as "[a, b]".
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {buildCharts} from '../../src/report/charts.js'
import {interval} from '../../src/util/format.js'
import type {ResultsFile} from '../../src/results/schema.js'
import {scalingSummary} from '../../src/results/stats.js'

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')) as ResultsFile

describe('interval', () => {
  it('writes [a, b] and clamps a negative lower bound at 0', () => {
    expect(interval({low: -4520.4, high: 23273})).toBe('[0, 23,273]')
    expect(interval({low: 1.07, high: 1.27}, (v) => v.toFixed(2))).toBe('[1.07, 1.27]')
    expect(interval(null)).toBe('–')
  })
})

describe('a noisy step in the report', () => {
  it('has no negative error bar and no negative interval in its tables', () => {
    const r = fixture('tap-rr.json')
    // two iterations far apart: the t-interval of their mean reaches well below zero
    const its = r.steps[1].iterations
    its.forEach((it, i) => {
      if (it.result.workload === 'rr') it.result.transactionsPerSecond = i % 2 ? 40_000 : 100
    })
    const summary = scalingSummary(r)
    expect(summary.steps[1].metric.ci!.low).toBeLessThan(0)
    const charts = buildCharts([{label: 'noisy', color: 0, summary}])
    for (const c of charts) {
      for (const d of c.datasets)
        for (const p of d.data)
          if (p.low !== undefined) expect(p.low, `${c.id} ${d.label}`).toBeGreaterThanOrEqual(0)
      for (const row of c.table.rows) for (const cell of row) expect(cell, c.id).not.toMatch(/^-\d|\[-/)
    }
  })
})
