// What the `check vm` tests share: the names of the guests a case booted and the
// proof that nothing of them stayed (qemu, namespace, taps and bridge, scratch directory).
import {existsSync} from 'node:fs'
import {expect} from 'vitest'
import type {CaseReport, PlanParams} from '../../src/check/vm/types.js'
import {vmNames} from '../../src/testbed/vm.js'
import {run} from '../../src/util/exec.js'
import {leftovers} from './netpair.js'

/** The testbed names of the guests a case booted (`-name mqb-NAME,debug-threads=on`). */
export const guestNames = (r: CaseReport) =>
  r.guests.map((g) => /-name mqb-(\w+),/.exec(g.commandLine)?.[1] ?? '?')

export function nothingLeft(names: string[]): void {
  for (const name of names) {
    expect(leftovers(`mqb-${name}-`)).toEqual([])
    expect(run('pgrep', ['-f', `qemu-system-x86_64 -name mqb-${name},`]).stdout.trim()).toBe('')
    expect(existsSync(vmNames(name).dir)).toBe(false)
  }
}

export const checksById = (r: CaseReport) => Object.fromEntries(r.checks.map((c) => [c.id, c]))

/** The plan the tests run: 2 queues on 2 vCPUs, 20 sessions, 2 s loads, under TCG here. */
export const PLAN_2Q: PlanParams = {
  queues: 2,
  vcpus: 2,
  sessions: 20,
  durationMs: 2000,
  memoryMiB: 512,
  accel: 'auto',
}
