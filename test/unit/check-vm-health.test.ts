// The kernel-log scan of a guest's health: real-looking Debian 6.1 log text, clean and after a
// stress that went wrong; each kind of problem is found and quoted, boot notices are not.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {
  healthCheck,
  kernelLogLines,
  kernelLogProblems,
  lastStamp,
  mergeProblems,
  quoteProblems,
} from '../../src/check/vm/health.js'

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/kernel-log/${name}`, import.meta.url), 'utf8')

describe('kernelLogProblems', () => {
  it('finds nothing in a clean boot, whose notices merely contain WARNING or Bug', () => {
    expect(kernelLogProblems(fixture('clean-boot.txt'))).toEqual([])
  })

  it('finds every kind of problem after a stress, quoting the lines without their timestamps', () => {
    const found = kernelLogProblems(fixture('stress-problems.txt'), {source: 'dmesg'})
    expect(found.map((p) => p.kind)).toEqual([
      'tx-timeout',
      'warning',
      'call-trace',
      'tx-timeout',
      'soft-lockup',
      'rcu-stall',
      'hung-task',
      'alloc-failure',
      'bug',
      'oops',
      'bug',
      'oops',
      'oom',
      'hard-lockup',
      'panic',
    ])
    expect(found[0]).toEqual({
      kind: 'tx-timeout',
      line: 'NETDEV WATCHDOG: eth0 (virtio_net): transmit queue 1 timed out 5120 ms',
      source: 'dmesg',
    })
    expect(found[4].line).toBe('watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [mqbench-agent:211]')
  })

  it('reads console text with carriage returns, printk caller ids and log levels', () => {
    const text =
      '[    3.000000][    T1] ok\r\n<4>[   41.0] NETDEV WATCHDOG: eth0 (virtio_net): transmit queue 0 timed out 5000 ms\r\n'
    expect(kernelLogProblems(text, {source: 'console'})).toEqual([
      {
        kind: 'tx-timeout',
        line: 'NETDEV WATCHDOG: eth0 (virtio_net): transmit queue 0 timed out 5000 ms',
        source: 'console',
      },
    ])
  })

  it('counts only what came after a mark', () => {
    const text = fixture('stress-problems.txt')
    const later = kernelLogProblems(text, {afterSeconds: 250})
    expect(later.map((p) => p.kind)).toEqual(['bug', 'oops', 'bug', 'oops', 'oom', 'hard-lockup', 'panic'])
    expect(lastStamp(fixture('clean-boot.txt'))).toBe(2.1)
    // continuation lines inherit the stamp of the line before them
    expect(kernelLogLines('[ 5.5] a\nplain').map((l) => l.at)).toEqual([5.5, 5.5])
  })
})

describe('healthCheck', () => {
  it('PASSes a clean log and FAILs quoting the problem lines, the same line from two logs once', () => {
    expect(healthCheck({problems: []}).status).toBe('PASS')
    const a = kernelLogProblems(fixture('stress-problems.txt'), {source: 'dmesg'})
    const b = kernelLogProblems(fixture('stress-problems.txt'), {source: 'console'})
    const merged = mergeProblems(a, b)
    expect(merged).toHaveLength(a.length)
    const c = healthCheck({problems: merged})
    expect(c.status).toBe('FAIL')
    expect(c.evidence).toContain('15 problem line(s): tx-timeout: "NETDEV WATCHDOG: eth0 (virtio_net)')
    expect(c.evidence).toContain('and 11 more')
    expect(quoteProblems(merged.slice(0, 1))).not.toContain('more')
    expect(healthCheck({problems: [], dmesgError: 'agent gone'}).evidence).toContain('console only')
  })
})
