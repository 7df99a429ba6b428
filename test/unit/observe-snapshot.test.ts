import {afterEach, describe, expect, it} from 'vitest'
import {
  observeDelta,
  readConfigInForce,
  readDeviceConfig,
  readSysfsQueueCounts,
  takeSnapshot,
} from '../../src/observe/index.js'
import {parseDeviceDump} from '../../src/observe/io.js'
import {formatCpuMask, parseCpuMask} from '../../src/observe/sysfs.js'
import {buildTree, fixture, onTree} from '../fixtures/observe/tree.js'

const trees: Array<{remove(): void}> = []
afterEach(() => {
  while (trees.length) trees.pop()!.remove()
})

function virtioGuest(
  interrupts = fixture('interrupts-virtio-4q.txt'),
  stats: Record<string, number> = {rx_packets: 100, tx_packets: 50},
) {
  const t = buildTree({
    dev: 'eth0',
    rxQueues: 4,
    txQueues: 4,
    rps: ['0', '0', '0', '0'],
    xps: ['1', '2', '4', '8'],
    deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
    numaNode: -1,
    statistics: stats,
    interrupts,
    softnet: fixture('softnet_stat-6.x.txt'),
    irqAffinity: {
      '25': {allowed: '0', effective: '0'},
      '26': {allowed: '0'},
      '27': {allowed: '1'},
      '28': {allowed: '1'},
      '29': {allowed: '2'},
      '30': {allowed: '2'},
      '31': {allowed: '3'},
      '32': {allowed: '3'},
    },
  })
  trees.push(t)
  return t.root
}

describe('cpu masks', () => {
  it('round-trips hex masks with 32-bit groups', () => {
    expect(parseCpuMask('00000003')).toEqual([0, 1])
    expect(parseCpuMask('1,00000001')).toEqual([0, 32])
    expect(parseCpuMask('0')).toEqual([])
    expect(formatCpuMask([0, 1])).toBe('3')
    expect(formatCpuMask([0, 32])).toBe('1,00000001')
    expect(formatCpuMask([])).toBe('0')
    expect(parseCpuMask(formatCpuMask([3, 31, 40]))).toEqual([3, 31, 40])
  })
})

describe('snapshot of a fixture tree', () => {
  it('counts queues, finds the virtio name through the device link, reads statistics', () => {
    const root = virtioGuest()
    expect(readSysfsQueueCounts('eth0', onTree(root))).toEqual({rx: 4, tx: 4})
    const s = takeSnapshot('eth0', onTree(root))
    expect(s.virtioName).toBe('virtio0')
    expect(s.queueInterrupts).toHaveLength(8)
    expect(s.statistics).toEqual({rx_packets: 100, tx_packets: 50})
    expect(s.softnet.map((r) => r.cpu)).toEqual([0, 2, 3])
  })

  it('observeDelta: interrupt lines per queue, and per-queue traffic from interrupts when ethtool has no packet counters', () => {
    const before = takeSnapshot('eth0', onTree(virtioGuest()))
    const after = takeSnapshot('eth0', onTree(virtioGuest(fixture('interrupts-virtio-4q-after.txt'))))
    const d = observeDelta(before, after)
    expect(d.interrupts.map((x) => x.total)).toEqual([2000, 0, 500, 1005, 1000, 0, 100, 100])
    expect(d.queues.map((q) => [q.queue, q.source, q.rxPackets, q.txPackets])).toEqual([
      [0, 'interrupts', 2000, 1000],
      [1, 'interrupts', 0, 0],
      [2, 'interrupts', 500, 100],
      [3, 'interrupts', 1005, 100],
    ])
    expect(d.softnet).toHaveLength(3)
  })

  it('observeDelta prefers ethtool per-queue packet counters', () => {
    const root = virtioGuest()
    const stats = (n: number) => ({
      ethtool: (args: string[]) =>
        args[0] === '-S'
          ? `NIC statistics:\n     rx_queue_0_packets: ${n}\n     tx_queue_0_packets: ${2 * n}\n     rx_queue_1_packets: 7\n`
          : args[0] === '-i'
            ? 'driver: virtio_net\n'
            : undefined,
    })
    const d = observeDelta(
      takeSnapshot('eth0', onTree(root, stats(10))),
      takeSnapshot('eth0', onTree(root, stats(25))),
    )
    expect(d.queues).toEqual([
      {queue: 0, source: 'ethtool', rxPackets: 15, txPackets: 30, rxBytes: 0, txBytes: 0, drops: 0},
      {queue: 1, source: 'ethtool', rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0, drops: 0},
    ])
  })

  it('a single-queue device without queue interrupts falls back to sysfs totals', () => {
    const mk = (rx: number) => {
      const t = buildTree({
        dev: 'tap0',
        rxQueues: 1,
        txQueues: 1,
        noXps: true,
        interrupts: fixture('interrupts-single-queue.txt'),
        statistics: {
          rx_packets: rx,
          tx_packets: 2 * rx,
          rx_bytes: 0,
          tx_bytes: 0,
          rx_dropped: 0,
          tx_dropped: 1,
        },
      })
      trees.push(t)
      return takeSnapshot('tap0', onTree(t.root))
    }
    const d = observeDelta(mk(10), mk(15))
    expect(d.interrupts).toEqual([])
    expect(d.queues).toEqual([
      {queue: 0, source: 'sysfs', txPackets: 10, txBytes: 0, rxPackets: 5, rxBytes: 0, drops: 0},
    ])
  })

  it('a multiqueue device with neither source gives no per-queue traffic rather than a guess', () => {
    const t = buildTree({
      dev: 'mqb1a',
      rxQueues: 2,
      txQueues: 2,
      interrupts: fixture('interrupts-single-queue.txt'),
    })
    trees.push(t)
    const s = takeSnapshot('mqb1a', onTree(t.root))
    expect(observeDelta(s, s).queues).toEqual([])
  })

  it('an unknown device is a noDevice error', () => {
    const t = buildTree({dev: 'eth0', rxQueues: 1, txQueues: 1})
    trees.push(t)
    expect(() => takeSnapshot('eth9', onTree(t.root))).toThrow(/no interface eth9/)
  })
})

