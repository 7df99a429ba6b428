// The extended cases of check --testbed vm at small sizes, so that CI runs them too: hotplug
// repeated (2 cycles with stop/cont), then nothing of their guests stays.
import {afterAll, expect, it} from 'vitest'
import {hotplugRepeatCase} from '../../src/check/vm/cases/hotplug-repeat.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q} from '../helpers/vm-plan.js'

describeNet('check --testbed vm: extended cases, small', () => {
  afterAll(() => cleanup.runAll())

  it('repeats hotplug with stop/cont, the last NIC carrying load on every queue', async () => {
    const plan = await runVmPlan({...PLAN_2Q, hotplugCycles: 2}, [hotplugRepeatCase], {cleanup})
    const [rep] = plan.cases
    for (const c of rep.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    const c = byId(rep)
    expect(Object.keys(c)).toEqual([
      'cycles',
      'rr-sessions',
      'irq-per-queue',
      'ethtool-per-queue',
      'kernel-log',
    ])
    expect(c.cycles.evidence).toMatch(/^2 of 2 cycles done; .* 6 of 6 pings answered$/)
    console.log(`hotplug-repeat (2 cycles) wall time ${rep.wallMs} ms`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
  }, 170_000)
})
