import {readFileSync} from 'node:fs'
import {nicFeatureCheck, variantOf} from '../../src/check/vm/nic-features.js'
import {describe, expect, it} from 'vitest'
import {
  describeFinding,
  featureFindings,
  fromQmpStatus,
  nicProperties,
  type QmpVirtioStatus,
  sysfsFeatureNames,
  virtioSummary,
} from '../../src/vm/virtio-features.js'

// Debian's qemu 7.2 answering x-query-virtio-status for
// `-device virtio-net-pci,mq=on,packed=on,rss=on,hash=on` on a user-mode netdev, before the
// guest ran (test/fixtures/qmp/README.md says how it was taken).
const status = JSON.parse(
  readFileSync(new URL('../fixtures/qmp/virtio-status-user-packed-rss-hash.json', import.meta.url), 'utf8'),
) as QmpVirtioStatus

describe('virtio-net features from QMP', () => {
  it("names qemu's offered features, keeps the bit qemu 7.2 cannot name, and sorts by bit", () => {
    const sides = fromQmpStatus(status)
    expect(sides.offered).toContain('VIRTIO_NET_F_MQ')
    expect(sides.offered).toContain('VIRTIO_F_RING_PACKED')
    expect(sides.offered).toContain('VIRTIO_NET_F_RSS')
    // unknown-dev-features 2^40: queue_reset, which qemu 7.2 offers by default without a name.
    expect(sides.offered).toContain('VIRTIO_F_RING_RESET')
    expect(sides.offered.indexOf('VIRTIO_NET_F_MAC')).toBeLessThan(sides.offered.indexOf('VIRTIO_NET_F_MQ'))
    expect(sides.offered.indexOf('VIRTIO_F_VERSION_1')).toBeLessThan(
      sides.offered.indexOf('VIRTIO_NET_F_RSS'),
    )
    // Nothing was negotiated: the guest had not started.
    expect(sides.negotiated).toEqual([])
  })

  it('finds hash=on asked for but not offered (a user-mode netdev has no vnet header to carry it)', () => {
    const sides = fromQmpStatus(status)
    const props = {mq: 'on', packed: 'on', rss: 'on', hash: 'on', csum: 'on'}
    // Before negotiation every asked-for feature the device offered is "not taken".
    const before = featureFindings(props, sides)
    expect(before.find((f) => f.property === 'hash')).toEqual({
      property: 'hash',
      feature: 'VIRTIO_NET_F_HASH_REPORT',
      missing: 'offered',
    })
    expect(before.filter((f) => f.missing === 'negotiated').map((f) => f.property)).toEqual([
      'mq',
      'packed',
      'rss',
    ])
    // A driver that took everything offered leaves only the hash finding; off properties are not judged.
    const taken = {...sides, negotiated: sides.offered}
    expect(featureFindings(props, taken).map(describeFinding)).toEqual([
      'hash=on asked for, but the device did not offer VIRTIO_NET_F_HASH_REPORT',
    ])
    expect(featureFindings({...props, hash: 'off'}, taken)).toEqual([])
  })

  it("reads the guest's sysfs bit string and finds a feature qemu says was taken but the guest lacks", () => {
    const bits = (set: number[]) => Array.from({length: 64}, (_, i) => (set.includes(i) ? '1' : '0')).join('')
    // MAC 5, MQ 22, VERSION_1 32, RING_PACKED 34, and bit 58, which has no name here.
    expect(sysfsFeatureNames(`${bits([5, 22, 32, 34, 58])}\n`)).toEqual([
      'VIRTIO_NET_F_MAC',
      'VIRTIO_NET_F_MQ',
      'VIRTIO_F_VERSION_1',
      'VIRTIO_F_RING_PACKED',
      'bit 58',
    ])
    const sides = fromQmpStatus(status)
    const taken = {...sides, negotiated: sides.offered}
    const guest = sysfsFeatureNames(bits([5, 22, 32]))
    expect(featureFindings({packed: 'on', mq: 'on'}, taken, guest)).toEqual([
      {property: 'packed', feature: 'VIRTIO_F_RING_PACKED', missing: 'guest'},
    ])
    expect(() => sysfsFeatureNames('01x1')).toThrow(/not a virtio features string/)
  })
})

