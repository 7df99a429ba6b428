// The copy's content and checksum (native/copy.cc) written again here, independently, so that a
// test can say what both ends must have summed.
const MASK = (1n << 64n) - 1n

function splitmix64(x: bigint): bigint {
  x = (x + 0x9e3779b97f4a7c15n) & MASK
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & MASK
  return x ^ (x >> 31n)
}

/** Bytes [offset, offset + n) of the content seeded by `seed`. */
export function copyContent(seed: number, offset: number, n: number): Buffer {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) {
    const pos = offset + i
    const word = splitmix64(BigInt(seed) + BigInt(Math.floor(pos / 8)))
    out[i] = Number((word >> BigInt(8 * (pos % 8))) & 0xffn)
  }
  return out
}

/** 64-bit FNV-1a as 16 hex digits. */
export function fnv1a64(b: Buffer): string {
  let h = 0xcbf29ce484222325n
  for (const c of b) h = ((h ^ BigInt(c)) * 0x100000001b3n) & MASK
  return h.toString(16).padStart(16, '0')
}
