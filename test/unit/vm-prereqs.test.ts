import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {findBusybox, findQemu} from '../../src/vm/prereqs.js'

const dir = mkdtempSync(join(tmpdir(), 'mqb-prereqs-'))
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

describe('vm prerequisites', () => {
  it('names the package when qemu-system-x86_64 is not on PATH', () => {
    const e = failure(() => findQemu(`${join(dir, 'none')}:/nonexistent`))
    expect(e.message).toBe('qemu-system-x86_64 not found: apt-get install qemu-system-x86')
    expect(e.message).not.toContain('\n')
    expect(e.exitCode).toBe(ExitCode.unsupported)
  })

  it('finds an executable qemu-system-x86_64 on the given PATH, not a non-executable one', () => {
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    mkdirSync(a)
    mkdirSync(b)
    writeFileSync(join(a, 'qemu-system-x86_64'), '#!/bin/sh\n', {mode: 0o644})
    writeFileSync(join(b, 'qemu-system-x86_64'), '#!/bin/sh\n')
    chmodSync(join(b, 'qemu-system-x86_64'), 0o755)
    expect(findQemu(`${a}:${b}`)).toBe(join(b, 'qemu-system-x86_64'))
    expect(() => findQemu(a)).toThrow(/not found/)
  })

  it('names busybox-static when no busybox exists', () => {
    const e = failure(() => findBusybox([undefined, join(dir, 'no-busybox')]))
    expect(e.message).toBe('busybox not found: apt-get install busybox-static')
    expect(e.exitCode).toBe(ExitCode.unsupported)
  })

  it('refuses a dynamically linked busybox in one line naming busybox-static', () => {
    // node itself is a dynamically linked ELF executable, as Debian's plain busybox is
    const dyn = join(dir, 'busybox')
    copyFileSync(process.execPath, dyn)
    const e = failure(() => findBusybox([dyn]))
    expect(e.message).toBe(
      `${dyn} is dynamically linked and cannot run alone in the guest: apt-get install busybox-static`,
    )
    expect(e.exitCode).toBe(ExitCode.unsupported)
  })
})
