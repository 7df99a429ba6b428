// Parsers for the values mqbench flags share (queue lists, CPU lists, durations, sizes), pure so
// that they are unit-tested, and wrapped as oclif custom flags in src/cli/flags.ts. Each throws a
// badInput MqbError whose message says what is allowed.
import {badInput} from '../errors.js'
import {formatCpus} from '../host/cpus.js'
import {LIMITS} from '../limits.js'

/**
 * A queue list: `1..8`, `1..16:2` (step), `1,2,4,8`, or a mix (`1,2..4`). Ascending, no
 * duplicates, each 1..max.
 */
export function parseQueueList(text: string, max: number = LIMITS.maxQueues): number[] {
  const spec = text.trim()
  const allowed = `use a list like 1..8, 1,2,4,8 or 1..16:2 with counts from 1 to ${max}`
  if (!spec) throw badInput(`empty queue list; ${allowed}`)
  const out: number[] = []
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*(?::\s*(\d+))?)?\s*$/.exec(part)
    if (!m) throw badInput(`'${part.trim()}' in queue list '${spec}' is not a count or range; ${allowed}`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    const step = m[3] === undefined ? 1 : Number(m[3])
    if (step < 1) throw badInput(`step ${step} in '${part.trim()}' must be 1 or more`)
    if (to < from) throw badInput(`queue range ${from}..${to} runs backwards; write ${to}..${from}`)
    for (let q = from; q <= to; q += step) {
      if (q < 1) throw badInput(`queue count 0 in '${spec}': a device has at least 1 queue; ${allowed}`)
      if (q > max) throw badInput(`queue count ${q} in '${spec}' is above the maximum of ${max}; ${allowed}`)
      out.push(q)
    }
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1] || out.indexOf(out[i]) !== i)
      throw badInput(`queue count ${out[i]} appears twice in '${spec}'`)
    if (out[i] < out[i - 1])
      throw badInput(`queue list '${spec}' must be ascending (${out[i - 1]} comes before ${out[i]})`)
  }
  return out
}

/** A CPU list as the kernel writes them: `0-3,6,8-9`. Checked against the online CPUs when given. */
export function parseCpuListFlag(text: string, online?: number[]): number[] {
  const spec = text.trim()
  const out: number[] = []
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part)
    if (!m)
      throw badInput(`'${part.trim()}' in CPU list '${spec}' is not a CPU or range; use a list like 0-3,6`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (to < from) throw badInput(`CPU range ${from}-${to} runs backwards`)
    for (let c = from; c <= to; c++) out.push(c)
  }
  if (new Set(out).size !== out.length) throw badInput(`CPU list '${spec}' names a CPU twice`)
  if (online) {
    const off = out.filter((c) => !online.includes(c))
    if (off.length) throw badInput(`CPU ${off.join(',')} is not online; online CPUs: ${formatCpus(online)}`)
  }
  return out
}

const DURATION_UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000}

/** `10s`, `500ms`, `2m`, `1.5s`; a bare number means seconds (as netperf -l). Returns milliseconds. */
export function parseDurationMs(text: string, {min = 1, max = 24 * 3_600_000} = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text)
  if (!m) throw badInput(`'${text}' is not a duration; use e.g. 10s, 500ms or 2m`)
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's'])
  if (ms < min || ms > max)
    throw badInput(`duration ${text} is out of range (${formatDurationMs(min)} to ${formatDurationMs(max)})`)
  return ms
}

export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s'
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0) return `${ms / 1000}s`
  return `${ms}ms`
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
}

/** Bytes: `64`, `1500`, `16k`, `1M`: binary multiples whatever the case (netperf: `16k` is 16000). */
export function parseBytes(
  text: string,
  {min = 0, max = Number.MAX_SAFE_INTEGER, what = 'size'} = {},
): number {
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(text)
  const unit = SIZE_UNITS[(m?.[2] ?? 'x').toLowerCase()]
  if (!m || unit === undefined)
    throw badInput(`${what} '${text}' is not a byte count; use e.g. 64, 1500 or 16k`)
  const n = Number(m[1]) * unit
  if (n < min || n > max) throw badInput(`${what} ${text} is out of range (${min} to ${max} bytes)`)
  return n
}
