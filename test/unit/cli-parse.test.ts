import {describe, expect, it} from 'vitest'
import {
  formatDurationMs,
  parseBytes,
  parseCpuListFlag,
  parseDurationMs,
  parseQueueList,
} from '../../src/cli/parse.js'
import {ExitCode, MqbError} from '../../src/errors.js'
import {formatCpus, parseCpuList} from '../../src/host/cpus.js'

function errorOf(fn: () => unknown): MqbError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(MqbError)
    return e as MqbError
  }
  throw new Error('expected an error')
}

describe('parseQueueList', () => {
  it('accepts ranges, lists, steps and mixes', () => {
    expect(parseQueueList('1..8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(parseQueueList('1,2,4,8')).toEqual([1, 2, 4, 8])
    expect(parseQueueList('1..16:2')).toEqual([1, 3, 5, 7, 9, 11, 13, 15])
    expect(parseQueueList('1, 2..4')).toEqual([1, 2, 3, 4])
    expect(parseQueueList('4')).toEqual([4])
  })

  it('rejects backwards ranges, zero, duplicates, non-numbers and counts above the maximum', () => {
    const backwards = errorOf(() => parseQueueList('8..1'))
    expect(backwards.exitCode).toBe(ExitCode.badInput)
    expect(backwards.message).toMatch(/backwards; write 1\.\.8/)
    expect(errorOf(() => parseQueueList('0..4')).message).toMatch(/queue count 0/)
    expect(errorOf(() => parseQueueList('1,2,2')).message).toMatch(/2 appears twice/)
    expect(errorOf(() => parseQueueList('1..4,3')).message).toMatch(/3 appears twice/)
    expect(errorOf(() => parseQueueList('4,2')).message).toMatch(/ascending/)
    expect(errorOf(() => parseQueueList('one')).message).toMatch(/'one'.*not a count or range/)
    expect(errorOf(() => parseQueueList('1..9', 8)).message).toMatch(/9 .* above the maximum of 8/)
    expect(errorOf(() => parseQueueList('1..4:0')).message).toMatch(/step 0/)
    expect(errorOf(() => parseQueueList('')).message).toMatch(/empty/)
  })
})

describe('CPU lists', () => {
  it('parses kernel-style lists and checks them against online CPUs', () => {
    expect(parseCpuListFlag('0-3,6')).toEqual([0, 1, 2, 3, 6])
    expect(parseCpuList('0-1,4-5\n')).toEqual([0, 1, 4, 5])
    expect(errorOf(() => parseCpuListFlag('0,5', [0, 1])).message).toMatch(
      /CPU 5 is not online; online CPUs: 0-1/,
    )
    expect(errorOf(() => parseCpuListFlag('3-1')).message).toMatch(/backwards/)
    expect(errorOf(() => parseCpuListFlag('1,1')).message).toMatch(/twice/)
  })

  it('compacts a list back', () => {
    expect(formatCpus([3, 0, 1, 2, 6, 8, 9])).toBe('0-3,6,8-9')
  })
})

describe('durations and sizes', () => {
  it('parses durations in ms, s, m with seconds as the bare unit', () => {
    expect(parseDurationMs('10s')).toBe(10_000)
    expect(parseDurationMs('500ms')).toBe(500)
    expect(parseDurationMs('1.5s')).toBe(1500)
    expect(parseDurationMs('2m')).toBe(120_000)
    expect(parseDurationMs('3')).toBe(3000)
    expect(formatDurationMs(120_000)).toBe('2m')
    expect(formatDurationMs(1500)).toBe('1500ms')
    expect(errorOf(() => parseDurationMs('ten')).message).toMatch(/not a duration/)
    expect(errorOf(() => parseDurationMs('0s')).message).toMatch(/out of range/)
  })

  it('parses byte counts with binary multiples and checks the range', () => {
    expect(parseBytes('64')).toBe(64)
    expect(parseBytes('16k')).toBe(16384) // netperf: 16000; --help says so (SIZE_SUFFIX_HELP)
    expect(parseBytes('16K')).toBe(16384)
    expect(parseBytes('1M')).toBe(1 << 20)
    expect(errorOf(() => parseBytes('10', {min: 60, max: 9000, what: 'frame size'})).message).toMatch(
      /frame size 10 is out of range \(60 to 9000 bytes\)/,
    )
    expect(errorOf(() => parseBytes('12q')).message).toMatch(/not a byte count/)
  })
})
