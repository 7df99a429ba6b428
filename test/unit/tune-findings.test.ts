import {afterEach, describe, expect, it} from 'vitest'
import {readDeviceConfig} from '../../src/observe/config.js'
import type {ObserveIO} from '../../src/observe/io.js'
import {tuneFindings, xpsPlan, type Finding} from '../../src/tune/findings.js'
import {buildTree, fixture, onTree, type TreeSpec} from '../fixtures/observe/tree.js'

const trees: Array<{remove(): void}> = []
afterEach(() => {
  while (trees.length) trees.pop()!.remove()
})

const ch = (combined: number, maxCombined: number) => ({
  maxRx: 0,
  maxTx: 0,
  maxOther: 0,
  maxCombined,
  rx: 0,
  tx: 0,
  other: 0,
  combined,
})

function findings(spec: TreeSpec, io: Partial<ObserveIO> = {}): Finding[] {
  const t = buildTree(spec)
  trees.push(t)
  const defaults: Partial<ObserveIO> = {
    ethtool: (a) =>
      a[0] === '-k'
        ? fixture('ethtool-k-veth.txt').replace('generic-receive-offload: off', 'generic-receive-offload: on')
        : undefined,
    rootQdisc: () => 'mq',
  }
  return tuneFindings(readDeviceConfig(spec.dev, onTree(t.root, {...defaults, ...io})))
}
const byArea = (f: Finding[], area: string) => f.filter((x) => x.area === area)

const virtio4q: TreeSpec = {
  dev: 'eth0',
  rxQueues: 4,
  txQueues: 4,
  xps: ['1', '2', '4', '8'],
  deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
  interrupts: fixture('interrupts-virtio-4q.txt'),
  irqAffinity: Object.fromEntries(
    ['25', '26', '27', '28', '29', '30', '31', '32'].map((irq, i) => [
      irq,
      {allowed: String(Math.floor(i / 2)), effective: String(Math.floor(i / 2))},
    ]),
  ),
  onlineCpus: '0-3',
}

