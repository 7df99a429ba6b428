import {mkdtempSync, mkdirSync, writeFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {cpuBusyMs, cpuDelta, cpuUtilisation, parseProcStat, readProcStat} from '../../src/observe/cpu.js'

const root = mkdtempSync(join(tmpdir(), 'mqb-cpu-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))

const stat = (rows: string[]) => `cpu  1 2 3 4 5 6 7 8 0 0\n${rows.join('\n')}\nintr 1 2 3\nctxt 99\n`

describe('cpu times from /proc/stat', () => {
  it('reads per-CPU rows from a root path and skips the aggregate line', () => {
    mkdirSync(join(root, 'proc'))
    writeFileSync(
      join(root, 'proc/stat'),
      stat(['cpu0 100 0 50 800 10 5 20 0 0 0', 'cpu1 200 10 60 700 0 0 40 3 0 0']),
    )
    const t = readProcStat(root + '/')
    expect(t.map((c) => c.cpu)).toEqual([0, 1])
    expect(t[1]).toEqual({
      cpu: 1,
      user: 200,
      nice: 10,
      system: 60,
      idle: 700,
      iowait: 0,
      irq: 0,
      softirq: 40,
      steal: 3,
    })
  })

  it('turns tick deltas into milliseconds and utilisation over all CPUs', () => {
    const a = parseProcStat(stat(['cpu0 100 0 50 800 0 0 20 0 0 0', 'cpu1 100 0 50 800 0 0 20 0 0 0']))
    // 1 s later (100 ticks per CPU): cpu0 busy 50 user + 25 sys + 5 softirq, cpu1 idle throughout
    const b = parseProcStat(stat(['cpu0 150 0 75 820 0 0 25 0 0 0', 'cpu1 100 0 50 900 0 0 20 0 0 0']))
    const d = cpuDelta(a, b)
    expect(d[0]).toMatchObject({cpu: 0, userMs: 500, sysMs: 250, softirqMs: 50, idleMs: 200})
    expect(d[1]).toMatchObject({cpu: 1, userMs: 0, idleMs: 1000})
    expect(cpuBusyMs(d)).toBe(800)
    const u = cpuUtilisation(d)
    expect(u.cpus).toBe(2)
    expect(u.userPct).toBeCloseTo(25)
    expect(u.sysPct).toBeCloseTo(12.5)
    expect(u.softirqPct).toBeCloseTo(2.5)
    expect(u.totalPct).toBeCloseTo(40)
  })

  it('leaves out CPUs without a baseline and never goes negative', () => {
    const a = parseProcStat(stat(['cpu0 100 0 50 800 0 0 20 0 0 0']))
    const b = parseProcStat(stat(['cpu0 90 0 50 900 0 0 20 0 0 0', 'cpu1 1 1 1 1 1 1 1 1 0 0']))
    const d = cpuDelta(a, b)
    expect(d).toHaveLength(1)
    expect(d[0].userMs).toBe(0)
    expect(cpuUtilisation([]).totalPct).toBe(0)
  })
})
