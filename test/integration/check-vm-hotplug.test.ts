// check --testbed vm, case hotplug, under TCG through the plan runner: the NIC unplugged and a
// new multiqueue one plugged on a new tap, N queues enabled, sessions over it and every queue's
// interrupt lines rising; the same case with the plugged NIC left at combined 1 FAILs the
// per-queue checks; nothing of either guest stays (qemu, namespace, taps, scratch directory).
import {afterAll, expect, it} from 'vitest'
import {makeHotplugCase, hotplugCase} from '../../src/check/vm/cases/hotplug.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q as params} from '../helpers/vm-plan.js'

describeNet('check --testbed vm: hotplug', () => {
  afterAll(() => cleanup.runAll())

  it('unplugs and plugs the NIC; every queue of the new device carries load; combined 1 FAILs', async () => {
    const broken = makeHotplugCase({combinedAfterPlug: () => 1})
    const plan = await runVmPlan(params, [hotplugCase, broken], {cleanup})
    const [good, bad] = plan.cases
    const g = byId(good)
    for (const c of good.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    expect(Object.keys(g)).toEqual([
      'unplug-deleted',
      'unplug-guest',
      'unplug-host',
      'plug-guest',
      'plug-host',
      'plug-queues',
      'rr-sessions',
      'irq-per-queue',
      'ethtool-per-queue',
      'kernel-log',
    ])
    expect(good.figures?.loads?.[0].interrupts?.length).toBeGreaterThanOrEqual(4)
    expect(g['plug-queues'].evidence).toMatch(
      /combined 2, sysfs rx 2 \/ tx 2, tap mqb-\w+-p 2 attached, 0 detached/,
    )
    expect(g['irq-per-queue'].evidence).toMatch(/virtio\d+-input\.0 \+\d+.*virtio\d+-input\.1 \+\d+/)
    expect(g['irq-per-queue'].evidence).toMatch(/virtio\d+-output\.1 \+\d+/)
    expect(good.figures?.numbers?.deletedMs).toBeGreaterThan(0)
    // the broken run: the plugged NIC left at one queue pair
    const b = byId(bad)
    expect(b['unplug-deleted'].status).toBe('PASS')
    expect(b['plug-queues']).toMatchObject({status: 'FAIL'})
    expect(b['plug-queues'].evidence).toMatch(/set combined 1: .*channels say 1/)
    expect(b['irq-per-queue']).toMatchObject({status: 'FAIL'})
    expect(b['irq-per-queue'].evidence).toMatch(/input\.1 stayed at zero/)
    expect(plan.failed).toBeGreaterThanOrEqual(2)
    console.log(`hotplug wall time ${good.wallMs} ms (broken run ${bad.wallMs} ms)`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft([...guestNames(good), ...guestNames(bad)])
  }, 170_000)
})
