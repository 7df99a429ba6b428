import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {
  listTestbeds,
  pidAlive,
  readRecords,
  removeRecord,
  writeRecord,
  type TestbedRecord,
} from '../../src/testbed/registry.js'

const record = (name: string, pid: number): TestbedRecord => ({
  name,
  kind: 'tap',
  pid,
  createdAt: '2026-11-24T23:00:00.000Z',
  nsA: `mqb-${name}-a`,
  nsB: `mqb-${name}-b`,
  devA: `mqb-${name}-a`,
  devB: `mqb-${name}-b`,
  ipA: '198.18.1.1',
  ipB: '198.18.1.2',
  maxQueues: 2,
})

describe('testbed registry', () => {
  let dir = ''
  const saved = process.env.MQBENCH_STATE_DIR
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mqb-registry-'))
    process.env.MQBENCH_STATE_DIR = dir
  })
  afterEach(() => {
    if (saved === undefined) delete process.env.MQBENCH_STATE_DIR
    else process.env.MQBENCH_STATE_DIR = saved
  })

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
