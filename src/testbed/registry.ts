// What testbeds exist: one JSON record per testbed under /run/mqbench/testbeds (tmpfs, so a
// reboot forgets them along with the namespaces), holding the owner's pid. `list` shows them
// and any mqb- object no live owner accounts for; `down` stops the owner and removes the objects
// even when the owner was killed with SIGKILL and never cleaned up.
import {existsSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {ensureDir, writeFileAtomic} from '../host/files.js'
import {run} from '../util/exec.js'
import {restoreDevState, type DevState} from './dev.js'
import {OBJECT_PREFIX, deleteNetns, linkExists, listNetns, netnsExists} from '../host/netns.js'
import type {TestbedKind} from './types.js'
import {forgetGuestAddress} from '../host/guests.js'
import {readQemuRecord, type GuestSetup} from '../vm/guest.js'
import {processStartTime, stopProcess} from '../host/process.js'

/**
 * Who holds a testbed. A holder (`testbed up`, foreground or --detach) exists to keep it until
 * `testbed down`; any other owner is a command that made the testbed for its own run (`scale`,
 * each guest of `check vm`) and removes it when the run ends: `down` leaves those alone
 * while the run lives.
 */
export interface TestbedOwner {
  /** "mqbench testbed up", "mqbench scale", "mqbench check" */
  command: string
  holder: boolean
  /** the owner's start time (/proc/PID/stat), so that a pid reused by another process is not the owner */
  startTime?: number
}

export interface TestbedRecord {
  name: string
  kind: TestbedKind
  /** the process that holds the testbed (and, for tap, runs its relay) */
  pid: number
  /** absent in records of earlier versions: taken for a holder */
  owner?: TestbedOwner
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

/**
 * A held testbed by name, for the commands that run against it (gen, rr, stream --testbed): exit 5
 * when there is none, exit 12 when a run made it for itself (load from here would be measured by
 * that run, and the testbed goes when the run ends) or it is still being set up.
 */
export function heldTestbed(name: string): TestbedRecord {
  const rec = readRecords().find((r) => r.name === name)
  if (!rec || !ownerAlive(rec))
    throw new MqbError(
      `no testbed ${name} is held${rec ? ` (its process ${rec.pid} is gone)` : ''}; start one with \`mqbench testbed up ${name}\``,
      ExitCode.noDevice,
    )
  if (testbedInUse(rec, true))
    throw new MqbError(
      `testbed ${name} is in use by ${ownerText(rec)} for its own run; hold one of your own with \`mqbench testbed up NAME\``,
      ExitCode.busy,
    )
  if (!rec.nsA && !rec.devA)
    throw new MqbError(
      `testbed ${name} is still being set up by ${ownerText(rec)}; run again once it is up`,
      ExitCode.busy,
    )
  return rec
}

export const stateDir = () => process.env.MQBENCH_STATE_DIR ?? '/run/mqbench/testbeds'

export function writeRecord(rec: TestbedRecord): void {
  ensureDir(stateDir())
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

/** The record's owner still runs: its pid is alive and, when recorded, started when the owner did. */
export function ownerAlive(rec: Pick<TestbedRecord, 'pid' | 'owner'>): boolean {
  if (!pidAlive(rec.pid)) return false
  return rec.owner?.startTime === undefined || processStartTime(rec.pid) === rec.owner.startTime
}

/** This process as a testbed's owner. */
export function ownerSelf(command: string, holder = false): TestbedOwner {
  return {command, holder, startTime: processStartTime(process.pid)}
}

/**
 * Whether a testbed is in use by a run in progress, which `down` must not pull from under it: its
 * owner lives and is not a holder (a holder is there to be taken down; a record of an earlier
 * version, without owner, counts as one).
 */
export function testbedInUse(rec: Pick<TestbedRecord, 'pid' | 'owner'>, alive: boolean): boolean {
  return alive && rec.owner !== undefined && !rec.owner.holder && rec.pid !== process.pid
}

/** "mqbench check (pid 4242)" */
export const ownerText = (rec: Pick<TestbedRecord, 'pid' | 'owner'>) =>
  `${rec.owner?.command ?? 'a process'} (pid ${rec.pid})`

/**
 * Why `testbed console NAME` must not type into a guest: a running command made it for its own
 * run (check, scale), as every other command that would change it is refused (exit 12).
 */
export function consoleRefusal(name: string): string | undefined {
  const rec = readRecords().find((r) => r.name === name)
  if (!rec || !testbedInUse(rec, ownerAlive(rec))) return undefined
  return `testbed ${name} is in use by ${ownerText(rec)}: typing into its guest would change what that run measures; watch it with \`mqbench testbed console ${name} --read-only\`, or attach once the run is over`
}

/**
 * Whether a namespace, link or scratch directory (NAME.vm, NAME-mig.vm) belongs to testbed
 * `name`: everything a testbed makes is named mqb-NAME-... (names are [a-z0-9]{1,9}, so the dash
 * ends the name), its guest directories NAME.vm and NAME-*.vm.
 */
export function belongsTo(name: string, object: string): boolean {
  if (object.endsWith('.vm')) return object === `${name}.vm` || object.startsWith(`${name}-`)
  return object.startsWith(`${OBJECT_PREFIX}${name}-`)
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

/**
 * Sorts mqb- objects for `list`, one verdict each: those a live testbed accounts for are not
 * listed; those of a testbed on record whose owner is gone are stale even when a process still
 * runs inside (the guest of a killed `scale` keeps running in mqb-NAME-h: it is part of the stale
 * testbed, and `down` removes it); only objects no record names are judged by their processes.
 */
export function classifyObjects(
  testbeds: Array<Pick<TestbedRecord, 'name' | 'nsA' | 'nsB' | 'devA' | 'devB'> & {alive: boolean}>,
  objects: string[],
  hasProcesses: (netns: string) => boolean,
): {stale: string[]; inUse: string[]} {
  // A testbed still being made has a record before its objects: they go by its name.
  const of = (t: (typeof testbeds)[number], o: string) =>
    [t.nsA, t.nsB, t.devA, t.devB].includes(o) || belongsTo(t.name, o)
  const stale: string[] = []
  const inUse: string[] = []
  for (const o of objects) {
    if (testbeds.some((t) => t.alive && of(t, o))) continue
    if (testbeds.some((t) => !t.alive && of(t, o))) stale.push(o)
    else if (hasProcesses(o)) inUse.push(o)
    else stale.push(o)
  }
  return {stale, inUse}
}

export function listTestbeds(): TestbedListing {
  const testbeds = readRecords().map((r) => ({...r, alive: ownerAlive(r)}))
  const {netns, links} = mqbObjects()
  const namespaces = new Set(netns)
  const {stale, inUse} = classifyObjects(testbeds, [...netns, ...links], (o) =>
    namespaces.has(o) ? netnsHasProcesses(o) : false,
  )
  return {testbeds, stale, inUse}
}

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

/** SIGTERM, then SIGKILL after `graceMs`; returns once the process is gone. */
function stopOwner(rec: Pick<TestbedRecord, 'pid' | 'owner'>, graceMs = 5000): void {
  const {pid} = rec
  if (pid === process.pid || !ownerAlive(rec)) return
  if (rec.owner?.startTime !== undefined) {
    stopProcess({pid, startTime: rec.owner.startTime}, graceMs)
    return
  }
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

/** The scratch directories of guests in the state directory (NAME.vm, NAME-mig.vm). */
function guestDirs(): string[] {
  try {
    return readdirSync(stateDir()).filter((f) => f.endsWith('.vm'))
  } catch {
    return []
  }
}

/**
 * Removes one testbed: stops its owner, deletes its objects, restores a device's state. A testbed
 * a running command made for itself is refused (exit 12) unless `force`: stopping it would end
 * that run.
 */
export function removeTestbed(name: string, opts: {force?: boolean; missingOk?: boolean} = {}): string[] {
  const rec = readRecords().find((r) => r.name === name)
  const alive = rec ? ownerAlive(rec) : false
  if (rec && !opts.force && testbedInUse(rec, alive))
    throw new MqbError(
      `testbed ${name} is in use by ${ownerText(rec)}; stop that run, or add --force`,
      ExitCode.busy,
    )
  // A record written before its testbed was made has no object names yet: they follow from the name.
  const names = rec?.nsA
    ? {...rec}
    : {
        nsA: `${OBJECT_PREFIX}${name}-a`,
        nsB: `${OBJECT_PREFIX}${name}-b`,
        devA: `${OBJECT_PREFIX}${name}-a`,
        devB: `${OBJECT_PREFIX}${name}-b`,
      }
  const removed: string[] = []
  if (rec && rec.pid !== process.pid && alive) {
    stopOwner(rec)
    removed.push(`testbed ${name} (its process ${rec.pid} stopped and cleaned up)`)
  }
  // A guest left by a SIGKILL or by --keep has no live owner: qemu goes before its namespace
  // (a migration's destination, NAME-mig.vm, too).
  for (const d of guestDirs().filter((f) => belongsTo(name, f)))
    removed.push(...removeGuest(join(stateDir(), d)))
  if (!rec?.nsA && netnsExists(`${OBJECT_PREFIX}${name}-h`)) names.nsA = `${OBJECT_PREFIX}${name}-h`
  removed.push(...removeObjects(names))
  if (rec?.devState) {
    const failed = restoreDevState(rec.devState)
    if (failed.length)
      throw new MqbError(`could not restore ${rec.devState.dev}: ${failed.join('; ')}`, ExitCode.failure)
    removed.push(`${rec.devState.dev} (settings restored)`)
  }
  // The log of a `testbed up --detach` whose background process failed is all that may be left.
  // Named only when it is all there was: a held testbed's log goes with it unsaid.
  const log = join(stateDir(), `${name}.log`)
  if (existsSync(log)) {
    rmSync(log, {force: true})
    if (!rec && removed.length === 0) removed.push(log)
  }
  if (!rec && removed.length === 0 && !opts.missingOk)
    throw new MqbError(`no testbed named ${name}; see \`mqbench testbed list\``, ExitCode.noDevice)
  removeRecord(name)
  return removed
}

/** A testbed `down --all` left to the run that uses it. */
export interface InUseTestbed {
  name: string
  pid: number
  command: string
}

/**
 * What `down --all` does with the testbeds on record: `remove` those whose owner is gone or is a
 * holder, leave those in use by a running command (`inUse`; all removed with `force`); `kept` says
 * whether an object (namespace, link, guest directory) belongs to one of those left.
 */
export function planDownAll(
  records: Array<TestbedRecord & {alive: boolean}>,
  force: boolean,
): {remove: string[]; inUse: InUseTestbed[]; kept: (object: string) => boolean} {
  const busy = force ? [] : records.filter((r) => testbedInUse(r, r.alive))
  return {
    remove: records.filter((r) => !busy.includes(r)).map((r) => r.name),
    inUse: busy.map((r) => ({name: r.name, pid: r.pid, command: r.owner!.command})),
    kept: (o) => busy.some((r) => belongsTo(r.name, o) || [r.nsA, r.nsB, r.devA, r.devB].includes(o)),
  }
}

/**
 * Removes what is left over: every testbed whose owner is gone or is a holder (`testbed up`), and
 * every mqb- object, including those a SIGKILL left behind. Testbeds a running command made for
 * itself (`scale`, `check vm`) and everything named after them are left to that run
 * (`inUse`), and so is a namespace outside any testbed that a process still runs in (a test or
 * benchmark of its own, `skipped`); `force` removes both.
 */
export function removeAll(opts: {force?: boolean} = {}): {
  removed: string[]
  skipped: string[]
  inUse: InUseTestbed[]
} {
  const {remove, inUse, kept} = planDownAll(
    readRecords().map((r) => ({...r, alive: ownerAlive(r)})),
    opts.force ?? false,
  )
  const removed = remove.flatMap((name) => removeTestbed(name, {force: true, missingOk: true}))
  // Guests nobody holds (their owner was killed while booting, or --keep) run inside their
  // namespace and would make it look in use: stop them first.
  for (const d of guestDirs().filter((f) => !kept(f))) removed.push(...removeGuest(join(stateDir(), d)))
  const {netns, links} = mqbObjects()
  const candidates = netns.filter((n) => !kept(n))
  const skipped = opts.force ? [] : candidates.filter(netnsHasProcesses)
  for (const ns of candidates.filter((n) => !skipped.includes(n))) {
    deleteNetns(ns)
    removed.push(ns)
  }
  for (const l of links.filter((n) => !kept(n))) {
    if (run('ip', ['link', 'del', l]).status === 0) removed.push(l)
  }
  return {removed, skipped, inUse}
}
