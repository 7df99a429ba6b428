// The backend choice of `gen` (auto → xdp or packet) and the one-line message and exit code of each
// AF_XDP failure, including the ones this machine cannot produce (a kernel without AF_XDP or
// without multi-buffer AF_XDP).
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {checkBackendOptions, chooseBackend, xdpError} from '../../src/gen/backend.js'

const sysErr = (message: string, code: string) => Object.assign(new Error(message), {code})
const failing = (code: string) => () => {
  throw sysErr('cannot bind an AF_XDP socket to queue 0 of veth0: x', code)
}

describe('gen backend choice', () => {
  it('auto takes xdp when the probe binds, and says so', () => {
    const c = chooseBackend({backend: 'auto', dev: 'veth0'}, () => 'copy')
    expect(c).toEqual({
      backend: 'xdp',
      xdpMode: 'copy',
      reason: 'xdp (copy mode): veth0 takes AF_XDP sockets',
    })
  })

  it('auto takes packet without probing when a packet option is given', () => {
    const probe = () => {
      throw new Error('must not probe')
    }
    expect(chooseBackend({backend: 'auto', dev: 'veth0', qdiscBypass: false}, probe)).toEqual({
      backend: 'packet',
      reason: 'packet: --qdisc is an AF_PACKET option',
    })
    expect(chooseBackend({backend: 'auto', dev: 'veth0', txRing: true}, probe).backend).toBe('packet')
  })

  it('auto falls back to packet where the kernel or device lacks AF_XDP, naming why', () => {
    for (const code of ['EAFNOSUPPORT', 'EOPNOTSUPP', 'EINVAL', 'EBUSY', 'ENOBUFS', 'EMSGSIZE']) {
      const c = chooseBackend({backend: 'auto', dev: 'veth0'}, failing(code))
      expect(c.backend).toBe('packet')
      expect(c.reason).toMatch(/^packet: AF_XDP is not available on veth0 \(/)
    }
  })

  it('auto still fails on what a person must fix: privileges, a missing device', () => {
    expect(() => chooseBackend({backend: 'auto', dev: 'veth0'}, failing('EPERM'))).toThrow(/CAP_NET_RAW/)
    const e = (() => {
      try {
        chooseBackend({backend: 'auto', dev: 'veth0'}, failing('ENODEV'))
      } catch (err) {
        return err as MqbError
      }
    })()
    expect(e?.exitCode).toBe(ExitCode.noDevice)
  })

  it('xdp fails instead of falling back', () => {
    expect(() => chooseBackend({backend: 'xdp', dev: 'veth0'}, failing('EAFNOSUPPORT'))).toThrow(/no AF_XDP/)
  })

  it('refuses options of another backend', () => {
    expect(() => checkBackendOptions({backend: 'xdp', qdiscBypass: false})).toThrow(
      /--qdisc is an option of the packet backend/,
    )
    expect(() => checkBackendOptions({backend: 'xdp', txRing: true})).toThrow(/--tx-ring/)
    expect(() => checkBackendOptions({backend: 'packet', xdpMode: 'copy'})).toThrow(/needs --backend xdp/)
    expect(() => checkBackendOptions({backend: 'auto', xdpMode: 'zerocopy', qdiscBypass: true})).not.toThrow()
  })
})

describe('AF_XDP errors', () => {
  const cases: Array<[string, 'auto' | 'zerocopy' | 'copy', number, RegExp]> = [
    ['EAFNOSUPPORT', 'auto', ExitCode.unsupported, /no AF_XDP \(CONFIG_XDP_SOCKETS\); use --backend packet$/],
    ['EPERM', 'auto', ExitCode.privilege, /AF_XDP needs CAP_NET_RAW/],
    ['ENOBUFS', 'auto', ExitCode.privilege, /RLIMIT_MEMLOCK.*CAP_IPC_LOCK/],
    ['EOPNOTSUPP', 'zerocopy', ExitCode.unsupported, /no zero-copy AF_XDP; use --xdp-mode copy/],
    ['EBUSY', 'auto', ExitCode.busy, /another AF_XDP socket .* holds that queue of veth0/],
    ['EINVAL', 'auto', ExitCode.unsupported, /veth0 has no such queue for AF_XDP/],
    ['EMSGSIZE', 'auto', ExitCode.unsupported, /XDP_USE_SG/],
  ]
  for (const [code, mode, exit, text] of cases)
    it(`${code} (--xdp-mode ${mode}): exit ${exit}, one line`, () => {
      const msg = code === 'EMSGSIZE' ? 'a 9000-byte frame needs XDP_USE_SG' : 'cannot bind: x'
      const e = xdpError(sysErr(msg, code), {dev: 'veth0', xdpMode: mode}) as MqbError
      expect(e).toBeInstanceOf(MqbError)
      expect(e.exitCode).toBe(exit)
      expect(e.message).toMatch(text)
      expect(e.message).not.toContain('\n')
    })
})
