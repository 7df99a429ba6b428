// What testbeds exist: one JSON record per testbed under /run/mqbench/testbeds (tmpfs, so a
// reboot forgets them along with the namespaces), holding the owner's pid. `list` shows them
// and any mqb- object no live owner accounts for; `down` stops the owner and removes the objects
// even when the owner was killed with SIGKILL and never cleaned up.
import {existsSync, mkdirSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {writeFileAtomic} from '../host/files.js'
import {run} from '../util/exec.js'
import {restoreDevState, type DevState} from './dev.js'
import {OBJECT_PREFIX, deleteNetns, linkExists, listNetns, netnsExists} from '../host/netns.js'
import type {TestbedKind} from './types.js'
import {forgetGuestAddress} from '../host/guests.js'
import {readQemuRecord, type GuestSetup} from '../vm/guest.js'
import {stopProcess} from '../host/process.js'

export interface TestbedRecord {
  name: string
  kind: TestbedKind
  /** the process that holds the testbed (and, for tap, runs its relay) */
  pid: number
  createdAt: string
  nsA: string
  nsB: string
  devA: string
  devB: string
  ipA: string
  ipB: string
  maxQueues: number
  /** dev testbeds: what to write back if the owner died before restoring it */
  devState?: DevState
  /** vm testbeds: the guest's setup (qemu command line, kernel, accel, ...) */
  guest?: GuestSetup
  /** the session server `testbed up` holds at the far end, for `rr`/`stream --testbed NAME` */
  server?: {host: string; port: number; token?: string}
}

/** A held testbed by name, for the commands that run against it; exit 5 when there is none. */
export function heldTestbed(name: string): TestbedRecord {
  const rec = readRecords().find((r) => r.name === name)
  if (!rec || !pidAlive(rec.pid))
    throw new MqbError(
      `no testbed ${name} is held${rec ? ` (its process ${rec.pid} is gone)` : ''}; start one with \`mqbench testbed up ${name}\``,
      ExitCode.noDevice,
    )
  return rec
}

export const stateDir = () => process.env.MQBENCH_STATE_DIR ?? '/run/mqbench/testbeds'

export function writeRecord(rec: TestbedRecord): void {
  mkdirSync(stateDir(), {recursive: true})
  writeFileAtomic(join(stateDir(), `${rec.name}.json`), JSON.stringify(rec, null, 2))
}

export function removeRecord(name: string): void {
  rmSync(join(stateDir(), `${name}.json`), {force: true})
}

export function readRecords(): TestbedRecord[] {
  let files: string[] = []
  try {
    files = readdirSync(stateDir()).filter((f) => f.endsWith('.json'))
  } catch {}
  const out: TestbedRecord[] = []
  for (const f of files) {
    try {
      out.push(JSON.parse(readFileSync(join(stateDir(), f), 'utf8')) as TestbedRecord)
    } catch {
      // a record cut short by a crash mid-write is useless; its objects show up as stale
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** A process that exists and is not a zombie (an exited owner nobody has reaped yet). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** mqb- namespaces, and links in this namespace whose name starts with mqb. */
export function mqbObjects(): {netns: string[]; links: string[]} {
  const links = run('ip', ['-o', 'link', 'show'])
    .stdout.split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
  return {
    netns: listNetns().filter((n) => n.startsWith(OBJECT_PREFIX)),
    links: links.filter((l) => l.startsWith('mqb')),
  }
}

export interface TestbedListing {
  testbeds: Array<TestbedRecord & {alive: boolean}>
  /** mqb- objects that no testbed with a live owner accounts for and no process runs in */
  stale: string[]
  /** mqb- namespaces outside any testbed with processes inside (a test or benchmark running now) */
  inUse: string[]
}

/** Whether any process runs inside the namespace (`ip netns pids`). */
function netnsHasProcesses(ns: string): boolean {
  return run('ip', ['netns', 'pids', ns]).stdout.trim() !== ''
}

export function listTestbeds(): TestbedListing {
  const testbeds = readRecords().map((r) => ({...r, alive: pidAlive(r.pid)}))
  const owned = new Set(testbeds.filter((t) => t.alive).flatMap((t) => [t.nsA, t.nsB, t.devA, t.devB]))
  const {netns, links} = mqbObjects()
  const inUse = netns.filter((n) => !owned.has(n) && netnsHasProcesses(n))
  return {testbeds, stale: [...netns, ...links].filter((n) => !owned.has(n) && !inUse.includes(n)), inUse}
}

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** SIGTERM, then SIGKILL after `graceMs`; returns once the process is gone. */
function stopOwner(pid: number, graceMs = 5000): void {
  if (pid === process.pid || !pidAlive(pid)) return
  process.kill(pid, 'SIGTERM')
  for (let waited = 0; waited < graceMs && pidAlive(pid); waited += 50) sleepMs(50)
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL')
  for (let waited = 0; waited < 2000 && pidAlive(pid); waited += 50) sleepMs(50)
}

/**
 * A guest's scratch directory (NAME.vm next to the records) holds qemu.json, its pid and start
 * time: qemu is stopped only if that very process still runs, then the directory goes.
 */
function removeGuest(vmDir: string): string[] {
  const removed: string[] = []
  const ref = readQemuRecord(vmDir)
  if (ref && stopProcess(ref)) removed.push(`qemu (pid ${ref.pid})`)
  if (existsSync(vmDir)) {
    rmSync(vmDir, {recursive: true, force: true})
    removed.push(vmDir)
  }
  forgetGuestAddress(basename(vmDir, '.vm'))
  return removed
}

function removeObjects(names: {nsA: string; nsB: string; devA: string; devB: string}): string[] {
  const removed: string[] = []
  for (const ns of [names.nsA, names.nsB]) {
    if (ns && netnsExists(ns)) {
      deleteNetns(ns)
      removed.push(ns)
    }
  }
  for (const dev of [names.devA, names.devB]) {
    if (dev.startsWith('mqb') && linkExists(dev)) {
      run('ip', ['link', 'del', dev])
      removed.push(dev)
    }
  }
  return removed
}

/** Removes one testbed: stops its owner, deletes its objects, restores a device's state. */
export function removeTestbed(name: string): string[] {
  const rec = readRecords().find((r) => r.name === name)
  const names = rec ?? {
    nsA: `${OBJECT_PREFIX}${name}-a`,
    nsB: `${OBJECT_PREFIX}${name}-b`,
    devA: `${OBJECT_PREFIX}${name}-a`,
    devB: `${OBJECT_PREFIX}${name}-b`,
  }
  const removed: string[] = []
  if (rec && rec.pid !== process.pid && pidAlive(rec.pid)) {
    stopOwner(rec.pid)
    removed.push(`testbed ${name} (its process ${rec.pid} stopped and cleaned up)`)
  }
  // A guest left by a SIGKILL or by --keep has no live owner: qemu goes before its namespace.
  removed.push(...removeGuest(join(stateDir(), `${name}.vm`)))
  if (!rec && netnsExists(`${OBJECT_PREFIX}${name}-h`)) names.nsA = `${OBJECT_PREFIX}${name}-h`
  removed.push(...removeObjects(names))
  if (rec?.devState) {
    const failed = restoreDevState(rec.devState)
    if (failed.length)
      throw new MqbError(`could not restore ${rec.devState.dev}: ${failed.join('; ')}`, ExitCode.failure)
    removed.push(`${rec.devState.dev} (settings restored)`)
  }
  if (!rec && removed.length === 0)
    throw new MqbError(`no testbed named ${name}; see \`mqbench testbed list\``, ExitCode.noDevice)
  removeRecord(name)
  rmSync(join(stateDir(), `${name}.log`), {force: true})
  return removed
}

/**
 * Removes every testbed and every mqb- object, including those a SIGKILL left behind. A
 * namespace outside any testbed that a process still runs in (a test or benchmark of its own) is
 * left alone unless `force`.
 */
export function removeAll(opts: {force?: boolean} = {}): {removed: string[]; skipped: string[]} {
  const removed = readRecords().flatMap((r) => removeTestbed(r.name))
  // Guests nobody holds (their owner was killed while booting, or --keep) run inside their
  // namespace and would make it look in use: stop them first.
  let dirs: string[] = []
  try {
    dirs = readdirSync(stateDir()).filter((f) => f.endsWith('.vm'))
  } catch {}
  for (const d of dirs) removed.push(...removeGuest(join(stateDir(), d)))
  const {netns, links} = mqbObjects()
  const skipped = opts.force ? [] : netns.filter(netnsHasProcesses)
  for (const ns of netns.filter((n) => !skipped.includes(n))) {
    deleteNetns(ns)
    removed.push(ns)
  }
  for (const l of links) {
    if (run('ip', ['link', 'del', l]).status === 0) removed.push(l)
  }
  return {removed, skipped}
}
