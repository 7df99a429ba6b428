// The Toeplitz hash that RSS devices (virtio-net's `rss=on`, qemu's eBPF steering program, real
// NICs) compute over a packet's addresses and ports, and the queue an indirection table gives for
// it: what mqbench predicts before it counts where the packets landed. Pure: no I/O.
//
// The input is the one Microsoft's RSS specification fixes and the virtio specification adopts
// (virtio 1.2, 5.1.6.4.3): source address, destination address, then for TCP/UDP source port and
// destination port, every field in network byte order. A byte-order mistake anywhere gives a
// different hash for almost every tuple, which the published vectors catch (test/unit/toeplitz.test.ts).

/** A flow as the receiving device hashes it: addresses as written (IPv4 dotted or IPv6). */
export interface FlowTuple {
  src: string
  dst: string
  /** Absent: the hash covers the addresses only (the device's "IPv4"/"IPv6" hash types). */
  srcPort?: number
  dstPort?: number
}

/** Microsoft's published key (40 bytes), which Linux drivers and qemu's tests use as an example. */
export const MICROSOFT_RSS_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca,
  0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b,
  0xbe, 0xac, 0x01, 0xfa,
])

/**
 * The Toeplitz hash of `input` under `key`: for every set bit of the input, most significant
 * first, XOR in the 32 key bits that start at that bit's position. The key must be at least 4
 * bytes longer than the input (40 bytes covers an IPv6 4-tuple, 36 bytes).
 */
export function toeplitzHash(key: Uint8Array, input: Uint8Array): number {
  if (key.length < input.length + 4)
    throw new RangeError(
      `a ${key.length}-byte key hashes at most ${key.length - 4} bytes, not ${input.length}`,
    )
  let hash = 0
  // The 32-bit window of the key that lines up with the current input bit.
  let window = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0
  for (let i = 0; i < input.length; i++) {
    const next = key[i + 4]
    for (let bit = 7; bit >= 0; bit--) {
      if (input[i] & (1 << bit)) hash = (hash ^ window) >>> 0
      window = ((window << 1) | ((next >> bit) & 1)) >>> 0
    }
  }
  return hash
}

/** The bytes the device hashes for a flow: addresses, then ports if the hash type covers them. */
export function rssInput(flow: FlowTuple): Uint8Array {
  const src = addressBytes(flow.src)
  const dst = addressBytes(flow.dst)
  if (src.length !== dst.length)
    throw new RangeError(`${flow.src} and ${flow.dst} are not one address family`)
  const withPorts = flow.srcPort !== undefined && flow.dstPort !== undefined
  const out = new Uint8Array(2 * src.length + (withPorts ? 4 : 0))
  out.set(src, 0)
  out.set(dst, src.length)
  if (withPorts) {
    const view = new DataView(out.buffer)
    view.setUint16(2 * src.length, port(flow.srcPort!), false)
    view.setUint16(2 * src.length + 2, port(flow.dstPort!), false)
  }
  return out
}

export const rssHash = (key: Uint8Array, flow: FlowTuple) => toeplitzHash(key, rssInput(flow))

/**
 * The queue an indirection table sends a hash to. The table's length is a power of two (virtio
 * and `ethtool -x` both say so) and the device indexes it with the hash's low bits.
 */
export function rssQueue(hash: number, table: readonly number[]): number {
  const n = table.length
  if (n === 0 || (n & (n - 1)) !== 0)
    throw new RangeError(`an indirection table has a power-of-two length, not ${n}`)
  return table[hash & (n - 1)]
}

/** A key as `ethtool -x` prints it: colon-separated hex bytes ("6d:5a:56:…"). */
export function parseRssKey(text: string): Uint8Array {
  const parts = text.trim().split(':')
  if (parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`not an RSS key: ${text.trim()}`)
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)))
}

function port(p: number): number {
  if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new RangeError(`not a port: ${p}`)
  return p
}

/** An IPv4 address's 4 bytes or an IPv6 address's 16, in network order. */
export function addressBytes(address: string): Uint8Array {
  if (!address.includes(':')) return ipv4Bytes(address)
  const [head, tail, ...rest] = address.split('::')
  if (rest.length > 0) throw new RangeError(`not an IPv6 address: ${address}`)
  const groups = (s: string | undefined) => (s ? s.split(':') : [])
  const left = groups(head)
  const right = groups(tail)
  // A trailing dotted quad (::ffff:198.18.0.1) stands for the last two groups.
  const words: number[] = []
  const push = (g: string) => {
    if (g.includes('.')) {
      const b = ipv4Bytes(g)
      words.push((b[0] << 8) | b[1], (b[2] << 8) | b[3])
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) words.push(parseInt(g, 16))
    else throw new RangeError(`not an IPv6 address: ${address}`)
  }
  left.forEach(push)
  const leftWords = words.length
  right.forEach(push)
  const missing = 8 - words.length
  if (tail === undefined ? missing !== 0 : missing < 1)
    throw new RangeError(`not an IPv6 address: ${address}`)
  words.splice(leftWords, 0, ...new Array<number>(tail === undefined ? 0 : missing).fill(0))
  const out = new Uint8Array(16)
  words.forEach((w, i) => {
    out[2 * i] = w >> 8
    out[2 * i + 1] = w & 0xff
  })
  return out
}

function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split('.')
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new RangeError(`not an IPv4 address: ${address}`)
  return Uint8Array.from(parts.map(Number))
}
