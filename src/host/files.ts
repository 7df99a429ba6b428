// Files mqbench writes (results, reports, undo files, testbed records) are written atomically:
// a reader, or a crash at any instant, sees the previous complete file or the new one. A new
// results file is also created exclusively, so that it never replaces another run's.
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {errnoCode, ExitCode, MqbError} from '../errors.js'

const WRITE_REASONS: Record<string, (path: string) => string> = {
  ENOENT: (path) => `no such directory ${path.slice(0, Math.max(0, path.lastIndexOf('/'))) || '.'}`,
  ENOTDIR: (path) => `a part of ${path} is not a directory`,
  EACCES: () => 'permission denied',
  EPERM: () => 'permission denied',
  EROFS: () => 'read-only file system',
  EISDIR: () => 'it is a directory; name a file',
  EEXIST: () => 'it exists and is not a directory',
  ENOSPC: () => 'no space left on the device',
}

/**
 * The one line for a file mqbench cannot write where the person asked (--out, --png, -o, ...):
 * exit 3, because the person chose the path; never a raw errno text.
 */
export function cannotWrite(path: string, err: unknown): MqbError {
  const reason = WRITE_REASONS[errnoCode(err) ?? '']?.(path) ?? (err as Error).message
  return new MqbError(`cannot write ${path}: ${reason}`, ExitCode.badInput)
}

/** Creates the directory the person named (--out, --png) with its parents; exit 3 if it cannot be. */
export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true})
  } catch (err) {
    // Node's recursive mkdir says ENOENT for any failure under an existing parent (EROFS on a
    // read-only mount, EACCES): one plain mkdir names the real reason.
    if (errnoCode(err) !== 'ENOENT' || !existsSync(dirname(dir))) throw cannotWrite(dir, err)
    try {
      mkdirSync(dir)
    } catch (again) {
      if (errnoCode(again) !== 'EEXIST') throw cannotWrite(dir, again) // EEXIST: made meanwhile
    }
  }
}

/**
 * Checks before a long run that files can be created in `dir` (created if missing): a probe file
 * is created and removed, so a read-only or full directory is said before anything is measured,
 * not after. Exit 3 naming the directory.
 */
export function probeWritable(dir: string): void {
  ensureDir(dir)
  const probe = join(dir, `.mqbench-probe.${process.pid}`)
  try {
    const fd = openSync(probe, 'wx', 0o644)
    try {
      writeFully(fd, 'probe\n')
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    throw cannotWrite(dir, err)
  } finally {
    try {
      unlinkSync(probe)
    } catch {
      // never created
    }
  }
}

/**
 * Checks before a run that the file `path` can be written later (the run's end): its directory
 * takes a probe file, and the name is not a directory. The file itself is left as it is.
 */
export function probeWritableFile(path: string): void {
  let isDir = false
  try {
    isDir = statSync(path).isDirectory()
  } catch {
    // absent: the usual case
  }
  if (isDir) throw cannotWrite(path, Object.assign(new Error('EISDIR'), {code: 'EISDIR'}))
  probeWritable(dirname(path))
}

/**
 * write(2) may write fewer bytes than asked: a filesystem that fills up takes what fits and fails
 * only the next call (ENOSPC). Loops until every byte is written; `write` is writeSync, or a
 * test's short-writing stand-in.
 */
export function writeFully(
  fd: number,
  data: string | Uint8Array,
  write: (fd: number, buf: Uint8Array, offset: number, length: number) => number = writeSync,
): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data
  let done = 0
  while (done < buf.length) {
    const n = write(fd, buf, done, buf.length - done)
    // A regular file never takes 0 bytes of a non-empty write but when it is full.
    if (!(n > 0)) throw Object.assign(new Error('no space left on device'), {code: 'ENOSPC'})
    done += n
  }
}

/** link(2) found the name taken: not a failure, the caller tries the next name. */
class NameTaken extends Error {}

/** Writes `data` to a fsynced temporary file next to `path` and hands its name to `place`. */
function viaTemp(path: string, data: string | Uint8Array, place: (tmp: string) => void): void {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  let fd: number | undefined
  try {
    fd = openSync(tmp, 'w', 0o644)
    writeFully(fd, data)
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    place(tmp)
  } catch (err) {
    if (fd !== undefined) closeSync(fd)
    try {
      unlinkSync(tmp)
    } catch {
      // the temp file was never created, or already renamed
    }
    if (err instanceof MqbError || err instanceof NameTaken) throw err
    throw cannotWrite(path, err)
  }
  // The rename is durable only once the directory entry is; not every filesystem lets us fsync a directory.
  try {
    const dfd = openSync(dir, 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // best effort
  }
}

/** Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  viaTemp(path, data, (tmp) => renameSync(tmp, path))
}

/**
 * Creates `path` with `data`, atomically and exclusively: link(2) of the finished temp file fails
 * with EEXIST like open(O_EXCL) would, but the name never shows a half-written file. False when
 * the name exists.
 */
export function createFileExclusive(path: string, data: string | Uint8Array): boolean {
  try {
    viaTemp(path, data, (tmp) => {
      try {
        linkSync(tmp, path)
      } catch (err) {
        if ((err as {code?: string}).code === 'EEXIST') throw new NameTaken()
        throw err
      }
      unlinkSync(tmp)
    })
    return true
  } catch (err) {
    if (err instanceof NameTaken) return false
    throw err
  }
}
