import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {MqbError} from '../../src/errors.js'
import {processStartTime} from '../../src/host/process.js'
import {
  belongsTo,
  heldTestbed,
  listTestbeds,
  ownerAlive,
  ownerSelf,
  pidAlive,
  planDownAll,
  readRecords,
  removeRecord,
  removeTestbed,
  testbedInUse,
  writeRecord,
  type TestbedOwner,
  type TestbedRecord,
} from '../../src/testbed/registry.js'

const record = (name: string, pid: number, owner?: TestbedOwner): TestbedRecord => ({
  name,
  kind: 'tap',
  pid,
  ...(owner ? {owner} : {}),
  createdAt: '2026-11-24T23:00:00.000Z',
  nsA: `mqb-${name}-a`,
  nsB: `mqb-${name}-b`,
  devA: `mqb-${name}-a`,
  devB: `mqb-${name}-b`,
  ipA: '198.18.1.1',
  ipB: '198.18.1.2',
  maxQueues: 2,
})

/** Each test gets a fresh record directory (MQBENCH_STATE_DIR), restored after it. */
function useStateDir(seen: (dir: string) => void = () => {}): void {
  const saved = process.env.MQBENCH_STATE_DIR
  beforeEach(() => {
    process.env.MQBENCH_STATE_DIR = mkdtempSync(join(tmpdir(), 'mqb-registry-'))
    seen(process.env.MQBENCH_STATE_DIR)
  })
  afterEach(() => {
    if (saved === undefined) delete process.env.MQBENCH_STATE_DIR
    else process.env.MQBENCH_STATE_DIR = saved
  })
}

describe('testbed registry', () => {
  let dir = ''
  useStateDir((d) => (dir = d))

  it('writes records atomically, reads them sorted and skips a torn one', () => {
    writeRecord(record('zz', process.pid))
    writeRecord(record('aa', process.pid))
    writeFileSync(join(dir, 'torn.json'), '{"name": "to')
    expect(readRecords().map((r) => r.name)).toEqual(['aa', 'zz'])
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    removeRecord('aa')
    expect(readRecords().map((r) => r.name)).toEqual(['zz'])
  })

  it('tells a live holder from a dead one', () => {
    expect(pidAlive(process.pid)).toBe(true)
    // pid_max is at most 2^22: this pid cannot exist
    expect(pidAlive(2 ** 22 + 1)).toBe(false)
    writeRecord(record('live', process.pid))
    writeRecord(record('dead', 2 ** 22 + 1))
    const l = listTestbeds()
    expect(l.testbeds.map((t) => [t.name, t.alive])).toEqual([
      ['dead', false],
      ['live', true],
    ])
  })
})

// A pid that cannot exist (pid_max is at most 2^22) and a live process that is not this one.
const GONE = 2 ** 22 + 1
const PARENT = process.ppid
const run = (command: string, startTime?: number): TestbedOwner => ({command, holder: false, startTime})
const holder: TestbedOwner = {command: 'mqbench testbed up', holder: true}

