// A sweep killed with SIGKILL during step 2 leaves a valid journal holding step 1; `testbed
// down --all` removes what the dead run left; `scale --resume` completes the same file.
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import {mqbench, startMqbench} from '../helpers/mqbench-cli.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-resume-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))

describeNet('scale after kill -9', () => {
  it('keeps step 1, cleans up with down --all, and resumes to completion', async () => {
    let killedAt = ''
    const {done} = startMqbench(
      [
        'scale',
        '--queues',
        '1..2',
        '--testbed',
        'veth',
        '--duration',
        '1s',
        '--warmup',
        '0.2s',
        '--iterations',
        '2',
        '--sessions',
        '16',
        '--out',
        out,
        '--no-report',
      ],
      (stderr, child) => {
        // Progress lines (stderr is not a TTY): kill as soon as step 2 has begun measuring.
        if (!killedAt && /step 2\/2: 2 queue/.test(stderr)) {
          killedAt = stderr
          child.kill('SIGKILL')
        }
      },
    )
    const killed = await done
    expect(killed.signal, killed.stderr).toBe('SIGKILL')
    const [file] = readdirSync(out).filter((f) => f.endsWith('.json'))
    const path = join(out, file)
    const partial = loadResults(path)
    expect(partial.run.status).toBe('running')
    expect(partial.steps.map((s) => s.queueCount)).toEqual([1])
    const name = partial.config.testbed.name

    // The dead run's namespaces are still there and listed as stale.
    expect(leftovers(name).length).toBeGreaterThan(0)
    const list = JSON.parse((await mqbench(['testbed', 'list', '--json'])).stdout)
    const rec = list.testbeds.find((t: {name: string}) => t.name === name)
    expect(rec?.alive).toBe(false)
    expect(list.stale).toEqual(expect.arrayContaining([`mqb-${name}-a`, `mqb-${name}-b`]))

    const down = await mqbench(['testbed', 'down', '--all', '--json'])
    expect(down.status, down.stderr).toBe(0)
    expect(JSON.parse(down.stdout).removed).toEqual(
      expect.arrayContaining([`mqb-${name}-a`, `mqb-${name}-b`]),
    )
    expect(leftovers(name)).toEqual([])

    const resumed = await mqbench(['scale', '--resume', path, '--no-report', '--json'])
    expect(resumed.status, resumed.stderr).toBe(0)
    const full = loadResults(path)
    expect(full.run.status).toBe('complete')
    expect(full.steps.map((s) => s.queueCount)).toEqual([1, 2])
    // step 1 is the one recorded before the kill, untouched
    expect(full.steps[0]).toEqual(partial.steps[0])
    expect(full.steps[1].iterations).toHaveLength(2)
    expect(JSON.parse(resumed.stdout).summary.steps).toHaveLength(2)
    const after = JSON.parse((await mqbench(['testbed', 'list', '--json'])).stdout)
    // neither the killed run's testbed nor the resumed run's (r + 4 hex digits) is left
    expect(after.testbeds.map((t: {name: string}) => t.name)).not.toContain(name)
    expect(after.stale.filter((n: string) => n.includes(name) || /^mqb-r[0-9a-f]{4}-[ab]$/.test(n))).toEqual(
      [],
    )
  })

  it('on Ctrl-C abandons the step in progress, marks the journal interrupted and removes the testbed', async () => {
    const dir = join(out, 'int')
    let sent = false
    const {done} = startMqbench(
      [
        'scale',
        '--queues',
        '1..2',
        '--testbed',
        'tap',
        '--duration',
        '1s',
        '--warmup',
        '0.2s',
        '--iterations',
        '2',
        '--sessions',
        '4',
        '--out',
        dir,
        '--no-report',
      ],
      (stderr, child) => {
        if (!sent && /step 2\/2: 2 queue/.test(stderr)) {
          sent = true
          child.kill('SIGINT')
        }
      },
    )
    const r = await done
    expect(r.status, r.stderr).toBe(130)
    expect(r.stderr).toMatch(/interrupted: 1 of 2 steps kept in .*; finish with `mqbench scale --resume /)
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'))
    const results = loadResults(join(dir, file))
    expect(results.run.status).toBe('interrupted')
    expect(results.steps.map((s) => s.queueCount)).toEqual([1])
    expect(leftovers(results.config.testbed.name)).toEqual([])
  })
})
