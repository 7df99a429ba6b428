// `mqbench scale --queues 1..2` end to end on the tap and veth testbeds: a valid results file,
// both queues carrying traffic at 2 queues and only queue 0 at 1, nothing left behind.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import type {ResultsFile} from '../../src/results/schema.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {mqbench} from '../helpers/mqbench-cli.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-scale-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))

function checkQueues(r: ResultsFile): void {
  expect(r.run.status).toBe('complete')
  expect(r.steps.map((s) => s.queueCount)).toEqual([1, 2])
  for (const step of r.steps) {
    expect(step.iterations).toHaveLength(2)
    expect(step.config.sysfsQueues).toEqual({rx: step.queueCount, tx: step.queueCount})
    for (const it of step.iterations) {
      const carried = it.queues.filter((q) => q.txPackets + q.rxPackets > 0).map((q) => q.queue)
      // 16 fresh connections per iteration: all on one of 2 queues by hash luck is a 1 in 32768 event
      expect(carried, `queues that carried traffic at ${step.queueCount} queue(s)`).toEqual(
        step.queueCount === 1 ? [0] : [0, 1],
      )
      expect(it.cpu.length).toBeGreaterThan(0)
      expect(it.softnet.length).toBeGreaterThan(0)
    }
  }
}

describeNet('mqbench scale', () => {
  for (const [testbed, source] of [
    ['tap', 'relay'],
    ['veth', 'ethtool'],
  ] as const) {
    it(`sweeps 1..2 queues on the ${testbed} testbed`, async () => {
      const r = await mqbench([
        'scale',
        '--queues',
        '1..2',
        '--testbed',
        testbed,
        '--duration',
        '1s',
        '--warmup',
        '0.3s',
        '--iterations',
        '2',
        '--sessions',
        '16',
        '--out',
        join(out, testbed),
        '--no-report',
        '--json',
      ])
      expect(r.status, r.stderr).toBe(0)
      const json = JSON.parse(r.stdout)
      expect(json.status).toBe('complete')
      expect(json.summary.steps.map((s: {queueCount: number}) => s.queueCount)).toEqual([1, 2])
      const results = loadResults(json.resultsFile)
      checkQueues(results)
      expect(results.steps[1].iterations[0].queues.every((q) => q.source === source)).toBe(true)
      expect(results.steps[0].iterations[0].result.workload).toBe('rr')
      expect(leftovers(results.config.testbed.name)).toEqual([])
    })
  }

  it("gives the server it starts the session count (above a server's default of 1000)", async () => {
    const r = await mqbench([
      'scale',
      '--queues',
      '1',
      '--testbed',
      'veth',
      '--duration',
      '1s',
      '--warmup',
      '0.3s',
      '--iterations',
      '1',
      '--sessions',
      '1001',
      '--out',
      join(out, 'many'),
      '--no-report',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const results = loadResults(JSON.parse(r.stdout).resultsFile)
    expect(results.run.status).toBe('complete')
    expect(results.config.sessions).toBe(1001)
    expect(leftovers(results.config.testbed.name)).toEqual([])
  })

  it('rejects a queue count above the maximum with the maximum', async () => {
    const r = await mqbench(['scale', '--queues', '1,300', '--out', join(out, 'bad')])
    expect(r.status).toBe(3)
    expect(r.stderr).toMatch(/above the maximum of 256/)
  })
})
