// check --testbed vm, case migration, under TCG through the plan runner: a destination qemu on its
// own tap, multiqueue on in the source, a checksummed copy and an agent request in flight across
// QMP migrate; the destination keeps N queues, each carrying traffic, and the source qemu is gone.
// The guests are pinned (vCPU 0 on CPU 1, vCPU 1 on CPU 0): the destination's vCPU threads, read
// from /proc while the case runs there, are pinned as the source's were.
// The same case with a destination of another device model (MSI-X vectors) FAILs the migration;
// nothing of either guest stays (both qemus, namespace, both taps, both scratch directories).
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {afterAll, expect, it} from 'vitest'
import {makeMigrationCase, migrationCase} from '../../src/check/vm/cases/migration.js'
import {runVmPlan} from '../../src/check/vm/plan.js'
import type {PlanParams} from '../../src/check/vm/types.js'
import {vmNames} from '../../src/testbed/vm.js'
import {cleanup} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {PLAN_2Q, checksById as byId, guestNames, nothingLeft} from '../helpers/vm-plan.js'

const params: PlanParams = {...PLAN_2Q, vcpuCpus: [1, 0]}

/**
 * The Cpus_allowed_list of each vCPU thread ("CPU K/TCG" or "CPU K/KVM": qemu runs with
 * debug-threads=on) of the qemu whose qemu.json is in `dir`, by vCPU, read straight from /proc.
 */
function vcpuAffinity(dir: string): Record<number, string> {
  const {pid} = JSON.parse(readFileSync(`${dir}/qemu.json`, 'utf8')) as {pid: number}
  const out: Record<number, string> = {}
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const vcpu = /^CPU (\d+)\//.exec(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8'))?.[1]
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
    if (vcpu !== undefined) out[Number(vcpu)] = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)![1]
  }
  return out
}

