import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {readConfigInForce} from '../../src/observe/config.js'
import {observeIO, type ObserveIO} from '../../src/observe/io.js'
import type {Channels} from '../../src/native.js'
import {applyTune, loadUndoFile, revertTune} from '../../src/tune/apply.js'
import {buildTree, fixture, onTree} from '../fixtures/observe/tree.js'

const trees: Array<{remove(): void}> = []
afterEach(() => {
  while (trees.length) trees.pop()!.remove()
})

/** A virtio guest tree with 4 queues whose interrupts all go to CPU 0, and channels held in memory. */
function guest(combined: number) {
  const t = buildTree({
    dev: 'eth0',
    rxQueues: 4,
    txQueues: 4,
    deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
    interrupts: fixture('interrupts-virtio-4q.txt'),
    onlineCpus: '0-3',
    irqAffinity: Object.fromEntries(
      ['25', '26', '27', '28', '29', '30', '31', '32'].map((irq) => [irq, {allowed: '0'}]),
    ),
  })
  trees.push(t)
  const channels: Channels = {
    maxRx: 0,
    maxTx: 0,
    maxOther: 0,
    maxCombined: 4,
    rx: 0,
    tx: 0,
    other: 0,
    combined,
  }
  const setCalls: unknown[] = []
  const over: Partial<ObserveIO> = {
    channels: () => ({...channels}),
    setChannels: (_dev, ch) => {
      setCalls.push(ch)
      channels.combined = ch.combined!
    },
  }
  return {root: t.root, io: observeIO(onTree(t.root, over)), channels, setCalls}
}

describe('tune --apply / --revert on a fixture tree', () => {
  it('raises channels, maps IRQs and XPS 1:1, and revert restores every value', () => {
    const g = guest(2)
    const before = readConfigInForce('eth0', onTree(g.root, {channels: g.io.channels}))
    const undoPath = join(g.root, 'undo.json')
    const r = applyTune(g.io, 'eth0', undoPath)
    expect(g.setCalls).toEqual([{combined: 4}])
    const after = readConfigInForce('eth0', onTree(g.root, {channels: g.io.channels}))
    expect(after.channels.combined).toBe(4)
    expect(after.irqAffinity).toMatchObject({
      'virtio0-input.0': '0',
      'virtio0-output.1': '1',
      'virtio0-input.3': '3',
    })
    expect(after.xpsCpus).toEqual(['0', '1', '2', '3'])
    expect(r.changes.map((c) => c.what)).toContain('eth0 tx-2 XPS')
    // queue 0's lines already sit on CPU 0: not touched, not in the undo file
    const undo = loadUndoFile(undoPath)
    expect(undo.channels).toEqual({combined: 2})
    expect(undo.irqAffinity.map((a) => a.irq).sort()).toEqual(['27', '28', '29', '30', '31', '32'])
    expect(JSON.parse(readFileSync(undoPath, 'utf8')).kind).toBe('mqbench/tune-undo')

    const rev = revertTune(g.io, undo)
    expect(rev.failures).toEqual([])
    expect(readConfigInForce('eth0', onTree(g.root, {channels: g.io.channels}))).toEqual(before)
  })

  it('a second apply changes nothing', () => {
    const g = guest(4)
    applyTune(g.io, 'eth0', join(g.root, 'u1.json'))
    expect(applyTune(g.io, 'eth0', join(g.root, 'u2.json')).changes).toEqual([])
  })

  it('a failing write reverts what was already changed and says so', () => {
    const g = guest(2)
    const before = readConfigInForce('eth0', onTree(g.root, {channels: g.io.channels}))
    let writes = 0
    const io: ObserveIO = {
      ...g.io,
      writeDeviceFile: (dev, rel, value) => {
        if (++writes === 3) throw new Error('EIO')
        g.io.writeDeviceFile(dev, rel, value)
      },
    }
    // a plain Error passes through unchanged; the state is back as it was
    expect(() => applyTune(io, 'eth0', join(g.root, 'undo.json'))).toThrow('EIO')
    expect(readConfigInForce('eth0', onTree(g.root, {channels: g.io.channels}))).toEqual(before)
  })

  it('--from queue count wins over one per CPU, also downwards', () => {
    const g = guest(4)
    applyTune(g.io, 'eth0', join(g.root, 'undo.json'), {queueCount: 2})
    expect(g.channels.combined).toBe(2)
  })

  it('rejects a file that is not an undo file', () => {
    const g = guest(4)
    expect(() => loadUndoFile(join(g.root, 'nope.json'))).toThrow(/no such file/)
    expect(() => loadUndoFile(join(g.root, 'proc/interrupts'))).toThrow(/cannot read undo file/)
  })
})
