import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError, fromNative} from '../../src/errors.js'

const sysError = (message: string, code: string) => Object.assign(new Error(message), {code})

describe('fromNative', () => {
  it('names the capability for EPERM and says how to grant it', () => {
    const e = fromNative(sysError('cannot open packet socket: Operation not permitted', 'EPERM'), {
      capability: 'CAP_NET_RAW',
    }) as MqbError
    expect(e).toBeInstanceOf(MqbError)
    expect(e.exitCode).toBe(ExitCode.privilege)
    expect(e.message).toMatch(/needs CAP_NET_RAW/)
    expect(e.message).toMatch(/setcap/)
  })

  it('gives missing devices, refused connections and unsupported calls distinct codes', () => {
    expect((fromNative(sysError('x', 'ENODEV'), {dev: 'eth9'}) as MqbError).exitCode).toBe(ExitCode.noDevice)
    expect((fromNative(sysError('x', 'ENODEV'), {dev: 'eth9'}) as MqbError).message).toMatch(/interface eth9/)
    expect((fromNative(sysError('x', 'ECONNREFUSED')) as MqbError).exitCode).toBe(ExitCode.unreachable)
    expect((fromNative(sysError('x', 'EOPNOTSUPP')) as MqbError).exitCode).toBe(ExitCode.unsupported)
  })

  it('turns running out of descriptors into the limit to raise, wherever the open failed', () => {
    const e = fromNative(sysError("EMFILE: too many open files, open '/proc/stat'", 'EMFILE')) as MqbError
    expect(e.exitCode).toBe(ExitCode.unsupported)
    expect(e.message).toMatch(
      /^EMFILE: too many open files, open '\/proc\/stat': out of open files \(EMFILE\); raise RLIMIT_NOFILE/,
    )
    expect((fromNative(sysError('x', 'ENFILE')) as MqbError).message).toMatch(/ENFILE.*fewer sessions/)
  })

  it('passes other errors through unchanged', () => {
    const plain = new Error('bug')
    expect(fromNative(plain)).toBe(plain)
    const mqb = new MqbError('m', ExitCode.badInput)
    expect(fromNative(mqb)).toBe(mqb)
  })

  it('keeps every exit code distinct', () => {
    const codes = Object.values(ExitCode)
    expect(new Set(codes).size).toBe(codes.length)
  })
})
