// check vm as the CLI runs it, under TCG with 2 queues on 2 pinned vCPUs: the whole
// default plan, its JSON on stdout equal to the results file it wrote (which its own validator
// takes), every check PASS with the evidence each case's good path must show, the page renders,
// and nothing of any guest stays. This file owns the good path of every default-set case
// (test/README.md); the cases' own files keep only their broken variants. Then the checks FAIL
// when they should: a guest booted with scarce vectors (one shared interrupt) fails the mq
// interrupt check, a link left down by set_link fails the carrier-up and traffic checks, and a TX
// timeout in the guest's kernel log during the stress fails its health check with the line quoted.
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, expect, it} from 'vitest'
import {makeMqCase} from '../../src/check/vm/cases/mq.js'
import {makeSetLinkCase} from '../../src/check/vm/cases/set-link.js'
import {stressCase} from '../../src/check/vm/cases/stress.js'
import {runVmPlan, selectCases} from '../../src/check/vm/plan.js'
import type {CaseReport, VmCase} from '../../src/check/vm/types.js'
import {loadAnyResults} from '../../src/results/plan.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q} from '../helpers/vm-plan.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-plan-'))
const statuses = (r: CaseReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]))

/**
 * What each default case's good path shows beyond "no FAIL": the checks it made, in order, and
 * the evidence they quote. The broken variants in each case's own file FAIL the same checks.
 */
