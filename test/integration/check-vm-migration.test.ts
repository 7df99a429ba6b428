// check vm, case migration, under TCG through the plan runner, with its conditions
// broken: a destination of another device model (MSI-X vectors) FAILs the migration and the guest
// stays on the source; a bandwidth the guest out-dirties never converges and is cancelled at the
// bound. The guests are pinned (vCPU 0 on CPU 1, vCPU 1 on CPU 0): each destination's vCPU
// threads, read from /proc while it waits for the migration, are pinned as the source's are. An
// interrupt mid-migration removes both qemus. Nothing of either guest stays (both qemus,
// namespace, both taps, both scratch directories). The good path (the move with a copy and a
// request in flight, N busy queues on the destination) is asserted once, in check-vm-plan.test.ts
// (test/README.md).
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

describeNet('check vm: migration', () => {
  afterAll(() => cleanup.runAll())

  it('another device model FAILs, a stalled migration is cancelled, both destinations pinned as the source', async () => {
    const broken = makeMigrationCase({destination: {vectors: 2 * params.queues + 3}})
    // 1 MB/s against a guest that dirties more (the copy alone writes 6 MiB/s): never converges.
    const stalled = makeMigrationCase({maxBandwidthBytesPerSec: 1_000_000, boundMs: 3000})
    // Each case's qemus, read from /proc as QMP migrate is sent: the destination waits for the
    // stream there, its vCPU threads already pinned.
    let name: string | undefined
    const seen: {source: Record<number, string>; dest: Record<number, string>}[] = []
    const plan = await runVmPlan(params, [broken, stalled], {
      cleanup,
      onPhase: (l) => {
        name = /^migration: destination qemu on tap mqb-(\w+)-m,/.exec(l)?.[1] ?? name
        if (name && l.startsWith('migration: QMP migrate to '))
          seen.push({
            source: vcpuAffinity(vmNames(name).dir),
            dest: vcpuAffinity(`${vmNames(name).dir.replace(/\.vm$/, '')}-mig.vm`),
          })
      },
    })
    const [bad, slow] = plan.cases
    // vCPU i on the (i mod n)-th of --vcpu-cpus, in the source and in the waiting destination
    expect(seen).toEqual([
      {source: {0: '1', 1: '0'}, dest: {0: '1', 1: '0'}},
      {source: {0: '1', 1: '0'}, dest: {0: '1', 1: '0'}},
    ])
    expect(bad.guests[0].vcpuCpus).toEqual([1, 0])
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
      `migration broken run ${bad.wallMs} ms, stalled run ${slow.wallMs} ms; ` +
        `broken: ${b['migrate-completed'].evidence}; ${b.transfer.evidence}; stalled: ${sl['migrate-completed'].evidence}`,
    )
    cleanup.runAll()
    expect(cleanup.failures).toEqual([])
    const names = [...guestNames(bad), ...guestNames(slow)]
    nothingLeft(names)
    for (const n of names) expect(existsSync(`${vmNames(n).dir.replace(/\.vm$/, '')}-mig.vm`)).toBe(false)
  }, 150_000)

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
