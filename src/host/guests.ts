// Addresses of the guests mqbench booted. They count as local for the non-local-target guard,
// as a namespace's addresses do (mqbench made the guest), but only while that guest's qemu still
// runs: each file names the qemu process by pid and start time.
import {readFileSync, readdirSync, rmSync, rmdirSync} from 'node:fs'
import {join} from 'node:path'
import type {CleanupRegistry} from './cleanup.js'
import {ensureDir, writeFileAtomic} from './files.js'
import {sameProcess, type ProcessRef} from './process.js'

const guestsDir = () => join(process.env.MQBENCH_STATE_DIR ?? '/run/mqbench/testbeds', 'guests')

export function registerGuestAddress(
  name: string,
  address: string,
  qemu: ProcessRef,
  cleanup: CleanupRegistry,
) {
  const file = join(guestsDir(), `${name}.json`)
  ensureDir(guestsDir())
  writeFileAtomic(file, JSON.stringify({address, qemu}))
  return cleanup.add(`guest address ${address} of ${name}`, () => forgetGuestAddress(name))
}

/**
 * Removes a guest's address file, and the folder with its last file, so that nothing of a guest
 * stays in the state directory once it is gone.
 */
export function forgetGuestAddress(name: string): void {
  rmSync(join(guestsDir(), `${name}.json`), {force: true})
  try {
    rmdirSync(guestsDir())
  } catch {} // not empty: other guests still run
}

export function guestAddresses(): string[] {
  let files: string[] = []
  try {
    files = readdirSync(guestsDir()).filter((f) => f.endsWith('.json'))
  } catch {
    return []
  }
  const out: string[] = []
  for (const f of files) {
    try {
      const g = JSON.parse(readFileSync(join(guestsDir(), f), 'utf8')) as {address: string; qemu: ProcessRef}
      if (sameProcess(g.qemu)) out.push(g.address)
      // Its qemu is gone (an owner killed before its undo ran): the file says nothing any more.
      else forgetGuestAddress(f.slice(0, -'.json'.length))
    } catch {}
  }
  return out
}
