// Native errors carry `.errno` (negative, as node's own); src/native.ts names it as `.code` with
// util.getSystemErrorName (errnoName), for errors thrown, rejected and returned by the addon and
// its handles.
// The native calls below fail the same way with or without privileges (no such device, a bad fd,
// a refused loopback connection), or with EPERM where a capability is missing.
import {describe, expect, it} from 'vitest'
import {errnoName, gen, ifctl, sessions, withErrnoCode} from '../../src/native.js'

/** The `.code` withErrnoCode gives an Error carrying these fields. */
const named = (fields: {errno: number; code?: string}) =>
  withErrnoCode(Object.assign(new Error('x'), fields) as NodeJS.ErrnoException).code

describe('withErrnoCode', () => {
  it('names a negative errno the way node does, and leaves other values alone', () => {
    expect(named({errno: -1})).toBe('EPERM')
    expect(named({errno: -19})).toBe('ENODEV')
    // Linux's one number for EOPNOTSUPP and ENOTSUP, by the kernel's name (node says ENOTSUP).
    expect(named({errno: -95})).toBe('EOPNOTSUPP')
    expect(named({errno: -1, code: 'EEXIT'})).toBe('EEXIT')
    expect(withErrnoCode(new Error('plain'))).not.toHaveProperty('code')
    expect(withErrnoCode(42)).toBe(42)
  })
})

describe('errors from the addon', () => {
  const named = (err: unknown) => {
    const e = err as NodeJS.ErrnoException
    expect(e.errno, e.message).toBeLessThan(0)
    expect(e.code).toBe(errnoName(e.errno!))
    return e.code
  }

  it('a thrown error has .errno and .code (ENODEV, EBADF)', () => {
    let caught: unknown
    try {
      ifctl.getChannels('mqb-nodev0')
    } catch (err) {
      caught = err
    }
    expect(named(caught)).toBe('ENODEV')
    expect(() => ifctl.tapSetQueueAttached(-1, true)).toThrow(
      expect.objectContaining({code: 'EBADF', errno: -9}),
    )
  })

  it('a rejected promise has .errno and .code (ECONNREFUSED on loopback)', async () => {
    const err = await sessions.connect({host: '127.0.0.1', port: 1, timeoutMs: 1000}).catch((e: unknown) => e)
    expect(named(err)).toBe('ECONNREFUSED')
  })

  it("a handle's wait() and error() give .errno and .code", async () => {
    const rx = gen.startRx({dev: 'mqb-nodev0', queues: 1, flowsPerQueue: 1})
    const err = await rx.wait().catch((e: unknown) => e)
    expect(['ENODEV', 'EPERM']).toContain(named(err))
    expect(named(rx.error())).toBe((err as NodeJS.ErrnoException).code)
  })
})
