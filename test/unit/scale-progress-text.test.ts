// Progress lines read as words (issue 22): the readback after a queue-count change, never raw
// JSON such as `channels {"combined":1,"maxCombined":2}`, and counts with their plurals.
import {describe, expect, it} from 'vitest'
import {readbackText} from '../../src/scale/progress.js'
import {plural} from '../../src/util/text.js'

describe('readbackText', () => {
  it("a guest's readback: channels, sysfs and the host tap", () => {
    const t = readbackText({
      queueCount: 1,
      channels: {combined: 1, maxCombined: 2},
      sysfsQueues: {rx: 1, tx: 1},
      tapQueues: {attached: 1, detached: 1},
    })
    expect(t).toBe('channels combined 1 of 2; sysfs rx 1 tx 1; host tap 1 attached, 1 detached')
    expect(t).not.toMatch(/[{}"]/)
  })
  it('a device with separate rx/tx channels, and one that reports none', () => {
    expect(
      readbackText({
        queueCount: 2,
        channels: {rx: 2, tx: 2, maxRx: 8, maxTx: 8},
        sysfsQueues: {rx: 2, tx: 2},
      }),
    ).toBe('channels rx 2 of 8, tx 2 of 8; sysfs rx 2 tx 2')
    expect(readbackText({queueCount: 1, channels: {}, sysfsQueues: {rx: 1, tx: 1}})).toBe(
      'channels not reported; sysfs rx 1 tx 1',
    )
  })
})

describe('plural', () => {
  it('says 1 queue and 2 queues', () => {
    expect(plural(1, 'queue')).toBe('1 queue')
    expect(plural(2, 'queue pair')).toBe('2 queue pairs')
    expect(plural(0, 'vector')).toBe('0 vectors')
  })
})
