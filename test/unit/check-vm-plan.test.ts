// The plan runner without guests: selection by id, a case that throws or overruns its bound
// ends as a FAIL saying why, and the next case still runs; an interrupt stops the plan.
import {describe, expect, it} from 'vitest'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {runVmPlan, selectCases} from '../../src/check/vm/plan.js'
import type {PlanParams, VmCase} from '../../src/check/vm/types.js'
import {MqbError} from '../../src/errors.js'

const params: PlanParams = {queues: 2, vcpus: 2, sessions: 20, durationMs: 1000, memoryMiB: 512, accel: 'tcg'}

const fake = (id: string, run: VmCase['run'], set: VmCase['set'] = 'default', boundMs = 1000): VmCase => ({
  id,
  title: `case ${id}`,
  source: 'fedora',
  set,
  boundMs: () => boundMs,
  run,
})

const pass = fake('a', async () => ({checks: [{id: 'x', title: 'x', status: 'PASS', evidence: 'read 1'}]}))
const na = fake(
  'b',
  async () => ({checks: [{id: 'y', title: 'y', status: 'N/A', evidence: 'no module'}]}),
  'extended',
)

describe('selectCases', () => {
  it('takes the default set, adds the extended one on request, or the ids named', () => {
    expect(selectCases(undefined, false, [pass, na]).map((c) => c.id)).toEqual(['a'])
    expect(selectCases([], true, [pass, na]).map((c) => c.id)).toEqual(['a', 'b'])
    expect(selectCases(['b'], false, [pass, na]).map((c) => c.id)).toEqual(['b'])
  })
  it('names unknown cases and the known ones', () => {
    expect(() => selectCases(['a', 'zz'], false, [pass, na])).toThrow(/unknown case zz: the cases are a, b/)
  })
})

describe('runVmPlan', () => {
  it('turns a throw and an overrun into FAILs and still runs the next case', async () => {
    const seen: string[] = []
    const throws = fake('t', async (ctx) => {
      ctx.phase('reading channels')
      throw new Error('agent said no')
    })
    const hangs = fake(
      'h',
      (ctx) => new Promise(() => ctx.phase('waiting for DEVICE_DELETED')),
      'default',
      50,
    )
    const r = await runVmPlan(params, [throws, hangs, pass, na], {
      cleanup: new CleanupRegistry(),
      onCase: (c) => seen.push(c.id),
    })
    expect(seen).toEqual(['t', 'h', 'a', 'b'])
    expect(r.cases[0].checks[0]).toMatchObject({
      status: 'FAIL',
      evidence: 'agent said no (last step: reading channels)',
    })
    expect(r.cases[1].checks[0].evidence).toMatch(
      /did not finish within 0.05 s \(last step: waiting for DEVICE_DELETED\)/,
    )
    expect([r.passed, r.failed, r.na]).toEqual([1, 2, 1])
  })
  it("checks a guest's queue count unless the case asks for it unchecked (negative_qemu)", async () => {
    // Refused before anything is recorded or made: no namespace, no qemu.
    const zero = fake('z', async (ctx) => {
      await ctx.boot({queues: 0})
      return {checks: []}
    })
    const r = await runVmPlan(params, [zero], {cleanup: new CleanupRegistry()})
    expect(r.cases[0].checks[0]).toMatchObject({
      status: 'FAIL',
      evidence: 'a testbed needs at least 1 queue, not 0',
    })
  })
  it('stops at an interrupt with the interrupted exit code', async () => {
    const abort = new AbortController()
    const stops = fake('s', async () => {
      abort.abort()
      return {checks: []}
    })
    const err = await runVmPlan(params, [stops, pass], {
      cleanup: new CleanupRegistry(),
      signal: abort.signal,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(130)
  })
})
