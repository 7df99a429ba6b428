import {describe, expect, it} from 'vitest'
import {
  addressBytes,
  MICROSOFT_RSS_KEY,
  parseRssKey,
  rssHash,
  rssInput,
  rssQueue,
  toeplitzHash,
} from '../../src/util/toeplitz.js'

// Microsoft's "Verifying the RSS Hash Calculation" suite (the same table is in Intel's 82599
// datasheet, 7.1.2.8.3): destination and source as the table lists them, then the hash of the
// addresses alone and of the addresses with the ports. UDP hashes the same 4-tuple input.
const IPV4: [string, number, string, number, number, number][] = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
]
const IPV6: [string, number, string, number, number, number][] = [
  ['3ffe:2501:200:3::1', 1766, '3ffe:2501:200:1fff::7', 2794, 0x2cc18cd5, 0x40207d3d],
  ['ff02::1', 4739, '3ffe:501:8::260:97ff:fe40:efab', 14230, 0x0f0c461c, 0xdde51bbf],
  ['fe80::200:f8ff:fe21:67cf', 38024, '3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 0x4b61e985, 0x02d1feef],
]

describe('Toeplitz hash', () => {
  for (const [family, rows] of [
    ['IPv4', IPV4],
    ['IPv6', IPV6],
  ] as const) {
    it(`gives Microsoft's published ${family} hashes, addresses alone and with ports`, () => {
      for (const [dst, dstPort, src, srcPort, ip, l4] of rows) {
        expect(rssHash(MICROSOFT_RSS_KEY, {src, dst}).toString(16)).toBe(ip.toString(16))
        expect(rssHash(MICROSOFT_RSS_KEY, {src, dst, srcPort, dstPort}).toString(16)).toBe(l4.toString(16))
      }
    })
  }

  it('fails the vectors when any field is in the wrong byte order or the wrong place', () => {
    // The same suite computed with each mistake a hand-written parser makes: ports little-endian,
    // addresses reversed, source and destination swapped. Every one misses every vector, so the
    // suite above cannot pass with a byte-order error.
    const [dst, dstPort, src, srcPort, , l4] = IPV4[0]
    const right = rssInput({src, dst, srcPort, dstPort})
    const swap16 = (p: number) => ((p & 0xff) << 8) | (p >> 8)
    const mistakes = [
      rssInput({src, dst, srcPort: swap16(srcPort), dstPort: swap16(dstPort)}),
      Uint8Array.from([
        ...[...right.slice(0, 4)].reverse(),
        ...[...right.slice(4, 8)].reverse(),
        ...right.slice(8),
      ]),
      rssInput({src: dst, dst: src, srcPort: dstPort, dstPort: srcPort}),
    ]
    for (const input of mistakes) expect(toeplitzHash(MICROSOFT_RSS_KEY, input)).not.toBe(l4)
    expect(toeplitzHash(MICROSOFT_RSS_KEY, right)).toBe(l4)
  })

  it('refuses a key too short for the input', () => {
    expect(() => toeplitzHash(MICROSOFT_RSS_KEY.slice(0, 20), new Uint8Array(36))).toThrow(/20-byte key/)
  })
})

describe('indirection table', () => {
  it('indexes the table with the low bits of the hash', () => {
    const table = Array.from({length: 128}, (_, i) => i % 4)
    expect(rssQueue(0x51ccc178, table)).toBe(table[0x78])
    expect(rssQueue(0x51ccc178, [1, 0])).toBe(1) // 0x…78 is even: entry 0
    expect(() => rssQueue(1, [0, 1, 2])).toThrow(/power-of-two/)
  })

  it('reads a key as ethtool -x prints it and refuses anything else', () => {
    const printed = [...MICROSOFT_RSS_KEY].map((b) => b.toString(16).padStart(2, '0')).join(':')
    expect(parseRssKey(`${printed}\n`)).toEqual(MICROSOFT_RSS_KEY)
    expect(() => parseRssKey('6d:5a:zz')).toThrow(/not an RSS key/)
  })
})

describe('addresses', () => {
  it('expands IPv6 shorthand and embedded IPv4, and refuses malformed addresses', () => {
    expect([...addressBytes('::ffff:198.18.0.1')]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1,
    ])
    expect([...addressBytes('fe80::1')].slice(0, 2)).toEqual([0xfe, 0x80])
    expect(addressBytes('::').every((b) => b === 0)).toBe(true)
    for (const bad of ['1::2::3', '1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7:8::'])
      expect(() => addressBytes(bad), bad).toThrow(RangeError)
    expect(() => rssInput({src: '198.18.0.1', dst: '::1'})).toThrow(/address family/)
  })
})
