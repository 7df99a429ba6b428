// `mqbench scale --order alternate` on the veth testbed: a valid results file whose iterations
// were measured in rounds (start times 1,2,1,2 queues, no window overlapping the next), and a
// kill -9 in the middle of round 2 that keeps every finished iteration for --resume to complete,
// and a Ctrl-C that drops only the iteration in progress.
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import type {ResultsFile} from '../../src/results/schema.js'
import {mqbench, startMqbench} from '../helpers/mqbench-cli.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const out = mkdtempSync(join(tmpdir(), 'mqb-alt-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))

const ARGS = [
  'scale',
  '--queues',
  '1..2',
  '--testbed',
  'veth',
  '--order',
  'alternate',
  '--iterations',
  '2',
  '--duration',
  '1s',
  '--warmup',
  '0.3s',
  '--sessions',
  '8',
  '--no-report',
]

const ms = (iso: string) => Date.parse(iso)

/** Every iteration in the order it was measured, as [queue count, iteration index]. */
function measuredOrder(r: ResultsFile): Array<[number, number]> {
  const all = r.steps.flatMap((s) =>
    s.iterations.map((it) => ({q: s.queueCount, i: it.index, at: ms(it.startedAt)})),
  )
  return all.sort((a, b) => a.at - b.at).map((x) => [x.q, x.i])
}

describeNet('mqbench scale --order alternate', () => {
  it('measures 1..2 queues in alternating rounds', async () => {
    const r = await mqbench([...ARGS, '--out', join(out, 'run'), '--json'])
    expect(r.status, r.stderr).toBe(0)
    const json = JSON.parse(r.stdout)
    expect(json.status).toBe('complete')
    const results = loadResults(json.resultsFile)
    expect(results.config.order).toBe('alternate')
    expect(results.steps.map((s) => s.queueCount)).toEqual([1, 2])
    for (const step of results.steps) {
      expect(step.iterations.map((it) => it.index)).toEqual([0, 1])
      expect(step.config.sysfsQueues).toEqual({rx: step.queueCount, tx: step.queueCount})
      // the step spans its first and last iteration
      expect(ms(step.startedAt)).toBeLessThanOrEqual(ms(step.iterations[0].startedAt))
      expect(ms(step.finishedAt)).toBeGreaterThanOrEqual(
        ms(step.iterations[1].startedAt) + step.iterations[1].durationMs,
      )
    }
    expect(measuredOrder(results)).toEqual([
      [1, 0],
      [2, 0],
      [1, 1],
      [2, 1],
    ])
    // 1 queue's 2nd iteration starts only after 2 queues' 1st has finished: rounds, not overlap
    const [one, two] = results.steps
    expect(ms(one.iterations[1].startedAt)).toBeGreaterThanOrEqual(
      ms(two.iterations[0].startedAt) + two.iterations[0].durationMs,
    )
    // each visit set the count again: at 1 queue only queue 0 carried traffic, in both rounds
    for (const it of one.iterations)
      expect(it.queues.filter((q) => q.txPackets + q.rxPackets > 0).map((q) => q.queue)).toEqual([0])
    expect(
      json.summary.steps.map((s: {queueCount: number; iterations: number}) => [s.queueCount, s.iterations]),
    ).toEqual([
      [1, 2],
      [2, 2],
    ])
    expect(leftovers(results.config.testbed.name)).toEqual([])
  })

  it('keeps every finished iteration through a kill -9 mid-round and resumes the missing one', async () => {
    const dir = join(out, 'killed')
    let killed = false
    const {done} = startMqbench([...ARGS, '--out', dir], (stderr, child) => {
      // plain progress lines (stderr is not a TTY): kill once round 2 has moved to 2 queues
      if (!killed && /round 2\/2: 2 queue/.test(stderr)) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    const k = await done
    expect(k.signal, k.stderr).toBe('SIGKILL')
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'))
    const path = join(dir, file)
    const partial = loadResults(path)
    expect(partial.run.status).toBe('running')
    expect(partial.steps.map((s) => [s.queueCount, s.iterations.map((it) => it.index)])).toEqual([
      [1, [0, 1]],
      [2, [0]],
    ])
    const name = partial.config.testbed.name
    const down = await mqbench(['testbed', 'down', name, '--json'])
    expect(down.status, down.stderr).toBe(0)
    expect(leftovers(name)).toEqual([])

    const resumed = startMqbench(['scale', '--resume', path, '--no-report'])
    const r = await resumed.done
    expect(r.status, r.stderr).toBe(0)
    // only the missing pair is measured again
    expect(r.stderr.match(/^round \d\/2: \d queue/gm)).toEqual(['round 2/2: 2 queue'])
    const full = loadResults(path)
    expect(full.run.status).toBe('complete')
    expect(full.steps[0]).toEqual(partial.steps[0])
    expect(full.steps[1].iterations[0]).toEqual(partial.steps[1].iterations[0])
    expect(measuredOrder(full)).toEqual([
      [1, 0],
      [2, 0],
      [1, 1],
      [2, 1],
    ])
    const after = JSON.parse((await mqbench(['testbed', 'list', '--json'])).stdout)
    expect(after.testbeds.map((t: {name: string}) => t.name)).not.toContain(name)
    expect(after.stale.filter((n: string) => n.includes(name) || /^mqb-r[0-9a-f]{4}-[ab]$/.test(n))).toEqual(
      [],
    )
  })

  it('on Ctrl-C abandons the iteration in progress, keeps the finished ones and removes the testbed', async () => {
    const dir = join(out, 'int')
    let sent = false
    const {done} = startMqbench([...ARGS, '--out', dir], (stderr, child) => {
      if (!sent && /round 2\/2: 1 queue/.test(stderr)) {
        sent = true
        child.kill('SIGINT')
      }
    })
    const r = await done
    expect(r.status, r.stderr).toBe(130)
    expect(r.stderr).toMatch(
      /interrupted: 2 of 4 iterations kept in .*; finish with `mqbench scale --resume /,
    )
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.json'))
    const results = loadResults(join(dir, file))
    expect(results.run.status).toBe('interrupted')
    expect(results.steps.map((s) => [s.queueCount, s.iterations.map((it) => it.index)])).toEqual([
      [1, [0]],
      [2, [0]],
    ])
    expect(leftovers(results.config.testbed.name)).toEqual([])
  })

  it('refuses --order with --resume: a resumed run keeps its recorded order', async () => {
    const r = await mqbench(['scale', '--resume', join(out, 'none.json'), '--order', 'alternate'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/--resume/)
  })
})