describe('who owns a testbed, and whether down may take it', () => {
  it('an owner is alive when its pid runs and, when recorded, started when the owner did', () => {
    expect(ownerAlive({pid: process.pid, owner: ownerSelf('mqbench scale')})).toBe(true)
    // the pid is alive but reused: another start time
    expect(
      ownerAlive({pid: process.pid, owner: run('mqbench scale', processStartTime(process.pid)! + 1)}),
    ).toBe(false)
    expect(ownerAlive({pid: GONE, owner: run('mqbench scale')})).toBe(false)
    // records of earlier versions have no owner: the pid alone
    expect(ownerAlive({pid: process.pid})).toBe(true)
    expect(ownerSelf('mqbench testbed up', true)).toEqual({
      command: 'mqbench testbed up',
      holder: true,
      startTime: processStartTime(process.pid),
    })
  })

  it('a testbed is in use only by a live owner that is not a holder', () => {
    expect(testbedInUse({pid: PARENT, owner: run('mqbench check')}, true)).toBe(true)
    expect(testbedInUse({pid: PARENT, owner: run('mqbench check')}, false)).toBe(false)
    expect(testbedInUse({pid: PARENT, owner: holder}, true)).toBe(false)
    expect(testbedInUse({pid: PARENT}, true)).toBe(false)
    // this very process never blocks its own down
    expect(testbedInUse({pid: process.pid, owner: run('mqbench check')}, true)).toBe(false)
  })

  it("tells a testbed's objects by its name", () => {
    for (const o of ['mqb-c1a2b-h', 'mqb-c1a2b-m', 'mqb-c1a2b-t1', 'mqb-c1a2b-a', 'c1a2b.vm', 'c1a2b-mig.vm'])
      expect(belongsTo('c1a2b', o), o).toBe(true)
    for (const o of ['mqb-c1a2-h', 'mqb-c1a2bb-h', 'mqbc1a2ba', 'c1a2bb.vm', 'c1a2.vm', 'xc1a2b.vm'])
      expect(belongsTo('c1a2b', o), o).toBe(false)
  })

  it('down --all removes stale testbeds and holders, and leaves those a running command uses', () => {
    const recs = [
      {...record('stale', GONE, run('mqbench scale')), alive: false},
      {...record('held', PARENT, holder), alive: true},
      {...record('old', PARENT), alive: true},
      {
        ...record('c1a2b', PARENT, run('mqbench check')),
        alive: true,
        nsA: 'mqb-c1a2b-h',
        devA: 'mqb-c1a2b-b',
      },
      {...record('s9', PARENT, run('mqbench scale')), alive: true},
    ]
    const p = planDownAll(recs, false)
    expect(p.remove).toEqual(['stale', 'held', 'old'])
    expect(p.inUse).toEqual([
      {name: 'c1a2b', pid: PARENT, command: 'mqbench check'},
      {name: 's9', pid: PARENT, command: 'mqbench scale'},
    ])
    for (const o of ['mqb-c1a2b-h', 'mqb-c1a2b-m', 'c1a2b.vm', 'c1a2b-mig.vm', 'mqb-s9-a'])
      expect(p.kept(o), o).toBe(true)
    for (const o of ['mqb-stale-a', 'mqb-held-b', 'stale.vm', 'mqb-tab12-a']) expect(p.kept(o), o).toBe(false)
    const forced = planDownAll(recs, true)
    expect(forced.remove).toEqual(['stale', 'held', 'old', 'c1a2b', 's9'])
    expect(forced.inUse).toEqual([])
    expect(forced.kept('mqb-c1a2b-h')).toBe(false)
  })
})

describe('testbed down NAME of a testbed in use', () => {
  useStateDir()

  it('is refused with exit 12 in one line, and the record stays', () => {
    writeRecord(record('c1a2b', PARENT, run('mqbench check', processStartTime(PARENT))))
    let err: unknown
    try {
      removeTestbed('c1a2b')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(12)
    expect((err as MqbError).message).toBe(
      `testbed c1a2b is in use by mqbench check (pid ${PARENT}); stop that run, or add --force`,
    )
    expect(readRecords().map((r) => r.name)).toEqual(['c1a2b'])
  })
})

describe('a testbed named to gen, rr or stream (--testbed NAME)', () => {
  useStateDir()
  const refusal = (name: string) => {
    try {
      heldTestbed(name)
    } catch (e) {
      if (e instanceof MqbError) return {exitCode: e.exitCode, message: e.message}
      throw e
    }
    return undefined
  }

  it('is one a holder keeps (testbed up), not one a running command made for its own run', () => {
    const started = processStartTime(PARENT)
    writeRecord(record('held', PARENT, {...holder, startTime: started}))
    writeRecord(record('old', PARENT))
    writeRecord(record('c1a2b', PARENT, run('mqbench check', started)))
    writeRecord({
      ...record('early', PARENT, {...holder, startTime: started}),
      nsA: '',
      nsB: '',
      devA: '',
      devB: '',
    })
    writeRecord(record('gone', GONE, holder))
    expect(heldTestbed('held').name).toBe('held')
    expect(heldTestbed('old').name).toBe('old')
    expect(refusal('c1a2b')).toEqual({
      exitCode: 12,
      message: `testbed c1a2b is in use by mqbench check (pid ${PARENT}) for its own run; hold one of your own with \`mqbench testbed up NAME\``,
    })
    expect(refusal('early')).toEqual({
      exitCode: 12,
      message: `testbed early is still being set up by mqbench testbed up (pid ${PARENT}); run again once it is up`,
    })
    expect(refusal('gone')?.exitCode).toBe(5)
    expect(refusal('none')?.exitCode).toBe(5)
  })
})
