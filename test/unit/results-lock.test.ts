// One writer per results file (src/results/lock.ts). The races are driven by injected
// interleavings: each locker exposes the points between its system calls, and a test runs the
// rival's steps exactly there. flock(2) conflicts between two open file descriptions even in
// one process, so the rivals here are real lockers; the last test uses a second process.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {once} from 'node:events'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {lockPath, lockResults} from '../../src/results/lock.js'
import {mqbench} from '../helpers/mqbench-cli.js'

const dir = mkdtempSync(join(tmpdir(), 'mqb-lock-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function failure(f: () => unknown): MqbError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(MqbError)
    return err as MqbError
  }
  throw new Error('expected a failure')
}

describe('lockResults', () => {
  it('refuses a second writer with exit 12 naming the holder pid, and lets the next one in after release', () => {
    const file = join(dir, 'a.json')
    const a = lockResults(file, 4101)
    const err = failure(() => lockResults(file, 4102))
    expect(err.exitCode).toBe(ExitCode.busy)
    expect(err.message).toBe(`${file} is being written by another mqbench (pid 4101)`)
    a.release()
    expect(existsSync(lockPath(file))).toBe(false)
    const b = lockResults(file, 4102)
    expect(readFileSync(lockPath(file), 'utf8')).toBe('4102\n')
    b.release()
  })

  it('says the holder is starting when it has the lock but has not written its pid yet', () => {
    const file = join(dir, 'b.json')
    let seen: MqbError | undefined
    const a = lockResults(file, 4201, {afterLock: () => (seen = failure(() => lockResults(file, 4202)))})
    expect(seen?.exitCode).toBe(ExitCode.busy)
    expect(seen?.message).toMatch(/another mqbench \(a process that is just starting\)$/)
    a.release()
  })

  it('does not count a lock on a file its holder unlinked: it retries on the new file and names the new holder', () => {
    const file = join(dir, 'c.json')
    const a = lockResults(file, 4301)
    let c: ReturnType<typeof lockResults> | undefined
    // B opened a's lock file; before B calls flock, a releases (unlink, close) and c creates and locks a new one.
    const err = failure(() =>
      lockResults(file, 4302, {
        afterOpen: () => {
          if (c) return
          a.release()
          c = lockResults(file, 4303)
        },
      }),
    )
    expect(err.exitCode).toBe(ExitCode.busy)
    expect(err.message).toMatch(/\(pid 4303\)$/)
    c?.release()
  })

  it('retries when the file it locked was unlinked between its flock and its check', () => {
    const file = join(dir, 'd.json')
    const a = lockResults(file, 4401)
    a.release()
    let removed = false
    // c got the lock on the file; before c checks it, the file is removed: c must lock a file that exists.
    const c = lockResults(file, 4402, {
      afterLock: () => {
        if (removed) return
        rmSync(lockPath(file))
        removed = true
      },
    })
    expect(readFileSync(lockPath(file), 'utf8')).toBe('4402\n')
    expect(failure(() => lockResults(file, 4403)).message).toMatch(/\(pid 4402\)$/)
    c.release()
  })

  it('takes over a lock file left by a dead holder', () => {
    const file = join(dir, 'e.json')
    writeFileSync(lockPath(file), '999999\n') // SIGKILLed: its file stays, the kernel dropped its flock
    const l = lockResults(file, 4501)
    expect(readFileSync(lockPath(file), 'utf8')).toBe('4501\n')
    l.release()
  })

  it('refuses while another process holds the lock, and takes it over once that process is killed', async () => {
    const file = join(dir, 'f.json')
    const lock = lockPath(file)
    // util-linux flock(1) holds flock(LOCK_EX) on the file for the life of the shell's pid
    const child = spawn(
      'sh',
      ['-c', `echo $$ > '${lock}'; exec flock -o '${lock}' -c 'echo held; sleep 60'`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    await once(child.stdout!, 'data')
    const err = failure(() => lockResults(file))
    expect(err.exitCode).toBe(ExitCode.busy)
    expect(err.message).toMatch(new RegExp(`\\(pid ${child.pid}\\)$`))
    // the same through the CLI: a second `scale --resume` of a file being written exits 12 before it reads it
    const r = await mqbench(['scale', '--resume', file])
    expect(r.status, r.stderr).toBe(ExitCode.busy)
    expect(r.stderr).toMatch(
      new RegExp(`^mqbench: ${file} is being written by another mqbench \\(pid ${child.pid}\\)`),
    )
    child.kill('SIGKILL')
    await once(child, 'exit')
    const l = lockResults(file)
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n`)
    l.release()
  })
})
