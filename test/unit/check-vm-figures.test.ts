// The per-queue figures of a load, from a real guest capture (test/fixtures/observe/guest-virtio-2q:
// /proc/interrupts and ethtool -S before and after TCP flows on each vCPU of a 2-queue guest).
import {describe, expect, it} from 'vitest'
import {counterFigures, interruptFigures, loadFigure} from '../../src/check/vm/figures.js'
import {interruptDeltas} from '../../src/observe/interrupts.js'
import {captureSnapshot} from '../helpers/guest-capture.js'

const snap = (when: 'before' | 'after') => captureSnapshot(`interrupts-${when}.txt`, `ethtool-S-${when}.txt`)

describe('load figures', () => {
  const before = snap('before')
  const after = snap('after')
  const deltas = interruptDeltas(before.interrupts, after.interrupts, after.queueInterrupts)

  it('give each queue line its totals before and after and its rise per vCPU', () => {
    const f = interruptFigures(before, after, deltas)
    expect(f.map((l) => l.label).sort()).toEqual([
      'virtio0-input.0',
      'virtio0-input.1',
      'virtio0-output.0',
      'virtio0-output.1',
    ])
    for (const l of f) {
      expect(l.after - l.before).toBe(l.perCpu.reduce((a, n) => a + n, 0))
      expect(l.perCpu).toHaveLength(2)
      expect(l.queue).toBe(Number(l.label.slice(-1)))
    }
    const rx0 = f.find((l) => l.label === 'virtio0-input.0')!
    const line = after.interrupts.lines.find((l) => l.irq === rx0.irq)!
    expect(rx0.after).toBe(line.counts[0] + line.counts[1])
  })

  it('give every per-queue ethtool -S counter, packets where counted', () => {
    const c = counterFigures(before, after)
    expect(c.map((x) => x.label)).toEqual(['rx0 packets', 'tx0 packets', 'rx1 packets', 'tx1 packets'])
    expect(c[0].after).toBe(after.ethtoolStats.rx_queue_0_packets)
    expect(c[0].before).toBe(before.ethtoolStats.rx_queue_0_packets)
    expect(c.every((x) => x.after > x.before)).toBe(true)
  })

  it('carry the head of the load', () => {
    const l = loadFigure(
      {
        label: '20 TCP_RR sessions at 2 queues',
        workloads: ['tcp_rr'],
        sessions: 20,
        queues: 2,
        durationMs: 5000,
      },
      {before, after, interrupts: deltas},
    )
    expect(l.interrupts).toHaveLength(4)
    expect(l.counters).toHaveLength(4)
    expect(l.sessions).toBe(20)
  })
})
