// scale --resume after kill -9, without `testbed down` first (issue 22 point 5): the killed run's
// testbed is still there, a process still runs in one of its namespaces (as a killed vm run's
// guest does in mqb-NAME-h); `testbed list` calls it stale and nothing else, and the resume
// removes it before it creates its own, saying so, and leaves nothing at the end.
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import {mqbench, startMqbench} from '../helpers/mqbench-cli.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-resume-stale-'))
let squatter: ChildProcess | undefined
afterAll(() => {
  squatter?.kill('SIGKILL')
  rmSync(out, {recursive: true, force: true})
})

describeNet('scale --resume after kill -9, nothing removed in between', () => {
  it("removes the killed run's testbed first and says so", async () => {
    let killed = false
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
        '0s',
        '--iterations',
        '1',
        '--sessions',
        '4',
        '--out',
        out,
        '--no-report',
      ],
      (stderr, child) => {
        if (!killed && /step 2\/2: 2 queues/.test(stderr)) {
          killed = true
          child.kill('SIGKILL')
        }
      },
    )
    expect((await done).signal).toBe('SIGKILL')
    const [file] = readdirSync(out).filter((f) => f.endsWith('.json'))
    const path = join(out, file)
    const name = loadResults(path).config.testbed.name
    const ns = `mqb-${name}-b`

    // A process left running in the dead testbed's namespace, as a killed run's guest is.
    squatter = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], {stdio: 'ignore'})
    await new Promise((r) => setTimeout(r, 300))
    const list = JSON.parse((await mqbench(['testbed', 'list', '--json'])).stdout)
    expect(list.testbeds.find((t: {name: string}) => t.name === name)?.alive).toBe(false)
    expect(list.stale).toContain(ns)
    expect(list.inUse).not.toContain(ns)
    const text = (await mqbench(['testbed', 'list'])).stdout
    expect(text).toMatch(new RegExp(`stale mqb- objects: .*${ns}`))
    expect(text).not.toMatch(new RegExp(`in use by running processes.*${ns}`))

    const resumed = await mqbench(['scale', '--resume', path, '--no-report'])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(resumed.stderr).toMatch(
      new RegExp(`^mqbench: removed testbed ${name} that the stopped run left \\(.*${ns}.*\\)$`, 'm'),
    )
    expect(loadResults(path).run.status).toBe('complete')
    expect(leftovers(name)).toEqual([])
  }, 120_000)
})