describe('tune findings', () => {
  it('a well-set virtio guest (4 queues, 4 CPUs, 1:1 IRQs, XPS) has no warnings', () => {
    const f = findings(virtio4q, {channels: () => ch(4, 4)})
    expect(f.filter((x) => x.level === 'warn')).toEqual([])
    expect(byArea(f, 'irq-affinity')[0].finding).toContain('0->0 1->1 2->2 3->3')
    expect(byArea(f, 'channels')[0].finding).toBe('4 combined channels (maximum 4) on 4 CPUs')
  })

  it('too few channels: raise to one per CPU with the ethtool command', () => {
    const f = byArea(findings({...virtio4q, onlineCpus: '0-7'}, {channels: () => ch(4, 8)}), 'channels')[0]
    expect(f.level).toBe('warn')
    expect(f.finding).toBe('4 combined channels (maximum 8) on 8 CPUs')
    expect(f.commands).toEqual(['ethtool -L eth0 combined 8'])
  })

  it('queues 0-3 of an ixgbe host all on CPU 0: spread 1:1 over the NUMA node, and irqbalance is named', () => {
    const spec: TreeSpec = {
      dev: 'eth0',
      rxQueues: 4,
      txQueues: 4,
      deviceLink: 'sys/devices/pci0000:80/0000:81:00.0',
      numaNode: 1,
      interrupts: fixture('interrupts-ixgbe-host.txt'),
      onlineCpus: '0-7',
      nodes: {0: '0-3', 1: '4-7'},
      processes: ['irqbalance'],
      irqAffinity: {
        '124': {allowed: '0-7', effective: '0'},
        '125': {allowed: '0-7', effective: '0'},
        '126': {allowed: '0-7', effective: '0'},
        '127': {allowed: '0-7', effective: '0'},
      },
    }
    const f = findings(spec, {channels: () => ch(4, 63)})
    const irq = byArea(f, 'irq-affinity')[0]
    expect(irq.level).toBe('warn')
    expect(irq.finding).toMatch(/^queues 0-3 all interrupt CPU 0/)
    expect(irq.recommendation).toBe('spread them 1:1 over CPUs of NUMA node 1 (4-7): 0->4 1->5 2->6 3->7')
    expect(irq.commands).toEqual([
      'echo 4 > /proc/irq/124/smp_affinity_list',
      'echo 5 > /proc/irq/125/smp_affinity_list',
      'echo 6 > /proc/irq/126/smp_affinity_list',
      'echo 7 > /proc/irq/127/smp_affinity_list',
    ])
    expect(byArea(f, 'irqbalance')[0].level).toBe('warn')
    expect(byArea(f, 'xps')[0].finding).toBe('XPS unset on all tx queues (4 of 4)')
    expect(byArea(f, 'numa')[0].finding).toContain('NUMA node 1')
    expect(byArea(f, 'channels')[0].level).toBe('ok') // 4 queues for the 4 CPUs of node 1
  })

  it('a single-queue device: nothing to map, RPS suggested as information only', () => {
    const f = findings(
      {
        dev: 'eth0',
        rxQueues: 1,
        txQueues: 1,
        noXps: true,
        deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio2',
        interrupts: fixture('interrupts-single-queue.txt'),
        irqAffinity: {'38': {allowed: '0-1', effective: '1'}, '39': {allowed: '0-1', effective: '0'}},
        onlineCpus: '0-1',
      },
      {channels: () => ch(1, 1)},
    )
    expect(f.filter((x) => x.level === 'warn')).toEqual([])
    expect(byArea(f, 'channels')[0].finding).toContain("the device's maximum")
    expect(byArea(f, 'irq-affinity')[0].finding).toBe("the one queue's interrupts go to CPU 1")
    expect(byArea(f, 'rps')[0].level).toBe('info')
  })

  it('veth: no interrupts is information, not a warning; GRO off and a single-lock qdisc are warnings', () => {
    const f = findings(
      {
        dev: 'mqb1a',
        rxQueues: 2,
        txQueues: 2,
        interrupts: fixture('interrupts-single-queue.txt'),
        onlineCpus: '0-1',
      },
      {
        channels: () => ({
          maxRx: 2,
          maxTx: 2,
          maxOther: 0,
          maxCombined: 0,
          rx: 1,
          tx: 1,
          other: 0,
          combined: 0,
        }),
        ethtool: (a) =>
          a[0] === '-k' ? fixture('ethtool-k-veth.txt') : a[0] === '-i' ? 'driver: veth\n' : undefined,
        rootQdisc: () => 'pfifo_fast',
      },
    )
    expect(byArea(f, 'irq-affinity')[0].level).toBe('info')
    expect(byArea(f, 'channels')[0].commands).toEqual(['ethtool -L mqb1a rx 2 tx 2'])
    expect(byArea(f, 'offloads')[0]).toMatchObject({level: 'warn', finding: 'GRO off'})
    expect(byArea(f, 'offloads')[0].reason).toContain('per-queue NAPI')
    expect(byArea(f, 'qdisc')[0].commands).toEqual(['tc qdisc replace dev mqb1a root mq'])
  })

  it('all queues on one shared vector is a warning about MSI-X vectors', () => {
    const f = findings(
      {
        dev: 'eth0',
        rxQueues: 2,
        txQueues: 2,
        deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
        interrupts: fixture('interrupts-old-kernel-shared.txt'),
        onlineCpus: '0-1',
      },
      {channels: () => ch(2, 2)},
    )
    expect(byArea(f, 'irq-affinity')[0].finding).toBe(
      'all queues of eth0 share one interrupt line (virtio0-virtqueues)',
    )
  })

  it('RFS with a table but no per-queue flow counts is a warning', () => {
    const f = findings(
      {
        ...virtio4q,
        rps: ['f', 'f', 'f', 'f'],
        rpsSockFlowEntries: 32768,
        rpsFlowCnt: [0, 0, 2048, 2048],
        onlineCpus: '0-7',
      },
      {channels: () => ch(4, 4)},
    )
    expect(byArea(f, 'rfs')[0]).toMatchObject({
      level: 'warn',
      finding: 'rps_sock_flow_entries = 32768 but rps_flow_cnt is 0 on rx-0, rx-1',
    })
  })
})

describe('xpsPlan', () => {
  it('gives every CPU exactly one tx queue, and every queue a CPU', () => {
    expect(xpsPlan([0, 1, 2, 3], 2)).toEqual([
      [0, 2],
      [1, 3],
    ])
    expect(xpsPlan([4, 5], 2)).toEqual([[4], [5]])
    expect(xpsPlan([4, 5], 4)).toEqual([[4], [5], [4], [5]])
  })
})