describe('configuration in force', () => {
  it('reads masks as CPU lists, IRQ affinity by line name, channels and offloads from the I/O', () => {
    const root = virtioGuest()
    const io = {
      channels: () => ({
        maxRx: 0,
        maxTx: 0,
        maxOther: 0,
        maxCombined: 4,
        rx: 0,
        tx: 0,
        other: 0,
        combined: 4,
      }),
      ethtool: (args: string[]) => (args[0] === '-k' ? fixture('ethtool-k-veth.txt') : undefined),
    }
    const c = readConfigInForce('eth0', onTree(root, io))
    expect(c.channels).toEqual({combined: 4, maxCombined: 4})
    expect(c.sysfsQueues).toEqual({rx: 4, tx: 4})
    expect(c.rpsCpus).toEqual(['', '', '', ''])
    expect(c.xpsCpus).toEqual(['0', '1', '2', '3'])
    expect(c.irqAffinity['virtio0-input.2']).toBe('2')
    expect(c.offloads['generic-receive-offload']).toBe(false)
    const full = readDeviceConfig('eth0', onTree(root, io))
    expect(full.irqs[0].affinity).toEqual({allowed: [0], effective: [0]})
    expect(full.localCpus).toEqual([0, 1, 2, 3])
    expect(full.irqbalance).toBe(false)
  })

  it('uses the CPUs of the device NUMA node and sees irqbalance', () => {
    const t = buildTree({
      dev: 'eth0',
      rxQueues: 2,
      txQueues: 2,
      deviceLink: 'sys/devices/pci0000:80/0000:81:00.0/net',
      numaNode: 1,
      onlineCpus: '0-7',
      nodes: {0: '0-3', 1: '4-7'},
      processes: ['bash', 'irqbalance'],
      rpsSockFlowEntries: 32768,
    })
    trees.push(t)
    const c = readDeviceConfig('eth0', onTree(t.root))
    expect(c.numaNode).toBe(1)
    expect(c.localCpus).toEqual([4, 5, 6, 7])
    expect(c.irqbalance).toBe(true)
    expect(c.rpsSockFlowEntries).toBe(32768)
  })
})

describe('the netns dump', () => {
  it('parses the link, msi list and grep -H lines (values may hold colons)', () => {
    const d = parseDeviceDump(
      'eth0',
      '@link /sys/devices/pci0000:00/0000:00:03.0/virtio2\n@msi 36 37 38 \nqueues/rx-0/rps_cpus:00000003\nstatistics/rx_packets:12\noperstate:up\nqueues/tx-0/xps_rxqs:a:b\n',
    )
    expect(d.deviceLink).toBe('/sys/devices/pci0000:00/0000:00:03.0/virtio2')
    expect(d.msiIrqs).toEqual([36, 37, 38])
    expect(d.files['queues/rx-0/rps_cpus']).toBe('00000003')
    expect(d.files['queues/tx-0/xps_rxqs']).toBe('a:b')
  })
})
