import {describe, expect, it} from 'vitest'
import {fairness, jainIndex, serviceDemandUs} from '../../src/sessions/fairness.js'
import {isLocalAddress, isLoopback, parseIpAddrJson} from '../../src/sessions/target.js'

describe('fairness and service demand', () => {
  it("computes Jain's index between 1/n and 1", () => {
    expect(jainIndex([5, 5, 5, 5])).toBeCloseTo(1)
    expect(jainIndex([10, 0, 0, 0])).toBeCloseTo(0.25)
    expect(jainIndex([1, 3])).toBeCloseTo(16 / 20)
    expect(jainIndex([])).toBe(0)
    expect(fairness([3, 9, 6])).toEqual({jainIndex: jainIndex([3, 9, 6]), slowestTps: 3, fastestTps: 9})
  })

  it('gives microseconds of CPU per unit of work', () => {
    // 2 CPUs fully busy for 1 s = 2000 ms of CPU, 100,000 transactions: 20 us each
    expect(serviceDemandUs(2000, 1000, 100_000)).toBeCloseTo(20)
    expect(serviceDemandUs(2000, 1000, 0)).toBe(0)
  })
})

describe('local targets', () => {
  it('knows loopback and the addresses assigned here', () => {
    expect(isLoopback('127.0.0.1')).toBe(true)
    expect(isLoopback('127.8.9.10')).toBe(true)
    expect(isLoopback('::1')).toBe(true)
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true)
    expect(isLoopback('198.18.0.1')).toBe(false)
    const json = JSON.stringify([
      {ifname: 'lo', addr_info: [{local: '127.0.0.1'}]},
      {ifname: 'v', addr_info: [{local: '198.18.3.2'}, {local: 'FD00::2'}]},
    ])
    const local = parseIpAddrJson(json)
    expect(local).toEqual(['127.0.0.1', '198.18.3.2', 'FD00::2'])
    expect(isLocalAddress('198.18.3.2', local)).toBe(true)
    expect(isLocalAddress('::ffff:198.18.3.2', local)).toBe(true)
    expect(isLocalAddress('fd00::2', local)).toBe(true)
    expect(isLocalAddress('198.18.3.1', local)).toBe(false)
    expect(parseIpAddrJson('not json')).toEqual([])
  })
})
