// check vm, case hotplug, under TCG through the plan runner, with the plugged NIC left
// at combined 1: the unplug still passes, the per-queue checks of the new device FAIL; nothing of
// the guest stays (qemu, namespace, taps, scratch directory). The good path (unplug, plug on a new
// tap, N queues, every queue's interrupts rising) is asserted once, in check-vm-plan.test.ts
// (test/README.md).
import {afterAll, expect, it} from 'vitest'
import {makeHotplugCase} from '../../src/check/vm/cases/hotplug.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q as params} from '../helpers/vm-plan.js'

describeNet('check vm: hotplug', () => {
  afterAll(() => cleanup.runAll())

  it('a plugged NIC left at combined 1 FAILs the per-queue checks', async () => {
    const broken = makeHotplugCase({combinedAfterPlug: () => 1})
    const plan = await runVmPlan(params, [broken], {cleanup})
    const [bad] = plan.cases
    // the broken run: the plugged NIC left at one queue pair
    const b = byId(bad)
    expect(b['unplug-deleted'].status).toBe('PASS')
    expect(b['plug-queues']).toMatchObject({status: 'FAIL'})
    expect(b['plug-queues'].evidence).toMatch(/set combined 1: .*channels say 1/)
    expect(b['irq-per-queue']).toMatchObject({status: 'FAIL'})
    expect(b['irq-per-queue'].evidence).toMatch(/input\.1 stayed at zero/)
    expect(plan.failed).toBeGreaterThanOrEqual(2)
    console.log(`hotplug broken run ${bad.wallMs} ms`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(guestNames(bad))
  }, 120_000)
})
