import {describe, expect, it} from 'vitest'
import {buildPlan, bypassTxQueue, parseIpv4, parseIpv6, parseMac, placeCpus} from '../../src/gen/plan.js'
import {placementVerified, summarise} from '../../src/gen/result.js'
import {
  diffCounters,
  parseEthtoolStats,
  parseStatisticsListing,
  perQueueCounters,
} from '../../src/gen/kernel.js'

const env = {onlineCpus: [0, 1], devMac: '02:00:00:00:00:01'}

describe('gen plan', () => {
  it('puts thread i on the i-th CPU, wrapping, and predicts the bypass TX queue', () => {
    expect(placeCpus(4, [0, 1])).toEqual([0, 1, 0, 1])
    expect(placeCpus(2, [0, 1, 2, 3], [3, 2])).toEqual([3, 2])
    expect([0, 1, 2, 3].map((c) => bypassTxQueue(c, 2))).toEqual([0, 1, 0, 1])
  })

  it('splits rate and count and gives each queue its own source ports', () => {
    const p = buildPlan(
      {queues: 2, frameSize: 60, flowsPerQueue: 4, ratePps: 1000, count: 101, srcPort: 2000},
      env,
    )
    expect(p.queues).toEqual([
      {queue: 0, cpu: 0, ratePps: 500, count: 51, srcPort: 2000},
      {queue: 1, cpu: 1, ratePps: 500, count: 50, srcPort: 2004},
    ])
    expect(p.frame.srcMac).toEqual([2, 0, 0, 0, 0, 1])
    expect(p.frame.dstMac).toEqual([255, 255, 255, 255, 255, 255])
    expect(p.frame.srcIp).toEqual([198, 18, 0, 1])
    expect(p.burst).toBe(32)
  })

  it('unlimited rate and count become zeros for the native side', () => {
    const p = buildPlan({queues: 1, frameSize: 1500, flowsPerQueue: 1}, env)
    expect(p.queues[0]).toMatchObject({ratePps: 0, count: 0})
  })

  it('refuses what cannot be sent', () => {
    expect(() => buildPlan({queues: 1, frameSize: 70, flowsPerQueue: 1, ipVersion: 6}, env)).toThrow(
      /80 to 9000 bytes without FCS for IPv6/,
    )
    expect(() => buildPlan({queues: 300, frameSize: 60, flowsPerQueue: 1}, env)).toThrow(/queue count 300/)
    expect(() => buildPlan({queues: 8, frameSize: 60, flowsPerQueue: 10000, srcPort: 1024}, env)).toThrow(
      /do not fit in 1..65535/,
    )
    expect(() => buildPlan({queues: 4, frameSize: 60, flowsPerQueue: 1, count: 3}, env)).toThrow(
      /at least one frame per queue/,
    )
    expect(() => buildPlan({queues: 1, frameSize: 60, flowsPerQueue: 1, burst: 0}, env)).toThrow(/burst 0/)
    expect(() => buildPlan({queues: 1, frameSize: 60, flowsPerQueue: 1}, {onlineCpus: [0]})).toThrow(
      /no source MAC/,
    )
  })

  it('parses addresses', () => {
    expect(parseMac('02:AB:0:0:0:1')).toEqual([2, 0xab, 0, 0, 0, 1])
    expect(() => parseMac('02:ab:00:00:00')).toThrow(/not a MAC/)
    expect(parseIpv4('198.18.0.255')).toEqual([198, 18, 0, 255])
    expect(() => parseIpv4('198.18.0.256')).toThrow(/not an IPv4/)
    expect(parseIpv6('::1')).toEqual([...Array(15).fill(0), 1])
    expect(parseIpv6('fd00:198:18::2')).toEqual([0xfd, 0, 1, 0x98, 0, 0x18, ...Array(9).fill(0), 2])
    expect(parseIpv6('1:2:3:4:5:6:7:8')[15]).toBe(8)
    for (const bad of ['1::2::3', '1:2:3', 'g::1', '1:2:3:4:5:6:7:8::'])
      expect(() => parseIpv6(bad)).toThrow(/not an IPv6/)
  })
})

