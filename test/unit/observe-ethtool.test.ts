import {describe, expect, it} from 'vitest'
import {
  ethtoolQueueStats,
  parseEthtoolDriver,
  parseEthtoolFeatures,
  parseEthtoolStats,
  splitQueueStatName,
} from '../../src/observe/ethtool.js'
import {fixture} from '../fixtures/observe/tree.js'

describe('ethtool -S per-queue counters', () => {
  it('veth: rx_queue_N_xdp_packets are the per-queue NAPI counts', () => {
    const q = ethtoolQueueStats(parseEthtoolStats(fixture('ethtool-S-veth.txt')), 'veth')
    expect(q).toEqual([
      {queue: 0, rx: {packets: 1200, bytes: 91200, drops: 0}, tx: {packets: 0}},
      {queue: 1, rx: {packets: 800, bytes: 60800, drops: 3}, tx: {packets: 0}},
    ])
  })

  it('virtio_net before 6.10: packets win over xdp_packets; kicks kept', () => {
    const q = ethtoolQueueStats(parseEthtoolStats(fixture('ethtool-S-virtio_net-5.x.txt')), 'virtio_net')
    expect(q[1]).toEqual({
      queue: 1,
      rx: {packets: 9120, bytes: 7712002, drops: 1, kicks: 11},
      tx: {packets: 7002, bytes: 1100222, kicks: 7002},
    })
  })

  it('virtio_net 6.18 has only kicks and drops per queue (xdp_packets is not traffic there)', () => {
    const q = ethtoolQueueStats(parseEthtoolStats(fixture('ethtool-S-virtio_net-6.18.txt')), 'virtio_net')
    expect(q).toEqual([{queue: 0, rx: {drops: 0, kicks: 1316}, tx: {kicks: 3566}}])
  })

  it('mlx5: rxN_packets/txN_packets, device totals and channel events ignored', () => {
    const q = ethtoolQueueStats(parseEthtoolStats(fixture('ethtool-S-mlx5.txt')), 'mlx5_core')
    expect(q.map((x) => [x.queue, x.rx.packets, x.tx.packets, x.tx.drops])).toEqual([
      [0, 2612001, 2012003, 2],
      [1, 2511400, 2000000, 0],
    ])
  })

  it('knows the i40e, ena and bnxt spellings', () => {
    expect(splitQueueStatName('rx-3.rx_packets')).toEqual({dir: 'rx', queue: 3, rest: 'packets'})
    expect(splitQueueStatName('queue_2_tx_cnt')).toEqual({dir: 'tx', queue: 2, rest: 'cnt'})
    expect(splitQueueStatName('[1]: rx_ucast_packets')).toEqual({dir: 'rx', queue: 1, rest: 'ucast_packets'})
    const bnxt = ethtoolQueueStats(
      {'[0]: rx_ucast_packets': 10, '[0]: rx_mcast_packets': 2, '[0]: rx_bcast_packets': 1},
      'bnxt_en',
    )
    expect(bnxt[0].rx.packets).toBe(13)
    expect(splitQueueStatName('rx_packets')).toBeUndefined()
  })
})

describe('ethtool -k and -i', () => {
  it('reads features with their annotations dropped', () => {
    const f = parseEthtoolFeatures(fixture('ethtool-k-veth.txt'))
    expect(f['generic-receive-offload']).toBe(false)
    expect(f['tcp-segmentation-offload']).toBe(true)
    expect(f['tx-checksum-ipv4']).toBe(false)
    expect(f['hsr-dup-offload']).toBe(false)
    expect(f['Features for mqb1a']).toBeUndefined()
  })
  it('reads driver and bus address, empty fields left out', () => {
    expect(parseEthtoolDriver(fixture('ethtool-i-virtio.txt'))).toEqual({
      driver: 'virtio_net',
      version: '1.0.0',
      busInfo: '0000:00:03.0',
    })
    expect(parseEthtoolDriver('driver: veth\nversion: 1.0\nbus-info: \n')).toEqual({
      driver: 'veth',
      version: '1.0',
    })
  })
})
