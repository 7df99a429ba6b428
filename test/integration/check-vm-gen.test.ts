// check --testbed vm, case gen, under TCG through the plan runner on the shared guest: the agent's
// senders on every guest TX queue counted at the host tap, the host's flows through the tap on
// every guest RX queue, and the kernel's pktgen (the Debian cloud kernel ships pktgen.ko; the
// image carries it) on every TX queue; the same case with the guest at one queue pair FAILs the
// per-queue checks; the shared guest ends at N queues without pktgen; nothing stays.
import {afterAll, expect, it} from 'vitest'
import {genCase, makeGenCase} from '../../src/check/vm/cases/gen.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import type {VmCase} from '../../src/check/vm/types.js'
import {GUEST_DEV} from '../../src/testbed/vm.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q as params} from '../helpers/vm-plan.js'

describeNet('check --testbed vm: gen', () => {
  afterAll(() => cleanup.runAll())

  it('loads every guest queue both ways and with pktgen; a guest at one queue FAILs', async () => {
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
    const plan = await runVmPlan(params, [genCase, broken, after], {cleanup})
    const [good, bad, state] = plan.cases
    const g = byId(good)
    for (const c of good.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    expect(Object.keys(g)).toEqual([
      'from-guest-queues',
      'from-guest-host',
      'to-guest-queues',
      'pktgen',
      'kernel-log',
    ])
    expect(g['from-guest-queues'].evidence).toMatch(/^tx0 \+\d+ \(\d+ pps\), tx1 \+\d+ \(\d+ pps\)$/)
    expect(g['to-guest-queues'].evidence).toMatch(
      /^rx0 [1-9]\d* \(\d+ pps\), rx1 [1-9]\d* \(\d+ pps\); \d+ of \d+ sent/,
    )
    expect(g.pktgen.evidence).toMatch(
      /^q0 [1-9]\d* \(\d+ pps, tx_queue \+\d+\), q1 [1-9]\d* .*host tap received \d+ of \d+/,
    )
    expect(good.figures?.loads?.map((l) => l.packetsPerSecond)).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ])
    // each load's rate per guest queue, in its direction: the senders' and pktgen's TX, the flows' RX
    expect(good.figures?.loads?.map((l) => l.queueRates?.map((q) => `${q.direction}${q.queue}`))).toEqual([
      ['tx0', 'tx1'],
      ['rx0', 'rx1'],
      ['tx0', 'tx1'],
    ])
    for (const l of good.figures!.loads!)
      for (const q of l.queueRates!) expect(q.pps, l.label).toBeGreaterThan(0)
    const b = byId(bad)
    expect(b['from-guest-queues']).toMatchObject({status: 'FAIL'})
    expect(b['from-guest-queues'].evidence).toMatch(/no frames on TX queue 1/)
    expect(b['to-guest-queues']).toMatchObject({status: 'FAIL'})
    expect(b['to-guest-queues'].evidence).toMatch(/nothing on RX queue 1/)
    expect(b.pktgen).toMatchObject({status: 'FAIL'})
    expect(state.checks[0].status, state.checks[0].evidence).toBe('PASS')
    console.log(`gen wall time ${good.wallMs} ms (broken run ${bad.wallMs} ms)`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(guestNames(good))
  }, 170_000)
})
