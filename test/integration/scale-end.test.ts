// Why a sweep ended is recorded, and a Ctrl-C that comes after the last iteration does not turn
// a complete run into exit 130 (issue 10 case 8).
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import {startMqbench} from '../helpers/mqbench-cli.js'
import {describeNet} from '../helpers/privileges.js'
import {serverChildren} from '../helpers/server-children.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-end-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))
const args = (dir: string) => [
  'scale',
  ...['--queues', '1..2', '--testbed', 'veth', '--duration', '0.5s', '--warmup', '0.1s'],
  ...['--iterations', '1', '--sessions', '2', '--out', dir],
]

describeNet('how a sweep ends', () => {
  it('exits 0 with a complete file when SIGINT comes right after the last iteration', async () => {
    const dir = join(out, 'late')
    let sent = false
    const {done} = startMqbench(args(dir), (stderr, child) => {
      // the progress line of the last iteration is written once it is measured
      if (!sent && /2 queues, iteration 1\/1/.test(stderr)) {
        sent = true
        child.kill('SIGINT')
      }
    })
    const r = await done
    expect(sent).toBe(true)
    expect(r.status, r.stderr).toBe(0)
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'))
    const results = loadResults(join(dir, file))
    expect(results.run.status).toBe('complete')
    expect(results.run.endReason).toMatch(/^all 2 steps measured/)
  })

  it('records who interrupted a run and what it kept', async () => {
    const dir = join(out, 'early')
    let sent = false
    const {done} = startMqbench(args(dir), (stderr, child) => {
      if (!sent && /1 queue, iteration 1\/1/.test(stderr)) {
        sent = true
        child.kill('SIGINT')
      }
    })
    const r = await done
    expect(r.status, r.stderr).toBe(130)
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'))
    const results = loadResults(join(dir, file))
    expect(results.run.status).toBe('interrupted')
    expect(results.run.endReason).toMatch(/^interrupted by SIGINT after [01] of 2 steps$/)
    // The sweep's server ran in a process of its own (src/sessions/server-process.ts): gone too.
    expect(serverChildren()).toEqual([])
  })
})
