// gen --testbed on a guest (issue 22): the tables that count frames by the sender's queue and by
// the guest's own queues are labelled apart, the placement line says "picked by the driver"
// instead of `0->-1`, and the tap's counters are read once qemu has drained the tap.
import {describe, expect, it} from 'vitest'
import {guestTableHeading, placementText, receiverTableHeading} from '../../src/gen/render.js'
import {settled} from '../../src/gen/run.js'

describe('placementText', () => {
  it('says the driver picks instead of -1', () => {
    const t = placementText({expectedTxQueue: [-1, -1]})
    expect(t).toMatch(/picked by the driver \(a tap hashes each flow onto one of its queues\)/)
    expect(t).not.toMatch(/->\s*-1/)
  })
  it('maps threads to queues in words, with the verdict', () => {
    expect(placementText({expectedTxQueue: [0, 1], verified: true})).toBe(
      "TX queue per sender thread: thread 0 -> queue 0, thread 1 -> queue 1; verified: each queue's frames arrived on the matching receive queue",
    )
  })
})

describe('table headings', () => {
  it('never share a first column: sender queue at the receiver, the guest queue in the guest', () => {
    const rx = receiverTableHeading('eth0 (guest)')
    const into = guestTableHeading({direction: 'to-guest', dev: 'eth0'})
    const from = guestTableHeading({direction: 'from-guest', dev: 'eth0'})
    expect(new Set([rx.column, into.column, from.column]).size).toBe(3)
    expect(rx.title).toMatch(/by the sender queue in their header/)
    expect(into.title).toMatch(/by its RX queue \(where the frames arrived\)/)
    expect(from.title).toMatch(/by its TX queue \(where the frames left\)/)
  })
})

describe('settled', () => {
  it('reads until two reads agree: counters that move while qemu drains the tap', async () => {
    const seen = [100, 180, 200, 200, 200]
    let i = 0
    const slept: number[] = []
    const v = await settled(
      () => seen[Math.min(i++, seen.length - 1)],
      (a, b) => a === b,
      {stableMs: 50, maxMs: 500, sleep: async (ms) => slept.push(ms)},
    )
    expect(v).toBe(200)
    expect(slept).toEqual([50, 50, 50])
  })
  it('gives up after maxMs with the last read', async () => {
    let n = 0
    const v = await settled(
      () => n++,
      (a, b) => a === b,
      {stableMs: 50, maxMs: 200, sleep: async () => {}},
    )
    expect(v).toBe(4)
  })
})
