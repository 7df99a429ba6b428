// check --cases churn_long was silent for 40 s while its load finished (issue 22): once the
// changes are made, a phase line says how long the load still runs.
import {describe, expect, it} from 'vitest'
import {churnLoadMs, loadTailPhase} from '../../src/check/vm/cases/churn.js'

describe('loadTailPhase', () => {
  it("says how long churn_long's load still runs after its 300 changes", () => {
    const loadMs = churnLoadMs(300, 10_000)
    expect(loadMs).toBe(78_000)
    expect(loadTailPhase(300, loadMs, 12_000)).toBe(
      '300 changes made; waiting 66 s for the load to finish (it runs 78 s)',
    )
  })
  it('is quiet when the load is about to end', () => {
    expect(loadTailPhase(50, 15_000, 14_000)).toBeUndefined()
  })
})
