// issue 10 case 3: capabilities are checked before anything changes, and a kernel refusal
// reported by a system tool becomes exit 4 naming the capability, not "unexpected error".
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {effectiveCapabilities, missingCapabilities, requireCapabilities} from '../../src/host/privileges.js'
import {runOk} from '../../src/util/exec.js'

const ROOT = 0x000001ffffffffffn // CapEff of root on this kernel
const NO_NET = ROOT & ~((1n << 12n) | (1n << 13n) | (1n << 21n)) // without NET_ADMIN, NET_RAW, SYS_ADMIN

describe('capabilities', () => {
  it('reads CapEff from /proc/self/status text', () => {
    expect(effectiveCapabilities('Name:\tnode\nCapInh:\t0\nCapEff:\t000001ffffffffff\n')).toBe(ROOT)
    expect(effectiveCapabilities('CapEff:\t0000000000003000\n')).toBe(0x3000n)
    expect(effectiveCapabilities('no such line')).toBe(0n)
  })

  it('names exactly the missing ones, in the order asked', () => {
    expect(missingCapabilities(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], ROOT)).toEqual([])
    expect(missingCapabilities(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], NO_NET)).toEqual([
      'CAP_NET_ADMIN',
      'CAP_SYS_ADMIN',
    ])
    expect(missingCapabilities(['CAP_NET_RAW'], 1n << 13n)).toEqual([])
    expect(missingCapabilities(['CAP_NET_ADMIN', 'CAP_NET_RAW'], 1n << 13n)).toEqual(['CAP_NET_ADMIN'])
  })

  it('refuses with exit 4 and one line naming the capability and what needed it', () => {
    expect(() => requireCapabilities(['CAP_NET_ADMIN'], 'create a veth testbed', ROOT)).not.toThrow()
    let err: unknown
    try {
      requireCapabilities(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], 'create a veth testbed', 1n << 12n)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.privilege)
    expect((err as MqbError).message).toMatch(/^cannot create a veth testbed: mqbench needs CAP_SYS_ADMIN \(/)
    expect((err as MqbError).message).not.toContain('\n')
  })

  it('turns a tool that says "Operation not permitted" into exit 4, other failures stay as they were', () => {
    const denied = () => runOk('sh', ['-c', 'echo "RTNETLINK answers: Operation not permitted" >&2; exit 2'])
    expect(denied).toThrow(MqbError)
    try {
      denied()
    } catch (e) {
      expect((e as MqbError).exitCode).toBe(ExitCode.privilege)
      expect((e as MqbError).message).toContain('CAP_NET_ADMIN')
    }
    const other = () => runOk('sh', ['-c', 'echo "Cannot find device" >&2; exit 1'])
    expect(other).toThrow(/Cannot find device/)
    try {
      other()
    } catch (e) {
      expect(e).not.toBeInstanceOf(MqbError)
    }
  })
})
