// A guest's health after a load, read from its kernel log: call traces, soft/hard lockups, RCU
// stalls, hung tasks, NETDEV WATCHDOG/TX timeouts (a queue stuck), failed allocations, BUGs,
// oopses, WARN()s and panics. The console log (qemu's chardev logfile, everything the guest
// printed at console level: the plan's guests boot `quiet`, errors and worse) and `dmesg` through
// the agent (every level, while the ring buffer holds it) are read with the same table.
import {readFileSync} from 'node:fs'
import type {VmBed} from '../../testbed/vm.js'
import {guestPaths} from '../../vm/qemu-args.js'
import type {KernelLogProblem, PlanCheck} from './types.js'

type Kind = KernelLogProblem['kind']

// First match wins: "watchdog: BUG: soft lockup" is a lockup, not a generic BUG. Each pattern is
// anchored on the kernel's own wording (kernel/watchdog.c, kernel/hung_task.c, net/sched/
// sch_generic.c, drivers/net/virtio_net.c, mm/page_alloc.c, lib/bug.c, arch/x86/mm/fault.c), so
// that boot notices which merely contain "WARNING" (CPU vulnerability notes) are not problems.
const PATTERNS: Array<[RegExp, Kind]> = [
  [/\bBUG: soft lockup\b/, 'soft-lockup'],
  [/Watchdog detected hard LOCKUP/, 'hard-lockup'],
  [/\brcu: INFO: rcu_\w+ (self-)?detected stalls?\b|\brcu_\w+ detected stalls on CPUs/, 'rcu-stall'],
  [/^INFO: task \S+ blocked for more than \d+ seconds/, 'hung-task'],
  [/NETDEV WATCHDOG: /, 'tx-timeout'],
  [/\bTX timeout on queue\b|\btx timeout\b/i, 'tx-timeout'],
  [/\bpage allocation failure: order:\d+/, 'alloc-failure'],
  [/\bOut of memory: Killed process\b|\boom-kill:/, 'oom'],
  [/^Kernel panic - not syncing\b/, 'panic'],
  [/^(kernel BUG at |BUG: )/, 'bug'],
  [/^(Oops: |general protection fault\b|invalid opcode: \w+ \[#\d+\])/, 'oops'],
  [/^WARNING: CPU: \d+ PID: \d+ at /, 'warning'],
  [/^Call Trace:/, 'call-trace'],
]

/** "[   12.345678] ", "[    0.000000][    T0] ", "<4>[ 1.0] ": the printk prefixes a line may carry. */
const PREFIX = /^\s*(<\d+>)?\s*\[\s*(\d+\.\d+)\](\[\s*[CT]\d+\])?\s?/

export interface LogLine {
  /** seconds since boot, when the line carries a printk timestamp (continuations inherit it) */
  at?: number
  text: string
}

/** Splits a kernel log into lines without their printk prefixes (and carriage returns). */
export function kernelLogLines(text: string): LogLine[] {
  let at: number | undefined
  return text
    .replaceAll('\r', '')
    .split('\n')
    .map((raw) => {
      const m = PREFIX.exec(raw)
      if (m) at = Number(m[2])
      return {at, text: (m ? raw.slice(m[0].length) : raw).trimEnd()}
    })
}

/**
 * The problem lines of a kernel log, each quoted as the log has it. `afterSeconds` keeps only
 * lines stamped later (what a case caused on a guest booted before it), `source` names the log.
 */
export function kernelLogProblems(
  text: string,
  opts: {source?: string; afterSeconds?: number} = {},
): KernelLogProblem[] {
  const source = opts.source ?? 'log'
  const out: KernelLogProblem[] = []
  for (const l of kernelLogLines(text)) {
    if (opts.afterSeconds !== undefined && (l.at === undefined || l.at <= opts.afterSeconds)) continue
    const hit = PATTERNS.find(([re]) => re.test(l.text))
    if (hit) out.push({kind: hit[1], line: l.text, source})
  }
  return out
}

/** The last printk timestamp of a log: the mark a later `kernelLogProblems` counts from. */
export function lastStamp(text: string): number | undefined {
  const lines = kernelLogLines(text)
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i].at !== undefined) return lines[i].at
  return undefined
}

/** The same problem seen in the console and in dmesg once, with the first source that showed it. */
export function mergeProblems(...lists: KernelLogProblem[][]): KernelLogProblem[] {
  const seen = new Set<string>()
  return lists.flat().filter((p) => {
    const key = `${p.kind}\0${p.line}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export interface GuestLogs {
  console: string
  dmesg: string
  /** why dmesg could not be read (a dead agent): the console is then the only witness */
  dmesgError?: string
}

/** Reads a guest's kernel log both ways: qemu's console log file and `dmesg` through the agent. */
export async function readGuestLogs(bed: Pick<VmBed, 'guest'>): Promise<GuestLogs> {
  let console = ''
  try {
    console = readFileSync(guestPaths(bed.guest.dir).consoleLog, 'utf8')
  } catch {
    // no console output yet
  }
  try {
    const r = await bed.guest.agent.exec(['dmesg'])
    if (r.status !== 0)
      return {console, dmesg: '', dmesgError: `dmesg exited ${r.status}: ${r.stderr.trim()}`}
    return {console, dmesg: r.stdout}
  } catch (err) {
    return {console, dmesg: '', dmesgError: err instanceof Error ? err.message : String(err)}
  }
}

/**
 * Where a guest's kernel logs stand now: problems found later by `guestKernelProblems(bed, mark)`
 * are new. The console log is a file that outlives reboots (counted in bytes); dmesg restarts
 * with the kernel (counted by printk time).
 */
export interface LogMark {
  consoleBytes: number
  dmesgAfter?: number
}

export async function kernelLogMark(bed: Pick<VmBed, 'guest'>): Promise<LogMark> {
  const logs = await readGuestLogs(bed)
  return {consoleBytes: logs.console.length, dmesgAfter: lastStamp(logs.dmesg)}
}

/** The problems in a guest's console and dmesg (after `mark` when given). */
export async function guestKernelProblems(
  bed: Pick<VmBed, 'guest'>,
  mark?: LogMark,
): Promise<{problems: KernelLogProblem[]; dmesgError?: string}> {
  const logs = await readGuestLogs(bed)
  return {
    problems: mergeProblems(
      kernelLogProblems(logs.dmesg, {source: 'dmesg', afterSeconds: mark?.dmesgAfter}),
      kernelLogProblems(logs.console.slice(mark?.consoleBytes ?? 0), {source: 'console'}),
    ),
    dmesgError: logs.dmesgError,
  }
}

/** At most `max` problem lines quoted in one evidence line, and how many more there were. */
export function quoteProblems(problems: KernelLogProblem[], max = 4): string {
  const shown = problems.slice(0, max).map((p) => `${p.kind}: "${p.line}" (${p.source})`)
  const more = problems.length - shown.length
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '')
}

/** The health check of a case: PASS with a clean log, FAIL quoting the problem lines. */
export function healthCheck(
  found: {problems: KernelLogProblem[]; dmesgError?: string},
  id = 'kernel-log',
  title = "the guest's kernel log shows no call trace, lockup, stall, TX timeout, failed allocation or BUG",
): PlanCheck {
  const read = found.dmesgError ? `console only (dmesg: ${found.dmesgError})` : 'console and dmesg'
  return {
    id,
    title,
    status: found.problems.length ? 'FAIL' : 'PASS',
    evidence: found.problems.length
      ? `${found.problems.length} problem line(s): ${quoteProblems(found.problems)}`
      : `no problem line (${read})`,
  }
}
