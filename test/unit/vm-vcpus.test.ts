// The guest's vCPU count under TCG (issue 22 point 7): 64 vCPUs on 2 host CPUs waited 60 s and
// failed; the default stays within the host, an explicit count above it warns, above 4x refuses.
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {chooseVcpus, TCG_VCPUS_PER_HOST_CPU} from '../../src/vm/vcpus.js'

describe('chooseVcpus', () => {
  it('under TCG defaults to min(queues, host CPUs), saying so when it is fewer', () => {
    expect(chooseVcpus({queues: 2, accel: 'tcg', hostCpus: 2})).toEqual({vcpus: 2})
    const c = chooseVcpus({queues: 8, accel: 'tcg', hostCpus: 2})
    expect(c.vcpus).toBe(2)
    expect(c.note).toMatch(/^TCG: 2 vCPUs \(the host's CPUs\) for 8 queue pairs/)
  })

  it('under KVM defaults to the queue count', () => {
    expect(chooseVcpus({queues: 8, accel: 'kvm', hostCpus: 2})).toEqual({vcpus: 8})
    expect(chooseVcpus({requested: 64, queues: 2, accel: 'kvm', hostCpus: 2})).toEqual({vcpus: 64})
  })

  it('warns of an explicit count above the host CPUs and allows it up to the bound', () => {
    const c = chooseVcpus({requested: 8, queues: 8, accel: 'tcg', hostCpus: 2})
    expect(c.vcpus).toBe(8)
    expect(c.note).toMatch(/8 vCPUs on 2 host CPUs/)
    expect(chooseVcpus({requested: 2, queues: 8, accel: 'tcg', hostCpus: 2})).toEqual({vcpus: 2})
  })

  it('refuses an explicit count above 4x the host CPUs with exit 3, naming the bound', () => {
    let err: unknown
    try {
      chooseVcpus({requested: 64, queues: 2, accel: 'tcg', hostCpus: 2})
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.badInput)
    expect((err as MqbError).message).toMatch(/--vcpus 64 is more than 8 \(4x this host's 2 CPUs\)/)
    expect(() =>
      chooseVcpus({requested: TCG_VCPUS_PER_HOST_CPU * 2 + 1, queues: 2, accel: 'tcg', hostCpus: 2}),
    ).toThrow(/more than 8/)
  })
})
