// check --testbed vm as the CLI runs it, under TCG with 2 queues: the whole default plan, its
// JSON on stdout equal to the results file it wrote (which its own validator takes), every check
// PASS, the page renders, and nothing of any guest stays. Then the checks FAIL when they should:
// a guest booted with scarce vectors (one shared interrupt) fails the mq interrupt check, a link
// left down by set_link fails the carrier-up and traffic checks, and a TX timeout in the guest's
// kernel log during the stress fails its health check with the line quoted.
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, expect, it} from 'vitest'
import {makeMqCase} from '../../src/check/vm/cases/mq.js'
import {makeSetLinkCase} from '../../src/check/vm/cases/set-link.js'
import {stressCase} from '../../src/check/vm/cases/stress.js'
import {runVmPlan, selectCases} from '../../src/check/vm/plan.js'
import type {VmCase} from '../../src/check/vm/types.js'
import {loadAnyResults} from '../../src/results/plan.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {checksById as byId, guestNames, nothingLeft, PLAN_2Q} from '../helpers/vm-plan.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-plan-'))

describeNet('check --testbed vm: the default plan', () => {
  afterAll(() => {
    cleanup.runAll()
    rmSync(out, {recursive: true, force: true})
  })

  it('runs every default case from the CLI, none FAILs, the JSON is the results file, nothing left', async () => {
    const t0 = performance.now()
    const r = await mqbench([
      'check',
      '--testbed',
      'vm',
      '--queues',
      '2',
      '--vcpus',
      '2',
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
    expect(plan.command).toMatch(/^mqbench check --testbed vm /)
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
    const page = await mqbench(['report', join(out, files[0]), '-o', join(out, 'plan.html')])
    expect(page.status, page.stderr).toBe(0)
    nothingLeft(plan.cases.flatMap(guestNames))
    console.log(
      `default plan: ${(wall / 1000).toFixed(1)} s from the CLI; ${plan.cases.map((c) => `${c.id} ${(c.wallMs / 1000).toFixed(1)} s`).join(', ')}`,
    )
  }, 240_000)

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
