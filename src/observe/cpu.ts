// CPU time from /proc/stat (per CPU, host-wide) and from the process itself (rusage). Sessions
// use the deltas for utilisation and service demand on each side, the scale sweep keeps the
// per-CPU times of every iteration. /proc/stat counts in USER_HZ ticks, which is 100 on every
// Linux ABI node runs on (sysconf(_SC_CLK_TCK) is fixed by the kernel's ABI, not by CONFIG_HZ).
import {readFileSync} from 'node:fs'
import type {CpuUtilisation, PerCpuTime} from '../results/schema.js'

export const USER_HZ = 100

/** One CPU's cumulative counters from /proc/stat, in ticks. */
export interface RawCpuTimes {
  cpu: number
  user: number
  nice: number
  system: number
  idle: number
  iowait: number
  irq: number
  softirq: number
  steal: number
}

export function parseProcStat(text: string): RawCpuTimes[] {
  const out: RawCpuTimes[] = []
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    const f = m[2].trim().split(/\s+/).map(Number)
    // Fields added to /proc/stat over the years (iowait 2.5.41, steal 2.6.11) are 0 when absent.
    const at = (i: number) => (Number.isFinite(f[i]) ? f[i] : 0)
    out.push({
      cpu: Number(m[1]),
      user: at(0),
      nice: at(1),
      system: at(2),
      idle: at(3),
      iowait: at(4),
      irq: at(5),
      softirq: at(6),
      steal: at(7),
    })
  }
  return out
}

/** Per-CPU counters now; `root` is where / is (fixture trees in tests). */
export function readProcStat(root = '/'): RawCpuTimes[] {
  return parseProcStat(readFileSync(`${root}proc/stat`, 'utf8'))
}

const ms = (ticks: number) => (ticks * 1000) / USER_HZ

/** Time each CPU spent in each state between two readings; CPUs missing from either are left out. */
export function cpuDelta(a: RawCpuTimes[], b: RawCpuTimes[]): PerCpuTime[] {
  const before = new Map(a.map((c) => [c.cpu, c]))
  const out: PerCpuTime[] = []
  for (const after of b) {
    const x = before.get(after.cpu)
    if (!x) continue // a CPU that came online in between has no baseline
    // A counter that went backwards (CPU hot-unplugged and back) counts as 0, never negative.
    const d = (k: keyof RawCpuTimes) => ms(Math.max(0, after[k] - x[k]))
    out.push({
      cpu: after.cpu,
      userMs: d('user'),
      niceMs: d('nice'),
      sysMs: d('system'),
      idleMs: d('idle'),
      iowaitMs: d('iowait'),
      irqMs: d('irq'),
      softirqMs: d('softirq'),
      stealMs: d('steal'),
    })
  }
  return out
}

/** Milliseconds of CPU work (user, nice, sys, irq, softirq) summed over the CPUs. */
export function cpuBusyMs(d: PerCpuTime[]): number {
  return d.reduce((s, c) => s + c.userMs + c.niceMs + c.sysMs + c.irqMs + c.softirqMs, 0)
}

export function cpuUtilisation(d: PerCpuTime[]): CpuUtilisation {
  const total = d.reduce(
    (s, c) => s + c.userMs + c.niceMs + c.sysMs + c.idleMs + c.iowaitMs + c.irqMs + c.softirqMs + c.stealMs,
    0,
  )
  const pct = (v: number) => (total > 0 ? (100 * v) / total : 0)
  const sum = (f: (c: PerCpuTime) => number) => d.reduce((s, c) => s + f(c), 0)
  return {
    userPct: pct(sum((c) => c.userMs + c.niceMs)),
    sysPct: pct(sum((c) => c.sysMs)),
    softirqPct: pct(sum((c) => c.softirqMs)),
    irqPct: pct(sum((c) => c.irqMs)),
    totalPct: pct(cpuBusyMs(d)),
    cpus: d.length,
  }
}

/** This process's own CPU time (rusage), in microseconds. */
export interface ProcessCpu {
  userUs: number
  sysUs: number
}

export function processCpu(): ProcessCpu {
  const u = process.cpuUsage()
  return {userUs: u.user, sysUs: u.system}
}

export function processCpuDelta(a: ProcessCpu, b: ProcessCpu): ProcessCpu {
  return {userUs: b.userUs - a.userUs, sysUs: b.sysUs - a.sysUs}
}

/** A CPU window: host-wide per-CPU times and the process's own, started now, read by end(). */
export function cpuWindow(root = '/'): {
  end(): {perCpu: PerCpuTime[]; utilisation: CpuUtilisation; busyMs: number; process: ProcessCpu}
} {
  const a = readProcStat(root)
  const pa = processCpu()
  return {
    end() {
      const perCpu = cpuDelta(a, readProcStat(root))
      return {
        perCpu,
        utilisation: cpuUtilisation(perCpu),
        busyMs: cpuBusyMs(perCpu),
        process: processCpuDelta(pa, processCpu()),
      }
    },
  }
}
