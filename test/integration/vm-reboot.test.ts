// Guest.reboot() under TCG on one guest: a QMP system_reset and then the guest's own `reboot -f`;
// each time the agent answers hello again on a new connection, the NIC has the same max combined
// channels and the same per-queue interrupt lines, and TCP_RR sessions into the guest still run.
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runRr} from '../../src/sessions/index.js'
import {bootVmBed, type VmBed} from '../../src/testbed/vm.js'
import {guestSnapshot} from '../../src/vm/guest-observe.js'
import {cleanup, leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

describeNet('vm guest reboot', () => {
  const name = `r${uniqueTag().slice(0, 5)}`
  let bed: VmBed

  beforeAll(async () => {
    bed = await bootVmBed({kind: 'vm', name}, {maxQueues: 2, cleanup, vm: {accel: 'auto', vcpuCpus: [0, 1]}})
  }, 120_000)

  afterAll(async () => {
    await bed?.testbed.close()
    cleanup.runAll()
    expect(leftovers(`mqb-${name}-`)).toEqual([])
  })

  /** What must survive a reboot: channels, the queue interrupt lines, the address. */
  async function facts() {
    const agent = bed.guest.agent
    const ch = await agent.request<{maxCombined: number; combined: number}>('channels_get', {dev: 'eth0'})
    const snap = await guestSnapshot(agent, 'eth0')
    return {
      maxCombined: ch.maxCombined,
      combined: ch.combined,
      lines: snap.queueInterrupts.map((q) => q.name).sort(),
    }
  }

  async function shortRr(): Promise<void> {
    const token = `t${uniqueTag()}`
    const far = await bed.testbed.startFarServer!(token, 4)
    try {
      const r = await runRr({
        server: bed.ipGuest,
        port: far.port,
        netns: bed.ns,
        token,
        type: 'tcp_rr',
        sessions: 4,
        requestSize: 1,
        responseSize: 1,
        durationMs: 1000,
      })
      expect(r.sessions).toHaveLength(4)
      for (const s of r.sessions) expect(s.transactions).toBeGreaterThan(0)
    } finally {
      await far.close()
    }
  }

  for (const how of ['reset', 'guest'] as const) {
    it(`comes back after a ${how === 'reset' ? 'QMP system_reset' : "guest's reboot -f"} with the same queues and interrupt lines, and carries traffic`, async () => {
      const before = await facts()
      expect(before.maxCombined).toBe(2)
      expect(before.lines).toEqual(
        expect.arrayContaining([expect.stringMatching(/-input\.0$/), expect.stringMatching(/-output\.1$/)]),
      )
      const connections = bed.guest.agent.connections
      const seen = await bed.guest.reboot({how})
      expect(seen.how).toBe(how)
      expect(seen.resets).toBeGreaterThanOrEqual(1)
      expect(seen.resetMs).toBeLessThanOrEqual(seen.backMs)
      expect(seen.hello.protocol).toBe(1)
      expect(seen.hello.build).toBe(bed.guest.setup.agent.build)
      expect(seen.agentConnections).toBeGreaterThan(connections)
      // the guest really started again: its init printed its marks after the reset
      expect(Object.keys(seen.bootMarks)).toEqual(expect.arrayContaining(['init', 'net', 'agent']))
      expect(seen.vcpuCpus).toEqual([0, 1])
      bed.guest.checkAlive()
      expect(await facts()).toEqual(before)
      await shortRr()
    }, 120_000)
  }

  it('through the testbed: the queue count set before the reboot is set again and read back', async () => {
    await bed.testbed.setQueueCount(1)
    const seen = await bed.reboot({how: 'reset'})
    expect(seen.queues).toMatchObject({
      queueCount: 1,
      channels: {combined: 1, maxCombined: 2},
      sysfsQueues: {rx: 1, tx: 1},
      tapQueues: {attached: 1, detached: 1},
    })
    expect(bed.testbed.queueCount()).toBe(1)
    await bed.testbed.setQueueCount(2)
    await shortRr()
  }, 120_000)
})
