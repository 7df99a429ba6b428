import {describe, expect, it} from 'vitest'
import {
  deviceQueueInterrupts,
  dominantCpu,
  interruptDeltas,
  matchQueueInterruptName,
  parseInterrupts,
} from '../../src/observe/interrupts.js'
import {fixture} from '../fixtures/observe/tree.js'

describe('parseInterrupts', () => {
  it('reads CPUs, counts, chip, hwirq and name of a virtio-net guest', () => {
    const t = parseInterrupts(fixture('interrupts-virtio-4q.txt'))
    expect(t.cpus).toEqual([0, 1, 2, 3])
    const l = t.lines.find((x) => x.irq === '29')!
    expect(l).toEqual({
      irq: '29',
      counts: [0, 0, 11002, 0],
      chip: 'PCI-MSIX-0000:00:03.0',
      hwirq: '5-edge',
      name: 'virtio0-input.2',
    })
    const err = t.lines.find((x) => x.irq === 'ERR')!
    expect(err.counts).toEqual([0, 0, 0, 0])
    expect(t.lines.find((x) => x.irq === 'LOC')!.name).toBe('Local timer interrupts')
  })

  it('keeps shared action names and the old chip-with-type format', () => {
    const t = parseInterrupts(fixture('interrupts-old-kernel-shared.txt'))
    expect(t.lines[1]).toMatchObject({
      irq: '11',
      counts: [99120, 88002],
      chip: 'PCI-MSI-edge',
      name: 'virtio0-virtqueues',
    })
    expect(t.lines[2].name).toBe('eth1-rx-0, eth1-tx-0')
    const ixgbe = parseInterrupts(fixture('interrupts-ixgbe-host.txt'))
    expect(ixgbe.lines.find((l) => l.irq === '16')).toMatchObject({
      chip: 'IR-IO-APIC',
      hwirq: '16-fasteoi',
      name: 'ehci_hcd:usb1, i801_smbus',
    })
  })
})

describe('deviceQueueInterrupts', () => {
  it('finds the 8 queue lines of virtio0 (not config, not another virtio device)', () => {
    const q = deviceQueueInterrupts(parseInterrupts(fixture('interrupts-virtio-4q.txt')), 'eth0', {
      virtioName: 'virtio0',
    })
    expect(q.map((x) => `${x.direction}${x.queue}:${x.irq}`)).toEqual([
      'rx0:25',
      'rx1:27',
      'rx2:29',
      'rx3:31',
      'tx0:26',
      'tx1:28',
      'tx2:30',
      'tx3:32',
    ])
  })

  it('without the virtio name there is nothing to match on a virtio guest', () => {
    expect(deviceQueueInterrupts(parseInterrupts(fixture('interrupts-virtio-4q.txt')), 'eth0')).toEqual([])
  })

  it('matches ixgbe TxRx, split rx/tx, i40e/ice prefixes and mlx5 by PCI address', () => {
    const t = parseInterrupts(fixture('interrupts-ixgbe-host.txt'))
    expect(deviceQueueInterrupts(t, 'eth0').map((x) => [x.irq, x.queue, x.direction])).toEqual([
      ['124', 0, 'combined'],
      ['125', 1, 'combined'],
      ['126', 2, 'combined'],
      ['127', 3, 'combined'],
    ])
    expect(deviceQueueInterrupts(t, 'eth1').map((x) => `${x.direction}${x.queue}`)).toEqual([
      'rx0',
      'rx1',
      'tx0',
      'tx1',
    ])
    expect(deviceQueueInterrupts(t, 'eth2').map((x) => x.irq)).toEqual(['141', '142'])
    expect(deviceQueueInterrupts(t, 'eth3').map((x) => x.irq)).toEqual(['150', '151'])
    const mlx = deviceQueueInterrupts(t, 'enp129s0f0np0', {busInfo: '0000:81:00.0'})
    expect(mlx.map((x) => [x.irq, x.queue])).toEqual([
      ['161', 0],
      ['162', 1],
      ['163', 2],
    ])
  })

  it('a single-queue virtio-net has one input and one output line; a shared vector has no queue', () => {
    const one = deviceQueueInterrupts(parseInterrupts(fixture('interrupts-single-queue.txt')), 'eth0', {
      virtioName: 'virtio2',
    })
    expect(one.map((x) => x.name)).toEqual(['virtio2-input.0', 'virtio2-output.0'])
    const shared = deviceQueueInterrupts(
      parseInterrupts(fixture('interrupts-old-kernel-shared.txt')),
      'eth0',
      {virtioName: 'virtio0'},
    )
    expect(shared).toEqual([{irq: '11', name: 'virtio0-virtqueues', direction: 'combined'}])
  })

  it('does not take another interface whose name ends the same', () => {
    expect(matchQueueInterruptName('veth0-rx-1', 'eth0')).toBeUndefined()
    expect(matchQueueInterruptName('eth0', 'eth0')).toBeUndefined()
    expect(matchQueueInterruptName('ens5-Tx-Rx-2', 'ens5')).toEqual({queue: 2, direction: 'combined'})
  })
})

describe('interruptDeltas', () => {
  it('counts per CPU and per queue; an idle queue stays at zero', () => {
    const before = parseInterrupts(fixture('interrupts-virtio-4q.txt'))
    const after = parseInterrupts(fixture('interrupts-virtio-4q-after.txt'))
    const lines = deviceQueueInterrupts(after, 'eth0', {virtioName: 'virtio0'})
    const d = interruptDeltas(before, after, lines)
    const rx3 = d.find((x) => x.name === 'virtio0-input.3')!
    expect(rx3).toEqual({
      irq: '31',
      name: 'virtio0-input.3',
      queue: 3,
      direction: 'rx',
      perCpu: [5, 0, 0, 1000],
      total: 1005,
    })
    expect(d.find((x) => x.name === 'virtio0-input.1')!.total).toBe(0)
    expect(dominantCpu(rx3, after.cpus)).toBe(3)
    expect(
      dominantCpu(
        d.find((x) => x.name === 'virtio0-input.1')!,
        after.cpus,
      ),
    ).toBeUndefined()
  })

  it('survives a 32-bit wrap of a count', () => {
    const before = parseInterrupts('   CPU0\n 5:   4294967290   X  1-edge  eth0-rx-0\n')
    const after = parseInterrupts('   CPU0\n 5:   4   X  1-edge  eth0-rx-0\n')
    const d = interruptDeltas(before, after, deviceQueueInterrupts(after, 'eth0'))
    expect(d[0].total).toBe(10)
  })
})
