import {describe, expect, it} from 'vitest'
import {parseSoftnetStat, softnetDeltas} from '../../src/observe/softnet.js'
import {fixture} from '../fixtures/observe/tree.js'

describe('softnet_stat', () => {
  it('reads hex columns and takes the CPU number from column 13 (offline CPUs leave gaps)', () => {
    const rows = parseSoftnetStat(fixture('softnet_stat-6.x.txt'))
    expect(rows.map((r) => r.cpu)).toEqual([0, 2, 3])
    expect(rows[0]).toMatchObject({processed: 0x1a2b3, dropped: 0, timeSqueeze: 0x12})
    expect(rows[1]).toMatchObject({dropped: 2, receivedRps: 5, flowLimit: 1})
    expect(rows[2].backlogLen).toBe(3)
  })

  it('falls back to the line index on kernels with 11 columns', () => {
    const rows = parseSoftnetStat(fixture('softnet_stat-old.txt'))
    expect(rows.map((r) => [r.cpu, r.processed, r.receivedRps])).toEqual([
      [0, 0xa000, 0],
      [1, 0xb000, 4],
    ])
  })

  it('gives per-CPU deltas across a 32-bit wrap', () => {
    const before = parseSoftnetStat(
      'fffffff0 00000000 00000000 0 0 0 0 0 0 00000000 00000000 00000000 00000000\n',
    )
    const after = parseSoftnetStat(
      '00000010 00000001 00000002 0 0 0 0 0 0 00000003 00000000 00000000 00000000\n',
    )
    expect(softnetDeltas(before, after)).toEqual([
      {cpu: 0, processed: 0x20, dropped: 1, timeSqueeze: 2, receivedRps: 3, flowLimit: 0},
    ])
  })
})
