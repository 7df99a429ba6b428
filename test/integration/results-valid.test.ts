// Every results file mqbench writes passes its own validator (issue 10 case 1): one short sweep
// of each workload on each testbed kind this machine can make, each file loaded back as
// `report`, `scale --resume` and `tune --from` load it. (The dev testbed needs a real multiqueue
// device and a remote server; its results have the same shapes as veth's.)
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {describeNet} from '../helpers/privileges.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-valid-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))

const TESTBEDS = ['tap', 'veth'] as const
const WORKLOADS = ['rr', 'crr', 'udp_rr', 'stream', 'gen'] as const

describeNet('results files of every workload on every testbed kind', () => {
  for (const testbed of TESTBEDS)
    for (const workload of WORKLOADS)
      it(`${workload} on ${testbed}`, {timeout: 60_000}, async () => {
        const dir = join(out, `${testbed}-${workload}`)
        const r = await mqbench([
          'scale',
          ...['--queues', '1..2', '--testbed', testbed, '--workload', workload],
          ...['--duration', '0.3s', '--warmup', '0.1s', '--iterations', '1', '--sessions', '2'],
          ...['--out', dir, '--no-report'],
        ])
        expect(r.status, r.stderr).toBe(0)
        const files = readdirSync(dir).filter((f) => f.endsWith('.json'))
        expect(files).toHaveLength(1)
        const results = loadResults(join(dir, files[0]))
        expect(results.run.status).toBe('complete')
        expect(results.steps.map((s) => s.queueCount)).toEqual([1, 2])
        expect(results.steps[0].iterations[0].result.workload).toBe(workload.replace(/^(crr|udp_rr)$/, 'rr'))
        // what report reads and renders
        const report = await mqbench(['report', join(dir, files[0]), '-o', join(dir, 'r.html')])
        expect(report.status, report.stderr).toBe(0)
      })
})
