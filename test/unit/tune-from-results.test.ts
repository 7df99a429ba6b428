import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {adviceFinding, loadQueueCountAdvice} from '../../src/tune/from-results.js'
import {runTune} from '../../src/tune/index.js'
import {buildTree, fixture, onTree} from '../fixtures/observe/tree.js'

const tapRr = fileURLToPath(new URL('../fixtures/results/tap-rr.json', import.meta.url))

describe('tune --from RESULTS.json', () => {
  it('takes the smallest queue count within 5% of the best from a scale run', () => {
    const a = loadQueueCountAdvice(tapRr)
    const best = Math.max(...a.means.map((m) => m.mean))
    expect(a.means.find((m) => m.queueCount === a.best)!.mean).toBe(best)
    const smallest = a.means.filter((m) => m.mean >= 0.95 * best).map((m) => m.queueCount)[0]
    expect(a.smallestWithin5pct).toBe(smallest)
    expect(a.smallestWithin5pct).toBeLessThan(a.best)
    const f = adviceFinding(a, 'eth0', (n) => `ethtool -L eth0 combined ${n}`, a.best)
    expect(f.level).toBe('warn')
    expect(f.commands).toEqual([`ethtool -L eth0 combined ${smallest}`])
    expect(adviceFinding(a, 'eth0', (n) => `x ${n}`, smallest).level).toBe('ok')
  })

  it('puts the advice first in the tune report, and a missing file is a results error', () => {
    const t = buildTree({
      dev: 'eth0',
      rxQueues: 4,
      txQueues: 4,
      interrupts: fixture('interrupts-virtio-4q.txt'),
      deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
    })
    try {
      const channels = () => ({
        maxRx: 0,
        maxTx: 0,
        maxOther: 0,
        maxCombined: 4,
        rx: 0,
        tx: 0,
        other: 0,
        combined: 4,
      })
      const r = runTune('eth0', {...onTree(t.root, {channels}), fromResults: tapRr})
      expect(r.findings[0].area).toBe('queue-count')
      expect(r.queueCount?.file).toBe(tapRr)
      expect(() =>
        runTune('eth0', {...onTree(t.root, {channels}), fromResults: `${t.root}none.json`}),
      ).toThrow(/no such file/)
    } finally {
      t.remove()
    }
  })
})
