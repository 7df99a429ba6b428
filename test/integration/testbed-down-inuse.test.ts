// `testbed down --all` cleans up leftovers, not runs in progress: with a `scale --testbed veth`
// running (its testbed recorded with the scale process as a run's owner), a testbed whose holder
// was killed with SIGKILL and a detached `testbed up` holder are removed, while the scale's testbed
// is named in one line and left; the sweep then ends as it would have (exit 0, complete). `down
// NAME` of that testbed, and `rr --testbed NAME` against it, are refused with exit 12; `down NAME
// --force` stops the run and removes it.
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {netnsExists} from '../../src/host/netns.js'
import {loadResults} from '../../src/results/load.js'
import {readRecords, type TestbedRecord} from '../../src/testbed/registry.js'
import {mqbench, startMqbench, upDetached} from '../helpers/mqbench-cli.js'
import {leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-downinuse-'))
const names: string[] = []
afterAll(async () => {
  for (const n of names) await mqbench(['testbed', 'down', n, '--force'])
  rmSync(out, {recursive: true, force: true})
})

/** A short veth sweep: 1 queue, 1 TCP_RR session, for `secs` seconds. */
const scale = (secs: number, dir: string) =>
  startMqbench([
    'scale',
    '--testbed',
    'veth',
    '--queues',
    '1',
    '--workload',
    'rr',
    '--sessions',
    '1',
    '--duration',
    `${secs}s`,
    '--warmup',
    '0.2s',
    '--iterations',
    '1',
    '--out',
    dir,
    '--no-report',
  ])

/** The complete record (objects named) that process `pid` holds, once it is written. */
async function recordOf(pid: number): Promise<TestbedRecord> {
  for (let i = 0; i < 200; i++) {
    const rec = readRecords().find((r) => r.pid === pid && r.nsA !== '')
    if (rec) return rec
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no testbed record of process ${pid} within 10 s`)
}

async function detachedVeth(name: string): Promise<number> {
  names.push(name)
  const up = await upDetached(name, 'veth', 1)
  expect(up.status, up.stderr).toBe(0)
  return (JSON.parse(up.stdout) as TestbedRecord).pid
}

describeNet('testbed down and a run in progress', () => {
  it('down --all removes a stale testbed and a detached holder, and leaves a running scale its testbed', async () => {
    const tag = uniqueTag().slice(0, 4)
    const stale = `k${tag}`
    const held = `h${tag}`
    const killed = await detachedVeth(stale)
    process.kill(killed, 'SIGKILL')
    const holder = await detachedVeth(held)

    const dir = join(out, 'run')
    const sweep = scale(8, dir)
    const rec = await recordOf(sweep.child.pid!)
    names.push(rec.name)
    expect(rec.owner).toMatchObject({command: 'mqbench scale', holder: false})

    const list = await mqbench(['testbed', 'list'])
    expect(list.stdout).toContain(`(in use by mqbench scale (pid ${rec.pid}))`)
    expect(list.stdout).toMatch(new RegExp(`${stale} .*stale: process ${killed} is gone`))

    const one = await mqbench(['testbed', 'down', rec.name])
    expect(one.status).toBe(12)
    expect(one.stderr.trim()).toBe(
      `mqbench: testbed ${rec.name} is in use by mqbench scale (pid ${rec.pid}); stop that run, or add --force`,
    )

    // nor does another command's load land in the run's figures
    const rr = await mqbench(['rr', '--testbed', rec.name, '--duration', '1s'])
    expect(rr.status).toBe(12)
    expect(rr.stderr.trim()).toBe(
      `mqbench: testbed ${rec.name} is in use by mqbench scale (pid ${rec.pid}) for its own run; hold one of your own with \`mqbench testbed up NAME\``,
    )

    const all = await mqbench(['testbed', 'down', '--all'])
    expect(all.status, all.stderr).toBe(0)
    const lines = all.stdout.trim().split('\n')
    expect(lines).toContain(`testbed ${rec.name} is in use by mqbench scale (pid ${rec.pid}); not removed`)
    expect(lines[0]).toContain(`testbed ${held} (its process ${holder} stopped and cleaned up)`)
    expect(lines[0]).toContain(`mqb-${stale}-a`)
    expect(leftovers(`mqb-${stale}-`)).toEqual([])
    expect(leftovers(`mqb-${held}-`)).toEqual([])
    expect(readRecords().map((r) => r.name)).not.toContain(stale)
    expect(readRecords().map((r) => r.name)).not.toContain(held)
    // the run's testbed is untouched while it measures
    expect(netnsExists(rec.nsA) && netnsExists(rec.nsB)).toBe(true)
    expect(readRecords().find((r) => r.name === rec.name)?.pid).toBe(rec.pid)

    const ended = await sweep.done
    expect(ended.status, ended.stderr).toBe(0)
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'))
    const results = loadResults(join(dir, file))
    expect(results.run.status).toBe('complete')
    expect(results.steps.map((s) => s.queueCount)).toEqual([1])
    expect(leftovers(`mqb-${rec.name}-`)).toEqual([])
    expect(readRecords().map((r) => r.name)).not.toContain(rec.name)
  }, 90_000)

  it('down NAME --force stops the run that uses the testbed and removes it', async () => {
    const sweep = scale(30, join(out, 'forced'))
    const rec = await recordOf(sweep.child.pid!)
    names.push(rec.name)
    const down = await mqbench(['testbed', 'down', rec.name, '--force', '--json'])
    expect(down.status, down.stderr).toBe(0)
    expect((JSON.parse(down.stdout) as {removed: string[]}).removed.join(' ')).toContain(
      `testbed ${rec.name} (its process ${rec.pid} stopped and cleaned up)`,
    )
    const ended = await sweep.done
    expect(ended.status).toBe(130)
    expect(leftovers(`mqb-${rec.name}-`)).toEqual([])
    expect(readRecords().map((r) => r.name)).not.toContain(rec.name)
  }, 60_000)
})
