// Guest address files: an address counts as local only while its qemu runs, and a file whose qemu
// is gone (its owner killed before the undo ran) is removed with its folder, leaving nothing behind.
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, expect, it} from 'vitest'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {guestAddresses, registerGuestAddress} from '../../src/host/guests.js'
import {processStartTime} from '../../src/host/process.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mqb-guests-'))
  process.env.MQBENCH_STATE_DIR = dir
})
afterEach(() => {
  delete process.env.MQBENCH_STATE_DIR
  rmSync(dir, {recursive: true, force: true})
})

it('keeps a running guest, prunes a dead one, and removes the folder with the last file', () => {
  const cleanup = new CleanupRegistry()
  const self = {pid: process.pid, startTime: processStartTime(process.pid)!}
  registerGuestAddress('live', '198.18.9.2', self, cleanup)
  registerGuestAddress('dead', '198.18.9.6', {pid: process.pid, startTime: self.startTime + 1}, cleanup)
  expect(guestAddresses()).toEqual(['198.18.9.2'])
  expect(existsSync(join(dir, 'guests', 'dead.json'))).toBe(false)
  cleanup.runAll()
  expect(existsSync(join(dir, 'guests'))).toBe(false)
})
