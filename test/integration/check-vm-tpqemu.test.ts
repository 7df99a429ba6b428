// check vm, tp-qemu's default-set cases under TCG through the plan runner, each with its
// condition broken (mq=off where queues are expected, scarce vectors where 2N+2 are expected, a
// guest with more queues than the plan gave, the link cut in the middle of the churn, XPS crossed,
// mq=on where mq=off is expected), each of which must FAIL, in one plan so that the variants on
// the default guest share its boot. Their good paths are asserted once, in check-vm-plan.test.ts
// (test/README.md). Nothing of any guest stays (qemu, namespace, taps, scratch directory).
import {afterAll, expect, it} from 'vitest'
import {makeAffinityCase} from '../../src/check/vm/cases/affinity.js'
import {makeChurnCase} from '../../src/check/vm/cases/churn.js'
import {makeDefaultStateCase} from '../../src/check/vm/cases/default-state.js'
import {makeMqOffCase} from '../../src/check/vm/cases/mq-off.js'
import {makeNegativeCase} from '../../src/check/vm/cases/negative.js'
import {makeVectorsCase} from '../../src/check/vm/cases/vectors.js'
import {negativeQemuCase} from '../../src/check/vm/cases/negative-qemu.js'
import {vectorsNomsiCase} from '../../src/check/vm/cases/vectors-nomsi.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import type {CaseReport, PlanParams} from '../../src/check/vm/types.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft} from '../helpers/vm-plan.js'

const params: PlanParams = {
  queues: 2,
  vcpus: 2,
  sessions: 20,
  durationMs: 1500,
  memoryMiB: 512,
  accel: 'auto',
}

const statuses = (r: CaseReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]))

describeNet('check vm: tp-qemu default set', () => {
  afterAll(() => cleanup.runAll())

  it('FAILs each case with its condition broken', async () => {
    const broken = [
      makeDefaultStateCase({mq: false}),
      makeVectorsCase({vectors: (n) => n + 1, scarce: (n) => 2 * n + 2, intx: false}),
      makeNegativeCase({guestQueues: (n) => n + 2}),
      makeChurnCase({
        changes: 16,
        // The link cut for 2.5 s: TCP_RR sessions stall and UDP_RR loses its transactions.
        midway: async (ctx) => {
          const bed = await ctx.shared()
          await bed.guest.qmp.execute('set_link', {name: 'nic0', up: false})
          await new Promise((r) => setTimeout(r, 2500))
          await bed.guest.qmp.execute('set_link', {name: 'nic0', up: true})
        },
      }),
      makeAffinityCase({crossXps: true}),
      makeMqOffCase({mq: true}),
    ]
    const plan = await runVmPlan(params, broken, {
      cleanup,
      onPhase: (l) => console.log(`  ${l}`),
    })
    const times = plan.cases.map((c) => `${c.id} ${c.wallMs} ms`).join(', ')
    console.log(`wall times: ${times}; plan ${plan.wallMs} ms`)
    for (const c of plan.cases)
      console.log(c.id, c.checks.map((k) => `${k.id} ${k.status}: ${k.evidence}`).join('\n   '))
    const [bds, bvec, bneg, bchurn, baff, boff] = plan.cases

    expect(statuses(bds)['max-combined']).toBe('FAIL')
    expect(statuses(bvec)).toMatchObject({
      'msi-allocated': 'FAIL',
      'irq-lines': 'FAIL',
      'scarce-detected': 'FAIL',
    })
    expect(statuses(bneg)['above-max']).toBe('FAIL')
    expect(byId(bneg)['above-max'].evidence).toMatch(/accepted/)
    expect(statuses(bchurn)['rr-stalls']).toBe('FAIL')
    expect(statuses(baff)).toMatchObject({xps: 'FAIL', 'flow-txq': 'FAIL', 'flow-irq': 'FAIL'})
    expect(statuses(boff)).toMatchObject({'one-pair': 'FAIL', 'set-refused': 'FAIL'})

    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
  }, 240_000)

  it('extended: pci=nomsi carries traffic on every queue; qemu refusing queues=0 and 257 is one line, exit 8', async () => {
    const plan = await runVmPlan(params, [vectorsNomsiCase, negativeQemuCase], {cleanup})
    const [nomsi, qemu] = plan.cases
    console.log(`wall times: vectors_nomsi ${nomsi.wallMs} ms, negative_qemu ${qemu.wallMs} ms`)
    expect(statuses(nomsi)).toEqual({
      'nomsi-intx': 'PASS',
      'rr-sessions': 'PASS',
      'irq-per-queue': 'N/A',
      'ethtool-per-queue': 'PASS',
    })
    expect(byId(nomsi)['ethtool-per-queue'].evidence).toMatch(/rx1 packets \+[1-9]/)
    expect(statuses(qemu)).toEqual({'queues-0': 'PASS', 'queues-over-tap': 'PASS'})
    expect(byId(qemu)['queues-over-tap'].evidence).toMatch(
      /^exit 8, one line: .*could not configure \/dev\/net\/tun/,
    )
    // the refused boots registered no guest: what they made was undone when qemu exited
    expect(cleanup.pending).toEqual([])
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
  }, 120_000)
})
