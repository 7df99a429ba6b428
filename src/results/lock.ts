// One writer per results file. A run holds an flock(2) on FILE.lock while it writes FILE (a new
// run from before its first write, a resume from before it reads the file), so that a second
// `scale --resume FILE` cannot interleave its steps with the first one's and win by writing last.
// The lock file holds the holder's pid for the message; the kernel drops the lock itself when
// the holder dies, so a lock whose holder is gone (SIGKILL, crash) is simply taken over.
// The results file itself cannot carry the lock: every journal write renames a new inode over it.
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {cannotWrite, writeFully} from '../host/files.js'
import {fileLock} from '../native.js'

export interface LockSteps {
  /** after the lock file is opened, before flock: tests run another process's steps here */
  afterOpen?: () => void
  /** after flock succeeded, before the lock file's identity is checked and the pid written */
  afterLock?: () => void
}

export interface ResultsLock {
  readonly path: string
  /** Removes the lock file and drops the lock; idempotent. */
  release(): void
}

export const lockPath = (resultsPath: string) => `${resultsPath}.lock`

/** Why a holder's pid may be unknown: it has taken the lock and not yet written its pid. */
function holderText(fd: number): string {
  const buf = Buffer.alloc(32)
  const n = readSync(fd, buf, 0, buf.length, 0)
  const pid = Number.parseInt(buf.subarray(0, n).toString('utf8').trim(), 10)
  return Number.isInteger(pid) && pid > 0 ? `pid ${pid}` : 'a process that is just starting'
}

function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd)
    const b = statSync(path)
    return a.ino === b.ino && a.dev === b.dev
  } catch {
    return false // unlinked by its previous holder's release
  }
}

/**
 * Takes the lock of `resultsPath`, or throws MqbError(busy) naming the holder's pid.
 * `steps` lets tests interleave another locker at each point where a real one could run.
 */
export function lockResults(resultsPath: string, pid = process.pid, steps: LockSteps = {}): ResultsLock {
  const path = lockPath(resultsPath)
  // Each pass either returns, throws, or saw the file it locked replaced by its holder's
  // release (unlink, then a third process's create); that cannot repeat without end in practice.
  for (let attempt = 0; attempt < 100; attempt++) {
    let fd: number
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644)
    } catch (err) {
      throw cannotWrite(resultsPath, err)
    }
    try {
      steps.afterOpen?.()
      if (!fileLock.tryLock(fd)) {
        throw new MqbError(
          `${resultsPath} is being written by another mqbench (${holderText(fd)})`,
          ExitCode.busy,
          ['wait for that run to end (or stop it), then resume the file'],
        )
      }
      steps.afterLock?.()
      // A lock on a file its holder has unlinked guards nothing: the next locker creates a new one.
      if (!sameFile(fd, path)) {
        closeSync(fd)
        continue
      }
      ftruncateSync(fd, 0)
      try {
        writeFully(fd, `${pid}\n`)
      } catch (err) {
        throw cannotWrite(resultsPath, err) // a full disk: one line, exit 3
      }
    } catch (err) {
      closeSync(fd)
      throw err
    }
    let held = true
    return {
      path,
      release() {
        if (!held) return
        held = false
        // Unlink while still holding the lock, so a waiting locker sees the change (sameFile).
        try {
          unlinkSync(path)
        } catch {
          // gone already (removed by hand)
        }
        closeSync(fd)
      },
    }
  }
  throw new MqbError(`cannot lock ${resultsPath}: its lock file keeps being replaced`, ExitCode.busy)
}
