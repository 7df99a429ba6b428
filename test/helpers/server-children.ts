// Server processes that startServerProcess() forked from this checkout (src/sessions/server-process.ts),
// so that tests can check that none outlives its command.
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

const CHILD = join(import.meta.dirname, '../../dist/sessions/server-child.js')

/** Live server processes of this checkout; with `parent`, only that process's children. */
export function serverChildren(parent?: number): number[] {
  const pids: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8')
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(CHILD)) continue
      if (/^State:\s+Z/m.test(status)) continue
      if (parent === undefined || Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === parent) pids.push(Number(d))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}
