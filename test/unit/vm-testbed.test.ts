import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {fromFarEnd} from '../../src/scale/sweep.js'
import {queueMismatch, sharedVectors, tapQueues} from '../../src/testbed/vm.js'
import {parseBootMarks} from '../../src/vm/guest.js'
import {guestIO, guestSnapshotScript, splitSections} from '../../src/vm/guest-observe.js'
import {takeSnapshotWith} from '../../src/observe/index.js'

const FIXTURES = new URL('../fixtures/observe/guest-virtio-2q/', import.meta.url)
const fixture = (f: string) => readFileSync(new URL(f, FIXTURES), 'utf8')

describe('vm queue read-back', () => {
  it('reads numqueues/numdisabled of a tap from ip -d -j link', () => {
    const json = JSON.stringify([
      {
        ifname: 'mqb-g1-t',
        linkinfo: {
          info_kind: 'tun',
          info_data: {type: 'tap', multi_queue: true, numqueues: 1, numdisabled: 1},
        },
      },
    ])
    expect(tapQueues(json)).toEqual({numqueues: 1, numdisabled: 1, multiQueue: true})
  })

  it('accepts only three witnesses that agree', () => {
    const ok = {combined: 1, sysfs: {rx: 1, tx: 1}, tap: {numqueues: 1, numdisabled: 1}}
    expect(queueMismatch(1, 2, ok)).toBeUndefined()
    expect(queueMismatch(1, 2, {...ok, tap: {numqueues: 2, numdisabled: 0}})).toBe(
      'asked the guest for 1 queues, but its channels say 1, its sysfs rx 1 / tx 1, and the host tap has 2 queues attached, 0 detached',
    )
    expect(queueMismatch(1, 2, {...ok, sysfs: {rx: 2, tx: 1}})).toMatch(/sysfs rx 2 \/ tx 1/)
    expect(queueMismatch(2, 2, {...ok, combined: 1})).toMatch(/channels say 1/)
    // one queue pair: a tap without multi_queue reports no queues
    expect(queueMismatch(1, 1, {...ok, tap: {numqueues: 0, numdisabled: 0}})).toBeUndefined()
  })

  it('tells per-queue vectors from one shared virtqueues interrupt', () => {
    const perQueue = fixture('interrupts-before.txt')
    expect(sharedVectors(perQueue, 'virtio0')).toBe(false)
    const shared =
      ' 24:   10   0   PCI-MSI 65536-edge      virtio1-config\n 25:  99  0   PCI-MSI 65537-edge      virtio1-virtqueues\n'
    expect(sharedVectors(shared, 'virtio1')).toBe(true)
  })
})

describe('guest observation', () => {
  it('splits the one-exec snapshot into sections and reads them with the host parsers', () => {
    const dump = [
      '@@dev',
      '@link /sys/devices/pci0000:00/0000:00:03.0/virtio0',
      'queues/rx-0/rps_cpus:0',
      'queues/rx-1/rps_cpus:0',
      'queues/tx-0/xps_cpus:1',
      'queues/tx-1/xps_cpus:2',
      'statistics/rx_packets:10',
      '@@interrupts',
      fixture('interrupts-after.txt').trimEnd(),
      '@@softnet',
      fixture('softnet-after.txt').trimEnd(),
      '@@ethtool-i',
      fixture('ethtool-i.txt').trimEnd(),
      '@@ethtool-S',
      fixture('ethtool-S-after.txt').trimEnd(),
    ].join('\n')
    const sections = splitSections(dump)
    expect(Object.keys(sections)).toEqual(['dev', 'interrupts', 'softnet', 'ethtool-i', 'ethtool-S'])
    const snap = takeSnapshotWith(guestIO('eth0', sections), 'eth0')
    expect(snap.virtioName).toBe('virtio0')
    expect(snap.queueCounts).toMatchObject({rx: 2, tx: 2})
    expect(snap.queueInterrupts.map((q) => q.name).sort()).toEqual([
      'virtio0-input.0',
      'virtio0-input.1',
      'virtio0-output.0',
      'virtio0-output.1',
    ])
    expect(snap.ethtoolQueues.map((q) => q.queue)).toEqual([0, 1])
    expect(snap.softnet.length).toBeGreaterThan(0)
    expect(() => guestIO('eth0', sections).writeHostFile('x', 'y')).toThrow(/read-only/)
  })

  it('runs the host sysfs dump inside a subshell so that its exit does not end the script', () => {
    expect(guestSnapshotScript()).toMatch(/^echo @@dev; \(cd "\/sys\/class\/net\/\$1"/)
    expect(guestSnapshotScript()).toMatch(/ethtool -S "\$1"/)
  })

  it('reads the boot marks the init script prints', () => {
    expect(
      parseBootMarks('x\nmqb-boot: init 2.90\nmqb-boot: modules 3.62\nnoise\nmqb-boot: agent 3.74\n'),
    ).toEqual({
      init: 2.9,
      modules: 3.62,
      agent: 3.74,
    })
  })

  it("turns the guest's counters into side A's view", () => {
    expect(
      fromFarEnd({
        queue: 1,
        source: 'ethtool',
        txPackets: 2,
        txBytes: 20,
        rxPackets: 9,
        rxBytes: 90,
        drops: 0,
      }),
    ).toEqual({queue: 1, source: 'ethtool', txPackets: 9, txBytes: 90, rxPackets: 2, rxBytes: 20, drops: 0})
  })
})
