// An explicit --xdp-mode is a request for AF_XDP (issue 22): with the default backend it used to
// fall back to AF_PACKET silently (exit 0); now it is had or refused as with --backend xdp. And
// --backend tap on a veth says it is a veth, not "a single-queue tap".
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {checkBackendOptions, chooseBackend, tapBackendRefusal} from '../../src/gen/backend.js'

const eopnotsupp = () => {
  throw Object.assign(new Error('bind AF_XDP socket to veth0 queue 0: Operation not supported'), {
    code: 'EOPNOTSUPP',
  })
}

describe('--xdp-mode with --backend auto', () => {
  it('zerocopy where the driver has none is refused with exit 8, not swapped for AF_PACKET', () => {
    let err: unknown
    try {
      chooseBackend({backend: 'auto', xdpMode: 'zerocopy', dev: 'veth0'}, eopnotsupp)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.unsupported)
    expect((err as MqbError).message).toMatch(/has no zero-copy AF_XDP; use --xdp-mode copy/)
  })
  it('zerocopy where it is had says why xdp was chosen', () => {
    expect(chooseBackend({backend: 'auto', xdpMode: 'zerocopy', dev: 'eth1'}, () => 'zerocopy')).toEqual({
      backend: 'xdp',
      xdpMode: 'zerocopy',
      reason: 'xdp (zerocopy mode): --xdp-mode zerocopy',
    })
  })
  it('auto mode still falls back to AF_PACKET where AF_XDP is missing', () => {
    expect(chooseBackend({backend: 'auto', xdpMode: 'auto', dev: 'veth0'}, eopnotsupp).backend).toBe('packet')
  })
  it('refuses --xdp-mode together with an AF_PACKET option', () => {
    expect(() => checkBackendOptions({backend: 'auto', xdpMode: 'zerocopy', qdiscBypass: false})).toThrow(
      /--xdp-mode zerocopy asks for AF_XDP and --qdisc for AF_PACKET; give one/,
    )
  })
})

describe('--backend tap on another kind of link', () => {
  it('names the kind', () => {
    const e = tapBackendRefusal('veth0', 'veth')!
    expect(e.exitCode).toBe(ExitCode.unsupported)
    expect(e.message).toBe(
      "--backend tap sends through a tap's queue fds, and veth0 is a veth, not a tap; use --backend packet or xdp on it",
    )
    expect(e.message).not.toMatch(/single-queue/)
  })
  it('lets a tap (tun) through, and a name that does not exist yet (gen makes the tap)', () => {
    expect(tapBackendRefusal('mqb-tap0', 'tun')).toBeUndefined()
    expect(tapBackendRefusal('mqb-tap0', undefined)).toBeUndefined()
  })
})
