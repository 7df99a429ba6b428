// The judges of the mq and stress cases on a real guest capture (test/fixtures/observe/
// guest-virtio-2q: a 2-queue guest under load at 2 queue pairs, then at `combined 1`).
import {describe, expect, it} from 'vitest'
import type {LoadRun} from '../../src/check/checks.js'
import {onlyQueueZeroCheck} from '../../src/check/vm/cases/mq.js'
import {stressMix} from '../../src/check/vm/cases/stress.js'
import {interruptDeltas} from '../../src/observe/interrupts.js'
import type {DeviceSnapshot} from '../../src/observe/snapshot.js'
import {captureSnapshot} from '../helpers/guest-capture.js'

const snap = captureSnapshot

function run(before: DeviceSnapshot, after: DeviceSnapshot): LoadRun {
  return {
    queueCount: 1,
    transactionsPerSecond: 1,
    before,
    after,
    interrupts: interruptDeltas(before.interrupts, after.interrupts, after.queueInterrupts),
  }
}

describe('mq at one queue pair', () => {
  it('PASSes the capture at combined 1: only queue 0 lines rose, ethtool -S counts queue 0 only', () => {
    const c = onlyQueueZeroCheck(
      run(
        snap('interrupts-1q-before.txt', 'ethtool-S-1q-before.txt'),
        snap('interrupts-1q-after.txt', 'ethtool-S-1q-after.txt'),
      ),
    )
    expect(c.status, c.evidence).toBe('PASS')
    expect(c.evidence).toBe(
      'virtio0-input.0 +895, virtio0-input.1 +0, virtio0-output.0 +1139, virtio0-output.1 +0',
    )
  })

  it('FAILs the load at 2 queue pairs, naming the queue-1 lines that rose', () => {
    const c = onlyQueueZeroCheck(
      run(
        snap('interrupts-before.txt', 'ethtool-S-before.txt'),
        snap('interrupts-after.txt', 'ethtool-S-after.txt'),
      ),
    )
    expect(c.status).toBe('FAIL')
    expect(c.evidence).toMatch(
      /virtio0-input\.1 rose by \d+; virtio0-output\.1 rose by \d+; ethtool -S still counts queue\(s\) 1/,
    )
  })

  it('FAILs when queue 0 did not move either', () => {
    const s = snap('interrupts-1q-after.txt', 'ethtool-S-1q-after.txt')
    expect(onlyQueueZeroCheck(run(s, s)).evidence).toMatch(/queue 0 lines did not all rise/)
  })
})

describe('stress mix', () => {
  it('runs --sessions TCP_RR and two TCP_STREAM and TCP_CRR sessions per queue pair', () => {
    expect(stressMix({sessions: 20, queues: 2})).toEqual({rr: 20, stream: 4, crr: 4})
    expect(stressMix({sessions: 1, queues: 8})).toEqual({rr: 1, stream: 16, crr: 16})
  })
})