function goodPaths(cases: CaseReport[]): void {
  const get = (id: string) => {
    const c = cases.find((x) => x.id === id)
    if (!c) throw new Error(`no ${id} case in the plan`)
    expect(c.error, `${id}: ${c.error}`).toBeUndefined()
    return {report: c, checks: byId(c)}
  }
  // migration (its broken variants: check-vm-migration.test.ts)
  const mig = get('migration')
  for (const c of mig.report.checks) expect(c.status, `migration ${c.id}: ${c.evidence}`).toBe('PASS')
  expect(Object.keys(mig.checks)).toEqual([
    'source-queues',
    'migrate-completed',
    'transfer',
    'dest-gone',
    'dest-once',
    'dest-pinned',
    'dest-queues',
    'rr-sessions',
    'irq-per-queue',
    'ethtool-per-queue',
    'kernel-log',
  ])
  expect(mig.checks['migrate-completed'].evidence).toMatch(
    /^completed, total \d+ ms, downtime \d+ ms, [\d.]+ MB transferred/,
  )
  expect(mig.checks['dest-queues'].evidence).toMatch(
    /combined 2, sysfs rx 2 \/ tx 2, tap mqb-\w+-m 2 attached, 0 detached/,
  )
  expect(mig.checks['dest-once'].evidence).toMatch(/answered \(status 0\) after the move, 1 line/)
  // vCPU i on the (i mod n)-th of --vcpu-cpus, in the source and, after the move, in the destination
  expect(mig.checks['dest-pinned'].evidence).toMatch(
    /^source: vCPU 0 \(tid \d+\) on 1, vCPU 1 \(tid \d+\) on 0; destination pid \d+: vCPU 0 \(tid \d+\) on 1, vCPU 1 \(tid \d+\) on 0$/,
  )
  expect(mig.report.figures!.numbers!.vcpuPlacementDestination).toMatch(/^vCPU 0 \(tid \d+\) on 1, vCPU 1/)
  expect(mig.report.guests[0].vcpuCpus).toEqual([1, 0])
  expect(mig.checks['irq-per-queue'].evidence).toMatch(/virtio\d+-input\.1 \+\d+/)
  const t = mig.report.figures!.timeline!
  expect(t.totalMs).toBeGreaterThan(0)
  expect(t.transferredBytes).toBeGreaterThan(0)
  expect(t.events.map((e) => e.label)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^migrate to unix:/),
      'query-migrate: completed',
      'destination running',
      'agent request in flight answered',
      'copy ended',
    ]),
  )
  expect(mig.report.figures!.loads![0].interrupts!.length).toBeGreaterThanOrEqual(4)

  // hotplug (its broken variant: check-vm-hotplug.test.ts)
  const hp = get('hotplug')
  expect(Object.keys(hp.checks)).toEqual([
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
  for (const c of hp.report.checks) expect(c.status, `hotplug ${c.id}: ${c.evidence}`).toBe('PASS')
  expect(hp.report.figures?.loads?.[0].interrupts?.length).toBeGreaterThanOrEqual(4)
  expect(hp.checks['plug-queues'].evidence).toMatch(
    /combined 2, sysfs rx 2 \/ tx 2, tap mqb-\w+-p 2 attached, 0 detached/,
  )
  expect(hp.checks['irq-per-queue'].evidence).toMatch(/virtio\d+-input\.0 \+\d+.*virtio\d+-input\.1 \+\d+/)
  expect(hp.checks['irq-per-queue'].evidence).toMatch(/virtio\d+-output\.1 \+\d+/)
  expect(hp.report.figures?.numbers?.deletedMs).toBeGreaterThan(0)

  // gen (its broken variant: check-vm-gen.test.ts)
  const gen = get('gen')
  for (const c of gen.report.checks) expect(c.status, `gen ${c.id}: ${c.evidence}`).toBe('PASS')
  expect(Object.keys(gen.checks)).toEqual([
    'from-guest-queues',
    'from-guest-host',
    'to-guest-queues',
    'pktgen',
    'kernel-log',
  ])
  expect(gen.checks['from-guest-queues'].evidence).toMatch(/^tx0 \+\d+ \(\d+ pps\), tx1 \+\d+ \(\d+ pps\)$/)
  expect(gen.checks['to-guest-queues'].evidence).toMatch(
    /^rx0 [1-9]\d* \(\d+ pps\), rx1 [1-9]\d* \(\d+ pps\); \d+ of \d+ sent/,
  )
  expect(gen.checks.pktgen.evidence).toMatch(
    /^q0 [1-9]\d* \(\d+ pps, tx_queue \+\d+\), q1 [1-9]\d* .*host tap received \d+ of \d+/,
  )
  // each load's rate per guest queue, in its direction: the senders' and pktgen's TX, the flows' RX
  expect(gen.report.figures?.loads?.map((l) => l.queueRates?.map((q) => `${q.direction}${q.queue}`))).toEqual(
    [
      ['tx0', 'tx1'],
      ['rx0', 'rx1'],
      ['tx0', 'tx1'],
    ],
  )
  for (const l of gen.report.figures!.loads!) {
    expect(l.packetsPerSecond, l.label).toEqual(expect.any(Number))
    for (const q of l.queueRates!) expect(q.pps, l.label).toBeGreaterThan(0)
  }

  // tp-qemu's default set (their broken variants: check-vm-tpqemu.test.ts)
  for (const id of ['default_state', 'vectors', 'negative', 'churn', 'affinity'])
    for (const c of get(id).report.checks) expect(c.status, `${id} ${c.id}: ${c.evidence}`).toBe('PASS')
  const ds = get('default_state').checks
  expect(ds['current-combined'].evidence).toMatch(/enabled 2 at probe/)
  expect(ds['max-combined'].evidence).toBe('max combined 4')
  const vec = get('vectors').checks
  expect(vec['msix-table'].evidence).toMatch(/MSI-X table size 6 /)
  expect(vec['msi-allocated'].evidence).toMatch(/^5 entries/)
  expect(vec['scarce-shared'].evidence).toMatch(/virtio\d+-virtqueues/)
  expect(vec['scarce-detected'].evidence).toMatch(/FAILed as it should/)
  expect(vec.intx.evidence).toMatch(/IO-APIC lines: \d+ /)
  expect(Object.keys(get('negative').checks)).toEqual(['above-max', 'zero', 'same-value'])
  expect(statuses(get('churn').report)).toEqual({
    changes: 'PASS',
    'rr-stalls': 'PASS',
    stream: 'PASS',
    loss: 'PASS',
    'kernel-log': 'PASS',
  })
  expect(statuses(get('affinity').report)).toEqual({
    'irq-affinity': 'PASS',
    xps: 'PASS',
    'flow-txq': 'PASS',
    'flow-irq': 'PASS',
  })
  expect(statuses(get('mq_off').report)).toMatchObject({
    'one-pair': 'PASS',
    'irq-spread': 'N/A',
    churn: 'N/A',
  })
}

describeNet('check vm: the default plan', () => {
  afterAll(() => {
    cleanup.runAll()
    rmSync(out, {recursive: true, force: true})
  })

  it('runs every default case from the CLI, none FAILs, the JSON is the results file, nothing left', async () => {
    const t0 = performance.now()
    // vCPU 0 on CPU 1, vCPU 1 on CPU 0: the migration's destination must be pinned as its source.
    const r = await mqbench([
      'check',
      'vm',
      '--queues',
      '2',
      '--vcpus',
      '2',
      '--vcpu-cpus',
      '1,0',
      '--duration',
      '2s',
      '--out',
      out,
      '--json',
    ])
    const wall = performance.now() - t0
    expect(r.status, r.stderr).toBe(0)
    const printed = JSON.parse(r.stdout)
    const files = readdirSync(out)
    expect(files).toHaveLength(1)
    expect(r.stderr).toContain(`wrote ${join(out, files[0])}`)
    const loaded = loadAnyResults(join(out, files[0]))
    if (loaded.kind !== 'plan') throw new Error('not a plan file')
    const plan = loaded.plan
    expect(plan).toEqual(printed)
    // The command that reproduces the run, subcommand included.
    expect(plan.command).toMatch(/^mqbench check vm /)
    expect(plan.cases.map((c) => c.id)).toEqual(selectCases(undefined, false).map((c) => c.id))
    // No check FAILs; N/A only where a case says why (mq_off has one queue pair to compare).
    for (const c of plan.cases)
      for (const k of c.checks) {
        expect(k.status, `${c.id}/${k.id}: ${k.evidence}`).not.toBe('FAIL')
        if (['boot', 'mq', 'set_link', 'stress'].includes(c.id))
          expect(k.status, `${c.id}/${k.id}: ${k.evidence}`).toBe('PASS')
      }
    expect(plan.failed).toBe(0)
    expect(plan.functionalOnly).toBe(plan.cases.some((c) => c.guests.some((g) => g.accel === 'tcg')))
    const mq = plan.cases.find((c) => c.id === 'mq')!
    expect(mq.figures?.loads?.map((l) => [l.sessions, l.queues])).toEqual([
      [20, 2],
      [4, 1],
    ])
    expect(
      plan.cases.find((c) => c.id === 'set_link')!.figures?.timeline?.events.length,
    ).toBeGreaterThanOrEqual(4)
    goodPaths(plan.cases)
    const page = await mqbench(['report', join(out, files[0]), '-o', join(out, 'plan.html')])
    expect(page.status, page.stderr).toBe(0)
    nothingLeft(plan.cases.flatMap(guestNames))
    console.log(
      `default plan: ${(wall / 1000).toFixed(1)} s from the CLI; ${plan.cases.map((c) => `${c.id} ${(c.wallMs / 1000).toFixed(1)} s`).join(', ')}`,
    )
  }, 300_000)

  it('FAILs with scarce vectors, a link left down, and a TX timeout in the kernel log', async () => {
    const params = PLAN_2Q
    // The stress case as it is, with a NETDEV WATCHDOG line put into the guest's kernel log
    // (/dev/kmsg) while its load runs: the health check must find it.
    const line = 'NETDEV WATCHDOG: eth0 (virtio_net): transmit queue 1 timed out 5120 ms'
    const injected: VmCase = {
      ...stressCase,
      async run(ctx) {
        const bed = await ctx.shared()
        const running = stressCase.run(ctx)
        await sleep(1000)
        await bed.guest.agent.request('exec', {argv: ['sh', '-c', `echo '<4>${line}' > /dev/kmsg`]})
        return running
      },
    }
    const plan = await runVmPlan(
      params,
      [makeMqCase({guest: {vectors: 3}}), makeSetLinkCase({leaveDown: true}), injected],
      {cleanup},
    )
    const [mq, link, stress] = plan.cases
    const m = byId(mq)
    expect(m['irq-per-queue'], m['irq-per-queue']?.evidence).toMatchObject({status: 'FAIL'})
    expect(m['irq-per-queue'].evidence).toMatch(/no per-queue lines: all queues share virtio\d+-virtqueues/)
    expect(m['channels'].status).toBe('PASS')
    const l = byId(link)
    expect(l['down'].status, l['down'].evidence).toBe('PASS')
    expect(l['down-traffic'].status, l['down-traffic'].evidence).toBe('PASS')
    expect(l['up']).toMatchObject({status: 'FAIL'})
    expect(l['up'].evidence).toMatch(/^carrier 0, operstate down after 5 s/)
    expect(l['up-traffic'].status).toBe('FAIL')
    const s = byId(stress)
    expect(s['kernel-log']).toMatchObject({status: 'FAIL'})
    expect(s['kernel-log'].evidence).toContain(`tx-timeout: "${line}" (dmesg)`)
    // the link was set up again when set_link ended: the stress load itself ran
    expect(s['rr-ran'].status, s['rr-ran'].evidence).toBe('PASS')
    expect(stress.figures?.kernelLog).toEqual([{kind: 'tx-timeout', line, source: 'dmesg'}])
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft(plan.cases.flatMap(guestNames))
    console.log(
      `failing cases: ${plan.cases.map((c) => `${c.id} ${(c.wallMs / 1000).toFixed(1)} s`).join(', ')}`,
    )
  }, 180_000)
})
