// check vm, case gen, under TCG through the plan runner on the shared guest, with the
// guest at one queue pair during the loads: the per-queue checks of the agent's senders, the
// host's flows into the guest and the kernel's pktgen each FAIL, naming the queue that carried
// nothing; afterwards the shared guest is back at N queues without pktgen; nothing stays. The
// good path is asserted once, in check-vm-plan.test.ts (test/README.md).
import {afterAll, expect, it} from 'vitest'
import {makeGenCase} from '../../src/check/vm/cases/gen.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import type {VmCase} from '../../src/check/vm/types.js'
import {GUEST_DEV} from '../../src/testbed/vm.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q as params} from '../helpers/vm-plan.js'

describeNet('check vm: gen', () => {
  afterAll(() => cleanup.runAll())

  it('a guest at one queue FAILs every per-queue check, and is left at N queues without pktgen', async () => {
    // runs after the others on the same shared guest: what the gen runs left behind
    const after: VmCase = {
      id: 'after',
      title: 'the shared guest after gen',
      source: 'fedora',
      set: 'default',
      boundMs: () => 30_000,
      async run(ctx) {
        const bed = await ctx.shared()
        const ch = await bed.guest.agent.request<{combined: number}>('channels_get', {dev: GUEST_DEV})
        const mods = await bed.guest.agent.request<{data: string}>('read_file', {path: '/proc/modules'})
        return {
          checks: [
            {
              id: 'state',
              title: 'N queues, no pktgen',
              status: ch.combined === 2 && !/^pktgen /m.test(mods.data) ? 'PASS' : 'FAIL',
              evidence: `combined ${ch.combined}; ${mods.data
                .split('\n')
                .map((l) => l.split(' ')[0])
                .join(' ')}`,
            },
          ],
        }
      },
    }
    const broken = makeGenCase({queuesDuringLoad: () => 1})
    const plan = await runVmPlan(params, [broken, after], {cleanup})
    const [bad, state] = plan.cases
    const b = byId(bad)
    expect(b['from-guest-queues']).toMatchObject({status: 'FAIL'})
    expect(b['from-guest-queues'].evidence).toMatch(/no frames on TX queue 1/)
    expect(b['to-guest-queues']).toMatchObject({status: 'FAIL'})
    expect(b['to-guest-queues'].evidence).toMatch(/nothing on RX queue 1/)
    expect(b.pktgen).toMatchObject({status: 'FAIL'})
    expect(state.checks[0].status, state.checks[0].evidence).toBe('PASS')
    console.log(`gen broken run ${bad.wallMs} ms`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(guestNames(bad))
  }, 150_000)
})