describeNet('check --testbed vm: migration', () => {
  afterAll(() => cleanup.runAll())

  it('migrates with a copy and a request in flight; the destination keeps N busy queues; another device model FAILs', async () => {
    const broken = makeMigrationCase({destination: {vectors: 2 * params.queues + 3}})
    // 1 MB/s against a guest that dirties more (the copy alone writes 6 MiB/s): never converges.
    const stalled = makeMigrationCase({maxBandwidthBytesPerSec: 1_000_000, boundMs: 3000})
    // The first case's qemus, read from /proc while they run: the source before the migration, the
    // destination once the guest runs there.
    const seen: {name?: string; source?: Record<number, string>; dest?: Record<number, string>} = {}
    const plan = await runVmPlan(params, [migrationCase, broken, stalled], {
      cleanup,
      onPhase: (l) => {
        const name = /^migration: destination qemu on tap mqb-(\w+)-m,/.exec(l)?.[1]
        if (name && !seen.name) {
          seen.name = name
          seen.source = vcpuAffinity(vmNames(name).dir)
        }
        if (l === 'migration: reading the destination' && seen.name && !seen.dest)
          seen.dest = vcpuAffinity(`${vmNames(seen.name).dir.replace(/\.vm$/, '')}-mig.vm`)
      },
    })
    const [good, bad, slow] = plan.cases
    expect(good.error, good.error).toBeUndefined()
    const g = byId(good)
    for (const c of good.checks) expect(c.status, `${c.id}: ${c.evidence}`).toBe('PASS')
    expect(Object.keys(g)).toEqual([
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
    expect(g['migrate-completed'].evidence).toMatch(
      /^completed, total \d+ ms, downtime \d+ ms, [\d.]+ MB transferred/,
    )
    expect(g['dest-queues'].evidence).toMatch(
      /combined 2, sysfs rx 2 \/ tx 2, tap mqb-\w+-m 2 attached, 0 detached/,
    )
    expect(g['dest-once'].evidence).toMatch(/answered \(status 0\) after the move, 1 line/)
    // vCPU i on the (i mod n)-th of --vcpu-cpus, in the source and, after the move, in the destination
    expect(seen.source).toEqual({0: '1', 1: '0'})
    expect(seen.dest).toEqual({0: '1', 1: '0'})
    expect(g['dest-pinned'].evidence).toMatch(
      /^source: vCPU 0 \(tid \d+\) on 1, vCPU 1 \(tid \d+\) on 0; destination pid \d+: vCPU 0 \(tid \d+\) on 1, vCPU 1 \(tid \d+\) on 0$/,
    )
    expect(good.figures!.numbers!.vcpuPlacementDestination).toMatch(/^vCPU 0 \(tid \d+\) on 1, vCPU 1/)
    expect(good.guests[0].vcpuCpus).toEqual([1, 0])
    expect(g['irq-per-queue'].evidence).toMatch(/virtio\d+-input\.1 \+\d+/)
    const t = good.figures!.timeline!
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
    expect(good.figures!.loads![0].interrupts!.length).toBeGreaterThanOrEqual(4)
    // the broken run: the destination's NIC has other MSI-X vectors
    expect(bad.error, bad.error).toBeUndefined()
    const b = byId(bad)
    expect(b['source-queues'].status).toBe('PASS')
    expect(b['migrate-completed']).toMatchObject({status: 'FAIL'})
    // Refused by the destination while loading: the source says failed, or completed (all sent)
    // with the destination gone, and the guest then resumes on the source.
    expect(b['migrate-completed'].evidence).toMatch(/^(failed|completed).*load of migration failed/)
    expect(b['dest-queues'].status).toBe('N/A')
    expect(b['dest-pinned'].status).toBe('N/A')
    expect(bad.figures!.timeline!.events.map((e) => e.label)).toEqual(
      expect.arrayContaining([expect.stringMatching(/the guest stays on the source$/)]),
    )
    expect(b.transfer.status).toBe('PASS')
    const sl = byId(slow)
    expect(slow.error, slow.error).toBeUndefined()
    expect(sl['migrate-completed']).toMatchObject({status: 'FAIL'})
    expect(sl['migrate-completed'].evidence).toMatch(/^active, .*MB remaining.*cancelled at the bound/)
    expect(sl.transfer.status).toBe('PASS')
    expect(sl['dest-queues'].status).toBe('N/A')
    console.log(
      `migration wall time ${good.wallMs} ms (broken run ${bad.wallMs} ms); ` +
        `${g['migrate-completed'].evidence}; ${g.transfer.evidence}; ${g['dest-once'].evidence}; broken: ${b['migrate-completed'].evidence}; ${b.transfer.evidence}; stalled: ${sl['migrate-completed'].evidence}`,
    )
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    const names = [...guestNames(good), ...guestNames(bad), ...guestNames(slow)]
    nothingLeft(names)
    for (const n of names) expect(existsSync(`${vmNames(n).dir.replace(/\.vm$/, '')}-mig.vm`)).toBe(false)
  }, 170_000)

  it('an interrupt during the migration removes both qemus, both taps and both directories', async () => {
    const stop = new AbortController()
    const lines: string[] = []
    const run = runVmPlan(params, [migrationCase], {
      cleanup,
      signal: stop.signal,
      onPhase: (l) => {
        lines.push(l)
        // Mid-migration: the destination listens, the copy runs, migrate was just issued.
        if (l.includes('QMP migrate')) setTimeout(() => stop.abort(), 200)
      },
    })
    await expect(run).rejects.toThrow(/interrupted/)
    const name = lines.map((l) => /on tap mqb-(\w+)-m,/.exec(l)?.[1]).find(Boolean)
    expect(name, lines.join('\n')).toBeDefined()
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    nothingLeft([name!])
    expect(existsSync(`${vmNames(name!).dir.replace(/\.vm$/, '')}-mig.vm`)).toBe(false)
  }, 90_000)
})
