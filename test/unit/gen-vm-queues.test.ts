// gen --testbed on a guest with more --queues than it has enabled (issue 22 point 8): refused in
// both directions with exit 8 and advice that can work (the guest's ethtool, or a testbed booted
// with more), never `ethtool -L` on the host tap, which qemu drives from the guest's choice.
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {runVmGen, vmQueuesRefusal, type VmGenTarget} from '../../src/gen/vm.js'
import {AgentFacade} from '../../src/vm/agent-ops.js'

describe('vmQueuesRefusal', () => {
  it('points into the guest when the guest can enable more', () => {
    const e = vmQueuesRefusal(4, {combined: 2, maxCombined: 4}, 'eth0', 'g1')!
    expect(e.exitCode).toBe(ExitCode.unsupported)
    expect(e.message).toBe(
      "--queues 4 is above the 2 queue pairs the guest's eth0 has enabled; enable more in the guest (`ethtool -L eth0 combined 4` on `mqbench testbed console g1`), or give --queues 2 or fewer",
    )
  })
  it('points to a testbed booted with more when the guest cannot', () => {
    const e = vmQueuesRefusal(4, {combined: 2, maxCombined: 2}, 'eth0', 'g1')!
    expect(e.message).toMatch(
      /the guest was booted with 2: hold a testbed with more \(`mqbench testbed up NAME --kind vm --max-queues 4`\)/,
    )
    expect(e.message).not.toMatch(/mqb-g1-t/)
  })
  it('allows up to the enabled count', () => {
    expect(vmQueuesRefusal(2, {combined: 2, maxCombined: 4}, 'eth0', 'g1')).toBeUndefined()
  })
})

describe('runVmGen', () => {
  // An agent that knows only channels_get: a refusal must come before anything else is asked.
  const target: VmGenTarget = {
    testbed: 'g1',
    agent: new (class extends AgentFacade {
      request = (async (op: string) => {
        if (op === 'channels_get') return {combined: 2, maxCombined: 2}
        throw new Error(`unexpected agent request ${op}`)
      }) as AgentFacade['request']
    })(),
    netns: 'mqb-g1-h',
    tap: 'mqb-g1-t',
    bridge: 'mqb-g1-b',
    guestDev: 'eth0',
    guestMac: '52:54:00:00:00:01',
    ipA: '198.18.1.1',
    ipB: '198.18.1.2',
  }
  for (const direction of ['to-guest', 'from-guest'] as const)
    it(`refuses --queues 4 on 2 queue pairs ${direction}, before it starts anything`, async () => {
      const err = await runVmGen(target, {direction, queues: 4, frameSize: 64, durationMs: 1000}).catch(
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(MqbError)
      expect((err as MqbError).exitCode).toBe(ExitCode.unsupported)
      expect((err as MqbError).message).toMatch(
        /^--queues 4 is above the 2 queue pairs the guest's eth0 has enabled/,
      )
    })
})
