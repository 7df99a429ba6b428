import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {loadResults, validateResults} from '../../src/results/load.js'

const fixture = (name: string) => new URL(`../fixtures/results/${name}`, import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'mqb-load-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function failure(fn: () => unknown): MqbError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.badResults)
    expect((err as MqbError).message).not.toContain('\n')
    return err as MqbError
  }
  throw new Error('expected a failure')
}

const write = (name: string, content: string) => {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}
const fixtureObj = () => JSON.parse(readFileSync(fixture('tap-rr.json'), 'utf8'))

describe('loadResults', () => {
  it('loads every committed fixture', () => {
    for (const f of ['tap-rr.json', 'veth-stream.json', 'tap-rr-tuned.json'])
      expect(loadResults(fixture(f)).steps.length).toBeGreaterThan(0)
  })

  it('names a missing file', () => {
    expect(failure(() => loadResults(join(dir, 'nope.json'))).message).toMatch(/nope\.json: no such file/)
  })

  it('says a non-JSON file is not JSON', () => {
    expect(failure(() => loadResults(write('bad.json', '<html>'))).message).toMatch(/bad\.json: not JSON/)
  })

  it('says a JSON file of something else is not a results file', () => {
    expect(failure(() => loadResults(write('pkg.json', '{"name":"x"}'))).message).toMatch(
      /not an mqbench results file/,
    )
    expect(failure(() => loadResults(write('arr.json', '[1,2]'))).message).toMatch(
      /not an mqbench results file/,
    )
  })

  it('refuses an unknown schema version and says to upgrade for a newer one', () => {
    const obj = fixtureObj()
    obj.version = 4
    expect(failure(() => loadResults(write('v4.json', JSON.stringify(obj)))).message).toBe(
      `${join(dir, 'v4.json')}: results schema version 4 is not known to this mqbench (it reads versions 1, 2, 3; the current is 3); upgrade mqbench to read it`,
    )
    obj.version = '1'
    expect(failure(() => validateResults(obj)).message).toMatch(/version "1" is not known/)
  })

  it('refuses results with no steps, naming the run status', () => {
    const obj = fixtureObj()
    obj.steps = []
    obj.run.status = 'failed'
    obj.run.error = 'server died'
    expect(failure(() => loadResults(write('empty.json', JSON.stringify(obj)))).message).toMatch(
      /no steps \(status "failed": server died\)/,
    )
    expect(validateResults(obj, {allowNoSteps: true}).steps).toEqual([])
  })

  it('points at the first field that breaks the schema', () => {
    const obj = fixtureObj()
    delete obj.steps[1].iterations[0].result.sessions[2].latencyHistogram
    expect(failure(() => validateResults(obj)).message).toMatch(
      /steps\.1\.iterations\.0\.result\.sessions\.2 lacks the field "latencyHistogram"$/,
    )
    const obj2 = fixtureObj()
    obj2.steps[0].queueCount = 0
    expect(failure(() => validateResults(obj2)).message).toMatch(/steps\.0\.queueCount must be >= 1/)
    const obj3 = fixtureObj()
    obj3.run.startedAt = 'yesterday'
    expect(failure(() => validateResults(obj3)).message).toMatch(
      /run\.startedAt must match format "date-time"/,
    )
  })

  it('accepts additive fields a newer v1 writer may add', () => {
    const obj = fixtureObj()
    obj.steps[0].notes = 'added later'
    obj.host.kernelCmdline = 'quiet'
    expect(() => validateResults(obj)).not.toThrow()
  })

  // issue 10 case 1: a gen step on a tap, where the driver picks the TX queue, records -1 (docs/gen.md)
  it('accepts what gen on a tap writes, placement.expectedTxQueue -1', () => {
    const obj = JSON.parse(readFileSync(fixture('veth-gen.json'), 'utf8'))
    for (const step of obj.steps)
      for (const it of step.iterations)
        it.result.placement = {expectedTxQueue: it.result.queues.map(() => -1)}
    expect(() => validateResults(obj)).not.toThrow()
  })

  // issue 10 case 1: the workload decides which shape is checked, so the message names the field that is wrong
  it('names the wrong field inside a gen or stream result, not a field of another workload', () => {
    const gen = JSON.parse(readFileSync(fixture('veth-gen.json'), 'utf8'))
    gen.steps[0].iterations[0].result.placement = {expectedTxQueue: [-2]}
    expect(failure(() => validateResults(gen)).message).toMatch(
      /steps\.0\.iterations\.0\.result\.placement\.expectedTxQueue\.0 must be >= -1$/,
    )
    const gen2 = JSON.parse(readFileSync(fixture('veth-gen.json'), 'utf8'))
    delete gen2.steps[0].iterations[0].result.frameSize
    expect(failure(() => validateResults(gen2)).message).toMatch(/result lacks the field "frameSize"$/)
    const stream = JSON.parse(readFileSync(fixture('veth-stream.json'), 'utf8'))
    stream.steps[0].iterations[0].result.sessions[0].bytes = -1
    expect(failure(() => validateResults(stream)).message).toMatch(
      /steps\.0\.iterations\.0\.result\.sessions\.0\.bytes must be >= 0$/,
    )
    const bogus = fixtureObj()
    bogus.steps[0].iterations[0].result.workload = 'bogus'
    expect(failure(() => validateResults(bogus)).message).toMatch(
      /result\.workload must be one of "rr", "stream", "gen"$/,
    )
  })

  // issue 10 case 5
  it('refuses a corrupt latency histogram with exit 7 naming it', () => {
    const obj = fixtureObj()
    obj.steps[1].iterations[2].result.sessions[3].latencyHistogram = 'HISTFAAAAB'
    const p = write('corrupt-hist.json', JSON.stringify(obj))
    expect(failure(() => loadResults(p)).message).toMatch(
      /corrupt-hist\.json: .*steps\.1\.iterations\.2\.result\.sessions\.3\.latencyHistogram is not a valid histogram/,
    )
  })

  // issue 10 case 5: a second step of a queue count would be dropped silently by every reader
  it('refuses two steps of the same queue count, and an iteration index twice, naming the field', () => {
    const obj = fixtureObj()
    obj.steps[2] = {...obj.steps[2], queueCount: obj.steps[1].queueCount}
    expect(failure(() => validateResults(obj)).message).toMatch(
      /steps\.2\.queueCount: 2 queue\(s\) is recorded twice \(steps\.1 has it too\)$/,
    )
    const obj2 = fixtureObj()
    obj2.steps[0].iterations[1].index = obj2.steps[0].iterations[0].index
    expect(failure(() => validateResults(obj2)).message).toMatch(
      /steps\.0\.iterations\.1\.index: iteration 0 is recorded twice/,
    )
  })

  // issue 10, schema version policy: every older version is read (the committed fixtures are version 1)
  it('reads the committed version 1 files, upgraded in memory, and leaves the object it was given alone', () => {
    for (const f of ['tap-rr.json', 'veth-stream.json', 'veth-gen.json', 'real-tap-rr.json']) {
      const raw = JSON.parse(readFileSync(fixture(f), 'utf8'))
      expect(raw.version).toBe(1)
      expect(loadResults(fixture(f)).version).toBe(3)
      validateResults(raw)
      expect(raw.version).toBe(1)
    }
  })

  it('upgrades a version 2 rr result: every session says it was not attributed, and no queue groups appear', () => {
    const obj = fixtureObj()
    obj.version = 2
    const up = validateResults(obj).steps[0].iterations[0].result
    if (up.workload !== 'rr') throw new Error('not an rr result')
    expect(up.queues).toBeUndefined()
    for (const s of up.sessions) {
      expect(s.queue).toMatchObject({method: 'none', queues: [], moved: false, samples: 0})
      expect(s.queue.reason).toMatch(/before queue attribution \(results version 2\)/)
    }
    // a version 3 file whose session lacks it is refused, naming the field
    const bad = validateResults(fixtureObj())
    delete (bad.steps[0].iterations[0].result as {sessions: Array<{queue?: unknown}>}).sessions[0].queue
    expect(failure(() => validateResults(bad)).message).toMatch(/sessions\.0 lacks the field "queue"/)
  })

  it('upgrades a version 1 UDP_STREAM result: gbps was the rate sent, now the rate received', () => {
    const obj = JSON.parse(readFileSync(fixture('veth-stream.json'), 'utf8'))
    const r = obj.steps[0].iterations[0].result
    r.type = 'udp_stream'
    r.sessions.forEach((s: {gbps: number; datagrams?: number; lostDatagrams?: number}) =>
      Object.assign(s, {gbps: 2, datagrams: 1000, lostDatagrams: 700}),
    )
    r.gbps = 2 * r.sessions.length
    const up = validateResults(obj).steps[0].iterations[0].result
    if (up.workload !== 'stream') throw new Error('not a stream result')
    expect(up.sentGbps).toBe(2 * r.sessions.length)
    expect(up.gbps).toBeCloseTo(0.6 * r.sessions.length, 9)
    expect(up.lossPct).toBeCloseTo(70, 9)
    expect(up.receivedOver).toBe('server-span')
  })
})
