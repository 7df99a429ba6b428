import {describe, expect, it} from 'vitest'
import {
  confidenceInterval,
  iterate,
  needsAnotherIteration,
  parseConfidence,
  parseIterations,
} from '../../src/sessions/iterations.js'
import {studentTQuantile} from '../../src/results/estimate.js'

describe('iterations and confidence (netperf -i / -I)', () => {
  it('parses MIN,MAX in either order and LEVEL,WIDTH', () => {
    expect(parseIterations('10,3')).toEqual({min: 3, max: 10})
    expect(parseIterations('3,10')).toEqual({min: 3, max: 10})
    expect(parseIterations('5')).toEqual({min: 5, max: 5})
    expect(() => parseIterations('0,3')).toThrow(/--iterations 0,3/)
    expect(() => parseIterations('a')).toThrow(/MIN,MAX/)
    expect(parseConfidence('99,5')).toEqual({level: 99, widthPct: 5})
    expect(() => parseConfidence('100,5')).toThrow(/LEVEL,WIDTH/)
    expect(() => parseConfidence('95,0')).toThrow(/LEVEL,WIDTH/)
  })

  it("computes Student's t quantiles", () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 2)
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228, 3)
    expect(studentTQuantile(0.995, 10)).toBeCloseTo(3.169, 3)
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042, 3)
  })

  it('gives the whole interval width in percent of the mean', () => {
    const ci = confidenceInterval([100, 102, 98, 101, 99], 95)
    // sd = 1.581, t(0.975, 4) = 2.776 -> half width 1.963 -> width 3.93%
    expect(ci.mean).toBe(100)
    expect(ci.halfWidth).toBeCloseTo(1.963, 2)
    expect(ci.widthPct).toBeCloseTo(3.93, 1)
    expect(confidenceInterval([5], 99).widthPct).toBe(Infinity)
  })

  it('stops at MIN when the interval is narrow, runs to MAX and says so when it is not', async () => {
    const policy = {min: 3, max: 6, level: 99, widthPct: 5}
    expect(needsAnotherIteration([100, 100], policy)).toBe(true)
    const steady = await iterate(
      policy,
      async () => 100,
      (x) => x,
    )
    expect(steady.results).toHaveLength(3)
    expect(steady.confidenceReached).toBe(true)
    const noisy = [50, 150, 60, 140, 55, 145, 100]
    const wild = await iterate(
      policy,
      async (i) => noisy[i],
      (x) => x,
    )
    expect(wild.results).toHaveLength(6)
    expect(wild.confidenceReached).toBe(false)
    const stopped = await iterate(
      policy,
      async (i) => noisy[i],
      (x) => x,
      () => true,
    )
    expect(stopped.results).toHaveLength(1)
  })
})
