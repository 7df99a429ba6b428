// The pure parts of the migration case: query-migrate's answer as figures, the poll that ends at
// completion, failure or a bound (then cancels), and the destination's qemu arguments.
import {describe, expect, it} from 'vitest'
import {describeMigration, parseQueryMigrate, pollMigration} from '../../src/vm/migration.js'
import {qemuArgs, type GuestConfig} from '../../src/vm/qemu-args.js'

// qemu 7.2's answer after a local migration of a 512 MiB TCG guest (shape of MigrationInfo).
const completed = {
  blocked: false,
  'expected-downtime': 300,
  status: 'completed',
  'setup-time': 2,
  'total-time': 912,
  ram: {
    total: 537403392,
    'postcopy-requests': 0,
    'dirty-sync-count': 3,
    'multifd-bytes': 0,
    'pages-per-second': 31000,
    'downtime-bytes': 1345678,
    'page-size': 4096,
    remaining: 0,
    'postcopy-bytes': 0,
    mbps: 1000.2,
    transferred: 114381220,
    'precopy-bytes': 113035542,
    duplicate: 103000,
    'dirty-pages-rate': 0,
    skipped: 0,
    'normal-bytes': 112300000,
    normal: 27417,
  },
  downtime: 41,
}

describe('query-migrate', () => {
  it('reads status, times and bytes of a completed migration', () => {
    expect(parseQueryMigrate(completed)).toEqual({
      status: 'completed',
      totalMs: 912,
      downtimeMs: 41,
      setupMs: 2,
      expectedDowntimeMs: 300,
      transferredBytes: 114381220,
      ramTotalBytes: 537403392,
      ramRemainingBytes: 0,
      dirtySyncCount: 3,
    })
    expect(describeMigration(parseQueryMigrate(completed))).toBe(
      'completed, total 912 ms, downtime 41 ms, 114.4 MB transferred, 3 dirty syncs',
    )
  })

  it('keeps a failure reason and tolerates missing or foreign fields', () => {
    expect(
      parseQueryMigrate({status: 'failed', 'error-desc': 'Unable to write to socket: Broken pipe'}),
    ).toEqual({
      status: 'failed',
      error: 'Unable to write to socket: Broken pipe',
    })
    expect(parseQueryMigrate({})).toEqual({status: 'none'})
    expect(parseQueryMigrate(null)).toEqual({status: 'none'})
    expect(
      parseQueryMigrate({status: 'active', 'total-time': 'x', ram: {transferred: 5, remaining: 7e6}}),
    ).toEqual({
      status: 'active',
      transferredBytes: 5,
      ramRemainingBytes: 7e6,
    })
    expect(describeMigration({status: 'active', ramRemainingBytes: 7e6})).toBe('active, 7.0 MB remaining')
  })
})

/** A scripted QMP that answers query-migrate from a list and records the commands. */
function scripted(states: Array<Record<string, unknown>>) {
  const seen: string[] = []
  let i = 0
  return {
    seen,
    qmp: {
      execute: async <T>(cmd: string): Promise<T> => {
        seen.push(cmd)
        if (cmd === 'query-migrate') return states[Math.min(i++, states.length - 1)] as T
        return {} as T
      },
    },
  }
}

describe('polling a migration', () => {
  it('ends at completed with the final figures', async () => {
    const s = scripted([{status: 'setup'}, {status: 'active', ram: {remaining: 1}}, completed])
    const r = await pollMigration(s.qmp, {boundMs: 5000, intervalMs: 1})
    expect(r).toMatchObject({timedOut: false, polls: 3, figures: {status: 'completed', downtimeMs: 41}})
    expect(s.seen).not.toContain('migrate_cancel')
  })

  it('ends at failed', async () => {
    const s = scripted([{status: 'active'}, {status: 'failed', 'error-desc': 'load of migration failed'}])
    expect((await pollMigration(s.qmp, {boundMs: 5000, intervalMs: 1})).figures).toEqual({
      status: 'failed',
      error: 'load of migration failed',
    })
  })

  it('cancels a migration that never converges at the bound, with what query-migrate said last', async () => {
    const s = scripted([
      {status: 'active', 'expected-downtime': 9000, ram: {remaining: 5e8, 'dirty-sync-count': 40}},
    ])
    const r = await pollMigration(s.qmp, {boundMs: 30, intervalMs: 5})
    expect(r.timedOut).toBe(true)
    expect(r.figures).toMatchObject({status: 'active', ramRemainingBytes: 5e8, dirtySyncCount: 40})
    expect(s.seen.at(-1)).toBe('migrate_cancel')
  })
})

describe('the destination qemu', () => {
  const base: GuestConfig = {
    name: 'g1',
    kernel: '/boot/vmlinuz',
    initrd: '/cache/x.cpio',
    append: ['mqb.ip=198.18.7.2/24'],
    accel: 'tcg',
    vcpus: 2,
    memoryMiB: 512,
    queues: 2,
    tap: 'mqb-g1-t',
    mac: '52:54:00:01:02:03',
    vhost: false,
    dir: '/run/mqbench/testbeds/g1.vm',
  }
  it('has the source device model with its own tap and sockets, and waits on -incoming', () => {
    const src = qemuArgs(base)
    const dst = qemuArgs({
      ...base,
      tap: 'mqb-g1-m',
      dir: '/run/mqbench/testbeds/g1-mig.vm',
      incoming: 'unix:/x/m.sock',
    })
    expect(src).not.toContain('-incoming')
    expect(dst.slice(-2)).toEqual(['-incoming', 'unix:/x/m.sock'])
    const norm = (a: string[]) =>
      a.slice(0, src.length).map((x) => x.replaceAll('mqb-g1-m', 'mqb-g1-t').replaceAll('g1-mig.vm', 'g1.vm'))
    expect(norm(dst)).toEqual(src)
  })
})
