// writeFully against a write(2) that takes part of each call (a filling filesystem), then fails;
// probeWritable on directories that cannot take a file. No privileges: the short writes are a
// stand-in. A read-only directory is test/integration/full-disk.test.ts's (a read-only tmpfs: the
// tests run as root, whom a chmod does not stop).
import {chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {probeWritable, probeWritableFile, writeFully} from '../../src/host/files.js'

describe('writeFully', () => {
  it('loops over short writes until every byte is written', () => {
    const got: number[] = []
    const write = (_fd: number, buf: Uint8Array, off: number, len: number) => {
      const n = Math.min(len, 3)
      got.push(...buf.subarray(off, off + n))
      return n
    }
    writeFully(7, 'abcdefghij', write)
    expect(Buffer.from(got).toString()).toBe('abcdefghij')
  })

  it('passes on ENOSPC from a write after a short one', () => {
    let calls = 0
    const write = (_fd: number, _buf: Uint8Array, _off: number, len: number) => {
      if (++calls > 1)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'})
      return len - 1
    }
    expect(() => writeFully(7, Buffer.alloc(100), write)).toThrow(expect.objectContaining({code: 'ENOSPC'}))
    expect(calls).toBe(2)
  })

  it('calls a write that takes nothing ENOSPC instead of looping forever', () => {
    expect(() => writeFully(7, 'x', () => 0)).toThrow(expect.objectContaining({code: 'ENOSPC'}))
  })
})

describe('probeWritable', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mqb-probe-'))
  })
  afterEach(() => {
    chmodSync(dir, 0o755)
    rmSync(dir, {recursive: true, force: true})
  })

  it('creates a missing directory and leaves nothing in it', () => {
    probeWritable(join(dir, 'a/b'))
    expect(readdirSync(join(dir, 'a/b'))).toEqual([])
  })

  it('refuses a directory named as the file, and a file named as the directory', () => {
    const file = join(dir, 'f')
    writeFileSync(file, 'earlier')
    let err: unknown
    try {
      probeWritableFile(dir)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.badInput)
    expect((err as MqbError).message).toMatch(/it is a directory; name a file/)
    expect(() => probeWritable(file)).toThrow(/cannot write/)
    probeWritableFile(file)
    expect(readdirSync(dir)).toEqual(['f'])
  })
})
