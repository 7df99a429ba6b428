// Processes mqbench starts and must be able to stop later, also from another mqbench process
// after a SIGKILL: identified by pid *and* start time, so a reused pid is never signalled.
import {readFileSync} from 'node:fs'

/** Field 22 of /proc/PID/stat (clock ticks since boot); undefined when the process is gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (rest[0] === 'Z') return undefined
    return Number(rest[19])
  } catch {
    return undefined
  }
}

export interface ProcessRef {
  pid: number
  startTime: number
}

export const sameProcess = (ref: ProcessRef) => processStartTime(ref.pid) === ref.startTime

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/**
 * SIGTERM, then SIGKILL after `graceMs`; waits until it is gone. Synchronous, because undo
 * actions also run from process 'exit'. Returns false when the process was not (or no longer) ours.
 */
export function stopProcess(ref: ProcessRef, graceMs = 3000): boolean {
  if (!sameProcess(ref)) return false
  try {
    process.kill(ref.pid, 'SIGTERM')
  } catch {
    return false
  }
  for (let waited = 0; waited < graceMs && sameProcess(ref); waited += 20) sleepMs(20)
  if (sameProcess(ref)) {
    try {
      process.kill(ref.pid, 'SIGKILL')
    } catch {}
    for (let waited = 0; waited < 3000 && sameProcess(ref); waited += 20) sleepMs(20)
  }
  return true
}
