// Frames as the native senders build them, checked against checksums computed here from
// RFC 1071 (independently of native/frames.cc), a published known-good IPv4 header, and tshark's
// own checksum validation where tshark is installed.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {frames} from '../../src/native.js'
import {commandExists} from '../../src/util/exec.js'
import {FRAME_V4} from '../helpers/frames.js'

const base = {
  ...FRAME_V4,
  queue: 1,
  flow: 3,
  srcPort: 1024,
  seq: 7,
  timeNs: 123456789012345n,
}
const v6 = {
  ...base,
  ipv6: true,
  srcIp: [0xfd, 0, 1, 0x98, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  dstIp: [0xfd, 0, 1, 0x98, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
  frameSize: 80,
}

/** RFC 1071 ones'-complement sum of 16-bit big-endian words, folded (not inverted). */
function onesSum(bytes: Uint8Array, start = 0): number {
  let s = start
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0)
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16)
  return s
}

function udpSumsToAllOnes(f: Buffer, ipv6: boolean): number {
  const l3 = 14
  const udpOff = l3 + (ipv6 ? 40 : 20)
  const udp = f.subarray(udpOff)
  const pseudo = ipv6
    ? Buffer.concat([
        f.subarray(l3 + 8, l3 + 40),
        Buffer.from([0, 0, udp.length >> 8, udp.length & 0xff, 0, 0, 0, 17]),
      ])
    : Buffer.concat([f.subarray(l3 + 12, l3 + 20), Buffer.from([0, 17, udp.length >> 8, udp.length & 0xff])])
  return onesSum(udp, onesSum(pseudo))
}

describe('gen frames', () => {
  it('builds a 60-byte IPv4 UDP frame with the fields asked for', () => {
    const f = frames.build(base)
    expect(f.length).toBe(60)
    expect([...f.subarray(0, 12)]).toEqual([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1])
    expect(f.readUInt16BE(12)).toBe(0x0800)
    expect(f[14]).toBe(0x45)
    expect(f.readUInt16BE(16)).toBe(46) // IP total length = frame - Ethernet header
    expect(f[23]).toBe(17)
    expect(f.readUInt16BE(34)).toBe(1024)
    expect(f.readUInt16BE(36)).toBe(9)
    expect(f.readUInt16BE(38)).toBe(26) // UDP length
    // payload header: magic "MQ", version 1, queue, flow, seq, time
    expect(f.readUInt16BE(42)).toBe(0x4d51)
    expect(f[44]).toBe(1)
    expect(f[45]).toBe(1)
    expect(f.readUInt16BE(46)).toBe(3)
    expect(f.readUInt32BE(48)).toBe(7)
    expect(f.readBigUInt64BE(52)).toBe(123456789012345n)
  })

  it('gives the published checksum for a known IPv4 header', () => {
    // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7: the worked example of the IPv4 header
    // checksum (Wikipedia, "Internet checksum"); 0x73 = 115 bytes of IP = a 129-byte frame.
    const f = frames.build({...base, srcIp: [192, 168, 0, 1], dstIp: [192, 168, 0, 199], frameSize: 129})
    expect(f.subarray(14, 34).toString('hex')).toBe('45000073000040004011b861c0a80001c0a800c7')
  })

  it('has valid IPv4 header and UDP checksums for every sequence number and time', () => {
    for (const [seq, timeNs] of [
      [0, 0n],
      [1, 1n],
      [0xffffffff, 0xffffffffffffffffn],
      [65535, 1n << 48n],
      [123456, 98765432123456789n],
    ] as const) {
      for (const frameSize of [60, 61, 64, 1500, 9000]) {
        const f = frames.build({...base, seq, timeNs, frameSize})
        expect(onesSum(f.subarray(14, 34))).toBe(0xffff)
        expect(f.readUInt16BE(40)).not.toBe(0)
        expect(udpSumsToAllOnes(f, false)).toBe(0xffff)
      }
    }
  })

  it('has a valid UDP checksum over IPv6', () => {
    for (const frameSize of [80, 81, 1514, 9000]) {
      const f = frames.build({...v6, frameSize, seq: 99, timeNs: 5n})
      expect(f.readUInt16BE(12)).toBe(0x86dd)
      expect(f.readUInt16BE(18)).toBe(frameSize - 54) // payload length
      expect(udpSumsToAllOnes(f, true)).toBe(0xffff)
    }
  })

  it("reads back the payload header, and refuses frames that are not mqbench's", () => {
    const f = frames.build({...v6, queue: 200, flow: 65535, seq: 4000000000, timeNs: 42n})
    expect(frames.parse(f)).toEqual({queue: 200, flow: 65535, seq: 4000000000, timeNs: 42n})
    const bad = Buffer.from(f)
    bad[62] ^= 0xff // magic
    expect(frames.parse(bad)).toBeNull()
    expect(frames.parse(f.subarray(0, 70))).toBeNull()
  })

  it('refuses sizes that cannot carry the headers', () => {
    expect(() => frames.build({...base, frameSize: 59})).toThrow(/60 to 9000 bytes for IPv4/)
    expect(() => frames.build({...v6, frameSize: 79})).toThrow(/80 to 9000 bytes for IPv6/)
    expect(() => frames.build({...base, frameSize: 9001})).toThrow(/out of range/)
  })

  const tshark = commandExists('tshark')
  it.skipIf(!tshark)("passes tshark's own IP and UDP checksum validation (skipped without tshark)", () => {
    const list = [
      frames.build({...base, seq: 1}),
      frames.build({...base, frameSize: 1500, seq: 2}),
      frames.build({...v6, seq: 3, frameSize: 200}),
    ]
    const dir = mkdtempSync(join(tmpdir(), 'mqb-frames-'))
    try {
      const file = join(dir, 'f.pcap')
      const header = Buffer.alloc(24)
      header.writeUInt32LE(0xa1b2c3d4, 0)
      header.writeUInt16LE(2, 4)
      header.writeUInt16LE(4, 6)
      header.writeUInt32LE(65535, 16)
      header.writeUInt32LE(1, 20)
      const recs = list.map((f) => {
        const h = Buffer.alloc(16)
        h.writeUInt32LE(f.length, 8)
        h.writeUInt32LE(f.length, 12)
        return Buffer.concat([h, f])
      })
      writeFileSync(file, Buffer.concat([header, ...recs]))
      const r = spawnSync(
        'tshark',
        [
          '-r',
          file,
          '-o',
          'ip.check_checksum:TRUE',
          '-o',
          'udp.check_checksum:TRUE',
          '-T',
          'fields',
          '-e',
          'ip.checksum.status',
          '-e',
          'udp.checksum.status',
        ],
        {encoding: 'utf8'},
      )
      expect(r.status, r.stderr).toBe(0)
      // Wireshark's checksum status: 0 bad, 1 good, 2 unverified; IPv6 has no header checksum, so its first field is empty
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('\t')),
      ).toEqual([
        ['1', '1'],
        ['1', '1'],
        ['', '1'],
      ])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
