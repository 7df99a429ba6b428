// Addresses of the guests mqbench booted. They count as local for the non-local-target guard,
// as a namespace's addresses do (mqbench made the guest), but only while that guest's qemu still
// runs: each file names the qemu process by pid and start time.
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {CleanupRegistry} from './cleanup.js'
import {sameProcess, type ProcessRef} from './process.js'

const guestsDir = () => join(process.env.MQBENCH_STATE_DIR ?? '/run/mqbench/testbeds', 'guests')

export function registerGuestAddress(
  name: string,
  address: string,
  qemu: ProcessRef,
  cleanup: CleanupRegistry,
) {
  const file = join(guestsDir(), `${name}.json`)
  mkdirSync(guestsDir(), {recursive: true})
  writeFileSync(file, JSON.stringify({address, qemu}))
  return cleanup.add(`guest address ${address} of ${name}`, () => rmSync(file, {force: true}))
}

/** Removes a guest's address file (its owner was killed before its undo ran). */
export function forgetGuestAddress(name: string): void {
  rmSync(join(guestsDir(), `${name}.json`), {force: true})
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
    } catch {}
  }
  return out
}