describe('the command line and the summary', () => {
  it("reads the NIC's properties from the recorded command line, by id", () => {
    const cmd =
      "qemu-system-x86_64 -device virtio-net-pci,netdev=net1,mac=52:54:00:00:00:02,id=nic1 -device 'virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01,id=nic0,mq=on,vectors=6,packed=on' -m 256"
    expect(nicProperties(cmd)).toEqual({
      netdev: 'net0',
      mac: '52:54:00:00:00:01',
      id: 'nic0',
      mq: 'on',
      vectors: '6',
      packed: 'on',
    })
    expect(nicProperties(cmd, 'nic1').netdev).toBe('net1')
    expect(nicProperties('qemu-system-x86_64 -m 256')).toEqual({})
  })

  it('says per key feature whether it was negotiated, offered only, or not offered, with the findings', () => {
    const sides = fromQmpStatus(status)
    const line = virtioSummary({
      ...sides,
      negotiated: sides.offered.filter((f) => f !== 'VIRTIO_F_RING_PACKED'),
      ringSize: 256,
      findings: [
        'packed=on asked for and VIRTIO_F_RING_PACKED offered, but the guest driver did not take it',
      ],
    })
    expect(line).toMatch(
      /^\d+ of \d+ offered features negotiated: MQ negotiated, RSS negotiated, HASH_REPORT not offered, RING_PACKED offered, not taken, RING_RESET negotiated/,
    )
    expect(line).toMatch(/256-descriptor rings; findings: packed=on/)
    expect(virtioSummary({...sides, findings: [], unavailable: 'QMP x-query-virtio-status: not found'})).toBe(
      'not read: QMP x-query-virtio-status: not found',
    )
  })
})

describe("the plan's judge of a variant's feature", () => {
  const all = ['VIRTIO_NET_F_MQ', 'VIRTIO_F_RING_PACKED']
  const record = {
    properties: {packed: 'on'},
    offered: all,
    negotiated: all,
    backend: [],
    guest: all,
    findings: [],
  }
  it('PASSes when the feature is offered, negotiated and in the guest, and FAILs naming each side that lacks it', () => {
    expect(nicFeatureCheck(record, 'packed')).toMatchObject({
      id: 'packed-negotiated',
      status: 'PASS',
      evidence: 'VIRTIO_F_RING_PACKED on all three sides',
    })
    const without = ['VIRTIO_NET_F_MQ']
    expect(nicFeatureCheck({...record, negotiated: without, guest: without}, 'packed')).toMatchObject({
      status: 'FAIL',
      evidence: 'VIRTIO_F_RING_PACKED missing: negotiated, guest sysfs',
    })
    expect(nicFeatureCheck({...record, offered: without}, 'packed').evidence).toBe(
      'VIRTIO_F_RING_PACKED missing: offered',
    )
    expect(nicFeatureCheck({...record, unavailable: 'QMP: no such command'}, 'packed')).toMatchObject({
      status: 'FAIL',
      evidence: 'not read: QMP: no such command',
    })
    expect(nicFeatureCheck(undefined, 'rss').title).toMatch(/^rss=on: VIRTIO_NET_F_RSS/)
  })
})

describe('a case on a NIC variant', () => {
  it('gains the features in its id and title and joins the extended set; without features it is the case itself', () => {
    expect(variantOf({id: 'mq', title: 'T'}, ['packed', 'rss'])).toEqual({
      id: 'mq_packed_rss',
      title: 'T (packed=on, rss=on)',
      set: 'extended',
    })
    expect(variantOf({id: 'stress', title: 'T'}, [])).toEqual({id: 'stress', title: 'T', set: 'default'})
  })
})