describe('gen result', () => {
  const plan = buildPlan({queues: 2, frameSize: 100, flowsPerQueue: 1}, env)
  const tx = [
    {queue: 0, packets: 1000, bytes: 100_000, refused: 3, startNs: 1e9, endNs: 2e9},
    {queue: 1, packets: 500, bytes: 50_000, refused: 0, startNs: 1.5e9, endNs: 2e9},
  ]
  const rxq = (packets: number, duplicates = 0, reordered = 0) => ({
    packets,
    bytes: packets * 100,
    lost: 0,
    reordered,
    duplicates,
  })

  it("computes rates over each thread's own window and the run's", () => {
    const r = summarise({backend: 'packet', dev: 'x', plan, tx, expectedTxQueue: [0, 1]})
    expect(r.durationMs).toBe(1000)
    expect(r.queues[0]).toMatchObject({pps: 1000, mbps: 0.8, errors: 3, cpu: 0})
    expect(r.queues[1]).toMatchObject({pps: 1000, mbps: 0.8})
    expect(r).toMatchObject({packets: 1500, bytes: 150_000, pps: 1500, mbps: 1.2})
    expect(r.rx).toBeUndefined()
    expect(r.placement).toEqual({expectedTxQueue: [0, 1]})
  })

  it('counts loss as sent minus received unique frames, and builds the placement matrix', () => {
    const threads = [
      {foreign: 2, socketDrops: 0, queues: [rxq(990, 5, 1), rxq(0)]},
      {foreign: 1, socketDrops: 4, queues: [rxq(0), rxq(500)]},
    ]
    const r = summarise({
      backend: 'packet',
      dev: 'x',
      plan,
      tx,
      rx: {dev: 'y', threads, queueMappingOffset: 0},
      expectedTxQueue: [0, 1],
    })
    expect(r.rx).toMatchObject({
      packets: 1490,
      lost: 15,
      reordered: 1,
      duplicates: 5,
      socketDrops: 4,
      foreign: 3,
    })
    expect(r.rx!.queues[0]).toMatchObject({queue: 0, packets: 990, lost: 15})
    expect(r.placement).toEqual({
      expectedTxQueue: [0, 1],
      matrix: [
        [990, 0],
        [0, 500],
      ],
      verified: true,
    })
  })

  it('placement is verified only when every frame is on its expected queue', () => {
    expect(
      placementVerified(
        [
          [10, 0],
          [0, 10],
        ],
        [0, 1],
      ),
    ).toBe(true)
    expect(
      placementVerified(
        [
          [0, 10],
          [10, 0],
        ],
        [1, 0],
      ),
    ).toBe(true)
    expect(
      placementVerified(
        [
          [10, 1],
          [0, 10],
        ],
        [0, 1],
      ),
    ).toBe(false)
    expect(
      placementVerified(
        [
          [0, 0],
          [0, 0],
        ],
        [0, 1],
      ),
    ).toBe(false)
    expect(placementVerified([[10, 10]], [0, 1])).toBeUndefined()
  })
})

describe('gen kernel counters', () => {
  it("parses ethtool -S and finds per-queue entries in the drivers' spellings", () => {
    const text =
      'NIC statistics:\n     peer_ifindex: 8\n     rx_queue_0_xdp_packets: 10\n     rx_queue_1_xdp_packets: 20\n     tx_queue_1_xdp_xmit: 3\n     tx0_packets: 7\n     tx-1.bytes: 9\n     name: veth\n'
    const s = parseEthtoolStats(text)
    expect(s).toEqual({
      peer_ifindex: 8,
      rx_queue_0_xdp_packets: 10,
      rx_queue_1_xdp_packets: 20,
      tx_queue_1_xdp_xmit: 3,
      tx0_packets: 7,
      'tx-1.bytes': 9,
    })
    expect(perQueueCounters(s)).toEqual([
      {queue: 0, counters: {rx_xdp_packets: 10, tx_packets: 7}},
      {queue: 1, counters: {rx_xdp_packets: 20, tx_xdp_xmit: 3, tx_bytes: 9}},
    ])
  })

  it('parses a statistics listing and subtracts snapshots', () => {
    const s = parseStatisticsListing(
      '/sys/class/net/v/statistics/tx_packets:120\n/sys/class/net/v/statistics/tx_dropped:0\n',
    )
    expect(s).toEqual({tx_packets: 120, tx_dropped: 0})
    expect(diffCounters({tx_packets: 20}, s)).toEqual({tx_packets: 100, tx_dropped: 0})
  })
})

describe('gen result with recorded receive queues', () => {
  it('maps fanout member m to receive queue m - 1 where the driver records queue q as q + 1', () => {
    const plan = buildPlan({queues: 2, frameSize: 60, flowsPerQueue: 1}, env)
    const tx = [0, 1].map((queue) => ({queue, packets: 10, bytes: 600, refused: 0, startNs: 1, endNs: 2}))
    const q = (packets: number) => ({packets, bytes: packets * 60, lost: 0, reordered: 0, duplicates: 0})
    // tun: fd 0's frames carry queue_mapping 1 and land on member 1, fd 1's on member 0
    const threads = [
      {foreign: 0, socketDrops: 0, queues: [q(0), q(10)]},
      {foreign: 0, socketDrops: 0, queues: [q(10), q(0)]},
    ]
    const r = summarise({
      backend: 'tap',
      dev: 't',
      plan,
      tx,
      rx: {dev: 't', threads, queueMappingOffset: 1},
      expectedTxQueue: [0, 1],
    })
    expect(r.placement).toEqual({
      expectedTxQueue: [0, 1],
      matrix: [
        [10, 0],
        [0, 10],
      ],
      verified: true,
    })
  })
})
