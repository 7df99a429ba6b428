// The "newc" cpio format the kernel unpacks as an initramfs (Documentation/driver-api/
// early-userspace/buffer-format.rst): a 110-byte ASCII header per entry, name and data each
// padded to 4 bytes, and a TRAILER!!! entry. Written here so that building an initramfs needs
// neither cpio nor root: device nodes are just headers.

export type CpioEntry =
  | {kind: 'dir'; path: string; mode?: number}
  | {kind: 'file'; path: string; data: Buffer; mode?: number}
  | {kind: 'symlink'; path: string; target: string}
  | {kind: 'chardev'; path: string; major: number; minor: number; mode?: number}

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000
const S_IFCHR = 0o020000

const hex8 = (n: number) => n.toString(16).padStart(8, '0')
const pad4 = (n: number) => (4 - (n % 4)) % 4

function header(f: {
  ino: number
  mode: number
  nlink: number
  size: number
  rdevMajor: number
  rdevMinor: number
  nameSize: number
}): string {
  return [
    '070701',
    hex8(f.ino),
    hex8(f.mode),
    hex8(0), // uid
    hex8(0), // gid
    hex8(f.nlink),
    hex8(0), // mtime: 0 keeps the archive reproducible for a cache key
    hex8(f.size),
    hex8(0), // devmajor
    hex8(0), // devminor
    hex8(f.rdevMajor),
    hex8(f.rdevMinor),
    hex8(f.nameSize),
    hex8(0), // check
  ].join('')
}

function record(ino: number, name: string, mode: number, data: Buffer, rdev = [0, 0], nlink = 1): Buffer {
  const nameBuf = Buffer.from(`${name}\0`, 'utf8')
  const head = Buffer.from(
    header({
      ino,
      mode,
      nlink,
      size: data.length,
      rdevMajor: rdev[0],
      rdevMinor: rdev[1],
      nameSize: nameBuf.length,
    }),
    'ascii',
  )
  return Buffer.concat([
    head,
    nameBuf,
    Buffer.alloc(pad4(head.length + nameBuf.length)),
    data,
    Buffer.alloc(pad4(data.length)),
  ])
}

/** Paths in the archive are relative ("bin/busybox"); a leading slash or a .. is refused. */
function archivePath(path: string): string {
  const p = path.replace(/^\.\//, '')
  if (p.startsWith('/') || p.split('/').includes('..') || p === '')
    throw new Error(`cpio path ${JSON.stringify(path)} must be relative and stay inside the archive`)
  return p
}

/** The archive for `entries`, in the given order (a directory must come before what it holds). */
export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = []
  let ino = 1
  for (const e of entries) {
    const name = archivePath(e.path)
    switch (e.kind) {
      case 'dir':
        parts.push(record(ino++, name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), [0, 0], 2))
        break
      case 'file':
        parts.push(record(ino++, name, S_IFREG | (e.mode ?? 0o644), e.data))
        break
      case 'symlink':
        parts.push(record(ino++, name, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8')))
        break
      case 'chardev':
        parts.push(record(ino++, name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), [e.major, e.minor]))
        break
    }
  }
  parts.push(record(0, 'TRAILER!!!', 0, Buffer.alloc(0), [0, 0], 1))
  return Buffer.concat(parts)
}

/** Reads a newc archive back (names, modes, data): for tests and for checking a cached image. */
export function readCpio(
  buf: Buffer,
): Array<{path: string; mode: number; data: Buffer; rdev: [number, number]}> {
  const out: Array<{path: string; mode: number; data: Buffer; rdev: [number, number]}> = []
  let off = 0
  for (;;) {
    const magic = buf.toString('ascii', off, off + 6)
    if (magic !== '070701') throw new Error(`bad cpio magic ${JSON.stringify(magic)} at ${off}`)
    const field = (i: number) => Number.parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16)
    const mode = field(1)
    const size = field(6)
    const rdev: [number, number] = [field(9), field(10)]
    const nameSize = field(11)
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1)
    off += 110 + nameSize
    off += pad4(off)
    const data = buf.subarray(off, off + size)
    off += size + pad4(size)
    if (name === 'TRAILER!!!') return out
    out.push({path: name, mode, data, rdev})
  }
}
