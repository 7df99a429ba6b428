// The extended cases of check vm at small sizes, so that CI runs them too: hotplug
// repeated (2 cycles with stop/cont); 8 queues on 8 vCPUs and the largest count; 3 NICs; then nothing of
// their guests stays; the Fedora mq case and the stress on packed rings, the feature confirmed on every side.
import {afterAll, expect, it} from 'vitest'
import {hotplugRepeatCase} from '../../src/check/vm/cases/hotplug-repeat.js'
import {queuesMaxCase} from '../../src/check/vm/cases/queues-max.js'
import {multiNicCase} from '../../src/check/vm/cases/multi-nic.js'
import {mqPackedCase} from '../../src/check/vm/cases/mq.js'
import {stressPackedCase} from '../../src/check/vm/cases/stress.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q} from '../helpers/vm-plan.js'

describeNet('check vm: extended cases, small', () => {
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

  it('boots 8 queue pairs on 8 vCPUs with load on every queue, and the tap maximum of 256', async () => {
    const plan = await runVmPlan(PLAN_2Q, [queuesMaxCase], {cleanup})
    const [q] = plan.cases
    for (const c of q.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    const c = byId(q)
    expect(c['8q-max-combined'].evidence).toBe('max combined 8, current 8')
    expect(c['8q-to-guest-queues'].evidence).toMatch(/rx7 [1-9]/)
    expect(c['largest-max'].evidence).toMatch(/^max combined 256/)
    expect(c['largest-set'].evidence).toMatch(/^combined 256, sysfs rx 256 \/ tx 256, tap 256 attached/)
    console.log(`queues-max wall time ${q.wallMs} ms`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
  }, 300_000)

  it('runs 3 NICs of 4 queue pairs in one guest, every RX queue of each loaded', async () => {
    const plan = await runVmPlan(PLAN_2Q, [multiNicCase], {cleanup})
    const [m] = plan.cases
    for (const c of m.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    const c = byId(m)
    expect(c.nics.evidence).toMatch(
      /^\S+ eth\d \(tap mqb-\w+-t\), \S+ eth\d \(tap mqb-\w+-t1\), \S+ eth\d \(tap mqb-\w+-t2\)$/,
    )
    for (const dev of ['eth0', 'eth1', 'eth2']) {
      expect(c[`${dev}-set`].evidence).toMatch(/^combined 4; tap \S+ 4 attached, 0 detached$/)
      expect(c[`${dev}-to-guest-queues`].evidence).toMatch(/rx3 [1-9]/)
    }
    expect(m.guests[0].commandLine).toMatch(
      /-device virtio-net-pci,netdev=net2,mac=[0-9a-f:]+,id=nic2,mq=on,vectors=10/,
    )
    console.log(`multi-nic wall time ${m.wallMs} ms`)
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
  }, 200_000)

  it('runs the mq case and the stress on packed rings: VIRTIO_F_RING_PACKED offered, negotiated and in the guest, every queue loaded', async () => {
    const plan = await runVmPlan(PLAN_2Q, [mqPackedCase, stressPackedCase], {cleanup})
    const [p, st] = plan.cases
    expect(st.id).toBe('stress_packed')
    for (const c of st.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    expect(Object.keys(byId(st))).toEqual([
      'packed-negotiated',
      'rr-ran',
      'crr-ran',
      'stream-ran',
      'irq-per-queue',
      'ethtool-per-queue',
      'kernel-log',
    ])
    expect(p.id).toBe('mq_packed')
    for (const c of p.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    const c = byId(p)
    expect(c['packed-negotiated'].evidence).toBe('VIRTIO_F_RING_PACKED on all three sides')
    expect(c['irq-per-queue'].evidence).toMatch(/input\.1 \+[1-9]/)
    const g = p.guests[0]
    expect(g.commandLine).toMatch(/id=nic0,mq=on,vectors=6,packed=on/)
    expect(g.virtio!.negotiated).toContain('VIRTIO_F_RING_PACKED')
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
  }, 180_000)
})
