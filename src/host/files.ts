// Files mqbench writes (results, reports, undo files, testbed records) are written atomically:
// a reader, or a crash at any instant, sees the previous complete file or the new one.
import {closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'

/** Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  let fd: number | undefined
  try {
    fd = openSync(tmp, 'w', 0o644)
    if (typeof data === 'string') writeSync(fd, data)
    else writeSync(fd, data)
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    renameSync(tmp, path)
  } catch (err) {
    if (fd !== undefined) closeSync(fd)
    try {
      unlinkSync(tmp)
    } catch {
      // the temp file was never created, or already renamed
    }
    const code = (err as {code?: string}).code
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new MqbError(`cannot write ${path}: no such directory ${dir}`, ExitCode.badInput)
    if (code === 'EACCES' || code === 'EROFS')
      throw new MqbError(
        `cannot write ${path}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}`,
        ExitCode.badInput,
      )
    throw new MqbError(`cannot write ${path}: ${(err as Error).message}`, ExitCode.failure)
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
