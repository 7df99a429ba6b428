import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {RelayStatus} from '../../src/native.js'
import {checkTestbedName, endpointAddresses, endpointNames} from '../../src/testbed/common.js'
import {deviceIrqs, parseServer, saveDevState} from '../../src/testbed/dev.js'
import {parseTestbedKind, TESTBED_KINDS} from '../../src/testbed/index.js'
import {diffQueueTraffic, relayStatusToTraffic} from '../../src/testbed/relay.js'

describe('testbed names and addresses', () => {
  it('derives mqb- names that fit IFNAMSIZ', () => {
    expect(endpointNames('tb1')).toEqual({
      nsA: 'mqb-tb1-a',
      nsB: 'mqb-tb1-b',
      devA: 'mqb-tb1-a',
      devB: 'mqb-tb1-b',
    })
    expect(endpointNames('abcdefghi').devA).toHaveLength(15)
    expect(() => checkTestbedName('abcdefghij')).toThrow(/1-9 lower-case/)
    expect(() => checkTestbedName('Tb')).toThrow(/1-9 lower-case/)
    expect(() => checkTestbedName('')).toThrow()
  })

  it('puts both ends in one /24 of 198.18.0.0/15, differing by name', () => {
    const a = endpointAddresses('tb1')
    expect(a.ipA).toMatch(/^198\.18\.\d+\.1$/)
    expect(a.ipB).toBe(a.ipA.replace(/1$/, '2'))
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    expect(new Set(names.map((n) => endpointAddresses(n).ipA)).size).toBeGreaterThan(1)
  })
})

describe('parseTestbedKind', () => {
  it('accepts tap, veth, vm and dev:IF, and nothing else', () => {
    expect(parseTestbedKind('tap')).toEqual({kind: 'tap'})
    expect(parseTestbedKind('veth')).toEqual({kind: 'veth'})
    expect(parseTestbedKind('dev:eth1')).toEqual({kind: 'dev', dev: 'eth1'})
    expect(() => parseTestbedKind('dev:')).toThrow(/tap, veth, vm or dev:IF/)
    expect(() => parseTestbedKind('macvlan')).toThrow(/tap, veth, vm or dev:IF/)
    expect(parseTestbedKind('vm')).toEqual({kind: 'vm'})
    expect(Object.keys(TESTBED_KINDS).sort()).toEqual(['dev', 'tap', 'veth', 'vm'])
  })

  it('reads a server as host[:port]', () => {
    expect(parseServer('192.0.2.7:7979')).toEqual({host: '192.0.2.7', port: 7979})
    expect(parseServer('host')).toEqual({host: 'host', port: undefined})
    expect(parseServer('[2001:db8::1]:80')).toEqual({host: '2001:db8::1', port: 80})
  })
})

describe('relay counters', () => {
  const status = (frames: number): RelayStatus => ({
    running: true,
    failed: false,
    queues: [
      {
        queue: 0,
        aToB: {frames, bytes: frames * 1000, drops: 1},
        bToA: {frames: 2 * frames, bytes: frames * 60, drops: 0},
      },
      {queue: 1, aToB: {frames: 0, bytes: 0, drops: 0}, bToA: {frames: 0, bytes: 0, drops: 2}},
    ],
  })

  it('reads A->B as tx and B->A as rx, drops of both directions together', () => {
    expect(relayStatusToTraffic(status(10))).toEqual([
      {queue: 0, source: 'relay', txPackets: 10, txBytes: 10_000, rxPackets: 20, rxBytes: 600, drops: 1},
      {queue: 1, source: 'relay', txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, drops: 2},
    ])
  })

  it('diffs queue by queue, a queue new in `after` counting from zero', () => {
    const before = relayStatusToTraffic(status(10)).slice(0, 1)
    const d = diffQueueTraffic(before, relayStatusToTraffic(status(15)))
    expect(d[0]).toMatchObject({txPackets: 5, txBytes: 5000, rxPackets: 10, rxBytes: 300, drops: 0})
    expect(d[1]).toMatchObject({txPackets: 0, drops: 2})
  })
})

describe('device state saved before a channel change', () => {
  it('reads IRQ affinity of the MSI vectors and RPS/XPS masks from a fixture tree', () => {
    const root = mkdtempSync(join(tmpdir(), 'mqb-devstate-')) + '/'
    const net = `${root}sys/class/net/eth9`
    mkdirSync(`${net}/device/msi_irqs`, {recursive: true})
    for (const irq of ['40', '41']) {
      writeFileSync(`${net}/device/msi_irqs/${irq}`, 'msix')
      mkdirSync(`${root}proc/irq/${irq}`, {recursive: true})
      writeFileSync(`${root}proc/irq/${irq}/smp_affinity_list`, irq === '40' ? '0\n' : '1\n')
    }
    for (const q of ['rx-0', 'rx-1', 'tx-0', 'tx-1']) mkdirSync(`${net}/queues/${q}`, {recursive: true})
    writeFileSync(`${net}/queues/rx-0/rps_cpus`, '0\n')
    writeFileSync(`${net}/queues/rx-1/rps_cpus`, '3\n')
    writeFileSync(`${net}/queues/tx-0/xps_cpus`, '1\n')
    writeFileSync(`${net}/queues/tx-1/xps_cpus`, '2\n')
    expect(deviceIrqs('eth9', root).sort()).toEqual(['40', '41'])
    const ch = {maxRx: 0, maxTx: 0, maxOther: 1, maxCombined: 4, rx: 0, tx: 0, other: 1, combined: 2}
    expect(saveDevState('eth9', ch, root)).toEqual({
      dev: 'eth9',
      channels: {combined: 2},
      irqAffinity: {40: '0', 41: '1'},
      rps: {'rx-0': '0', 'rx-1': '3'},
      xps: {'tx-0': '1', 'tx-1': '2'},
    })
  })

  it('finds IRQs by name in /proc/interrupts when the device has no MSI directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'mqb-devirq-')) + '/'
    mkdirSync(`${root}proc`, {recursive: true})
    writeFileSync(
      `${root}proc/interrupts`,
      '           CPU0       CPU1\n 24:    10    0   PCI-MSI 1-edge      eth9-TxRx-0\n 25:   3   4   PCI-MSI 2-edge      eth10-TxRx-0\n',
    )
    expect(deviceIrqs('eth9', root)).toEqual(['24'])
  })
})
