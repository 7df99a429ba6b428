// Where a test plan's outcome is read (the closing line, the exit code, the page, the file) it
// must say what happened: regressions against --baseline count as failures; a baseline that
// cannot be compared is refused before anything boots; an interrupted case is INTERRUPTED, not
// FAIL, and the cases never started are listed; --out is probed before anything boots.
// Fixtures: the real plan run (plan-vm-tcg.json, version 1) and one derived from it with
// --repeats 3 and a baseline comparison (plan-vm-baseline-tcg.json, made by plan-baseline.ts).
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {
  baselineHeadline,
  judgeBaseline,
  loadBaselinePlan,
  refuseIncomparableBaseline,
} from '../../src/check/vm/baseline.js'
import {casesNotRun, runVmPlan} from '../../src/check/vm/plan.js'
import type {CaseReport, VmCase} from '../../src/check/vm/types.js'
import {ExitCode, MqbError} from '../../src/errors.js'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {renderPlanHtml} from '../../src/report/plan-page.js'
import {
  planClosingLine,
  planFailures,
  planResults,
  PLAN_VERSION,
  validatePlanResults,
  type PlanResultsFile,
} from '../../src/results/plan.js'
import {mqbench} from '../helpers/mqbench-cli.js'

const fixture = (name: string) => new URL(`../fixtures/results/${name}`, import.meta.url).pathname
const PLAN = fixture('plan-vm-tcg.json')
const WITH_BASELINE = fixture('plan-vm-baseline-tcg.json')
const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as PlanResultsFile
const dir = mkdtempSync(join(tmpdir(), 'mqb-plan-trust-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function thrown(fn: () => unknown): MqbError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MqbError)
    return err as MqbError
  }
  throw new Error('expected a refusal')
}

describe('regressions against --baseline are failures (issue 22, point 3)', () => {
  const f = validatePlanResults(read(WITH_BASELINE))

  it('the closing line and the exit count them with the failed checks', () => {
    expect(f.failed).toBe(0)
    expect(f.baseline!.regressions).toBe(2)
    expect(planFailures(f)).toBe(2)
    expect(planClosingLine(f)).toMatch(
      /^39 passed, 2 failed \(2 regressed against the baseline\), 0 n\/a \(\d+ s\)$/,
    )
    expect(planClosingLine(validatePlanResults(read(PLAN)))).toMatch(
      /^39 passed, 0 failed, 0 n\/a \(\d+ s\)$/,
    )
  })

  it('the page shows each load against the baseline, the verdict and the noise rule', () => {
    const html = renderPlanHtml(f)
    expect(html).toMatch(/<title>mqbench test plan: 39 passed, 2 failed \(2 regressed against the baseline\)/)
    expect(html).toContain('<section id="baseline">')
    expect(html.match(/data-baseline-load=/g)).toHaveLength(4)
    expect(html).toContain('2 of 4 load(s) compared regressed beyond the noise')
    expect(html).toMatch(
      /the ranges \(max − min\) of the repeats of both runs added together, relative to the baseline\S* median, and never less than 5%/,
    )
    // 8,269 now (7,939–8,518) against 12,818 (12,305–13,202)
    expect(html).toMatch(
      /8,269 <span class="range">\(7,939–8,518\)<\/span><\/td><td class="base">12,818 <span class="range">\(12,305–13,202\)/,
    )
    // a plan without --baseline has no such section
    expect(renderPlanHtml(validatePlanResults(read(PLAN)))).not.toContain('id="baseline"')
  })

  it('a comparison that judged nothing never says "0 regressed"', () => {
    const base = validatePlanResults(read(WITH_BASELINE))
    const kvm = structuredClone(base)
    for (const c of kvm.cases) for (const g of c.guests) g.accel = 'kvm'
    const none = judgeBaseline(kvm, base, 'b.json')
    expect(none.regressions).toBe(0)
    expect(baselineHeadline(none)).toBe(
      'against b.json: no load could be compared (each says why): not a pass',
    )
    expect(renderPlanHtml({...base, baseline: none})).not.toMatch(
      /0 (of \d+ )?load\(s\)( compared)? regressed/,
    )
  })
})

describe('a baseline that cannot be compared is refused before booting (issue 22, point 4)', () => {
  const params = {queues: 2, vcpus: 2, sessions: 20, durationMs: 2000, repeats: 3}
  it('one recorded without --repeats: exit 7, naming the repeats it has and needs', () => {
    const err = thrown(() => refuseIncomparableBaseline(PLAN, loadBaselinePlan(PLAN), params, ['mq']))
    expect(err.exitCode).toBe(ExitCode.badResults)
    expect(err.message).toBe(
      `--baseline ${PLAN}: it was recorded with 1 repeat of each load (without --repeats); a comparison needs 3 or more on both runs to measure the noise: record it again with --repeats 3`,
    )
  })

  it('one of another setup, or without loads of the cases to run', () => {
    const base = loadBaselinePlan(WITH_BASELINE)
    expect(() => refuseIncomparableBaseline('b', base, params, ['mq'])).not.toThrow()
    expect(thrown(() => refuseIncomparableBaseline('b', base, {...params, queues: 4}, ['mq'])).message).toBe(
      "--baseline b: its loads cannot be compared with this run's: the runs differ: queues 2 in the baseline, 4 now",
    )
    expect(
      thrown(() => refuseIncomparableBaseline('b', base, {...params, repeats: 5}, ['mq'])).message,
    ).toMatch(/repeats 3 in the baseline, 5 now/)
    expect(thrown(() => refuseIncomparableBaseline('b', base, params, ['boot', 'gen'])).message).toBe(
      '--baseline b: it holds no load of the cases to run (boot, gen); its loads are of mq, stress',
    )
  })

  it('check vm says so in one line, exit 7, before anything boots', async () => {
    const t = performance.now()
    const r = await mqbench(['check', 'vm', '--cases', 'mq', '--baseline', PLAN, '--out', dir])
    expect(r.status).toBe(ExitCode.badResults)
    expect(r.stderr.trim()).toBe(
      `mqbench: --baseline ${PLAN}: it was recorded with 1 repeat of each load (without --repeats); a comparison needs 3 or more on both runs to measure the noise: record it again with --repeats 3`,
    )
    expect(r.stderr).not.toMatch(/booting/)
    expect(performance.now() - t).toBeLessThan(10_000)
  })
})

describe('--out is probed before anything boots (issue 22, point 2)', () => {
  it('a directory that cannot be made: one line, exit 3, no guest booted', async () => {
    const file = join(dir, 'a-file')
    writeFileSync(file, 'x')
    const t = performance.now()
    const r = await mqbench(['check', 'vm', '--cases', 'boot', '--out', join(file, 'results')])
    expect(r.status).toBe(ExitCode.badInput)
    expect(r.stderr.trim()).toBe(
      `mqbench: cannot write ${join(file, 'results')}: a part of ${join(file, 'results')} is not a directory`,
    )
    expect(performance.now() - t).toBeLessThan(10_000)
  })
})

describe('interrupted is not failed (issue 22, point 9)', () => {
  // The plan as the runner sees it: three cases, the second blocks until Ctrl-C.
  const table: VmCase[] = ['one', 'two', 'three'].map((id) => ({
    id,
    title: `case ${id}`,
    source: 'fedora',
    set: 'default',
    boundMs: () => 60_000,
    run: (ctx) =>
      id === 'one'
        ? Promise.resolve({checks: [{id: 'x', title: 'x', status: 'PASS', evidence: 'fine'}]})
        : new Promise((_resolve, reject) => {
            ctx.phase('waiting')
            ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))
          }),
  }))
  const params = {queues: 2, vcpus: 2, sessions: 20, durationMs: 1000, memoryMiB: 512, accel: 'tcg' as const}

  it('the runner marks the stopped case interrupted (an N/A, not a FAIL), and the rest as not run', async () => {
    const abort = new AbortController()
    const ended: CaseReport[] = []
    const run = runVmPlan(params, table, {
      cleanup: new CleanupRegistry(),
      signal: abort.signal,
      onCase: (c) => {
        ended.push(c)
      },
      onPhase: (line) => {
        if (line.startsWith('two:')) abort.abort()
      },
    })
    await expect(run).rejects.toMatchObject({exitCode: ExitCode.interrupted})
    expect(ended.map((c) => [c.id, c.interrupted ?? false])).toEqual([
      ['one', false],
      ['two', true],
    ])
    expect(ended[1].checks).toEqual([
      {
        id: 'completed',
        title: 'the case ran to its end',
        status: 'N/A',
        evidence: 'interrupted (last step: waiting)',
      },
    ])
    const notRun = casesNotRun(table, ended)
    expect(notRun).toEqual([{id: 'three', title: 'case three', source: 'fedora'}])

    const real = read(PLAN)
    const file = planResults(
      {params, cases: ended, passed: 1, failed: 0, na: 1, wallMs: 5, notRun},
      {host: real.host, command: 'mqbench check vm', at: new Date(), status: 'interrupted'},
    )
    const valid = validatePlanResults(JSON.parse(JSON.stringify(file)))
    expect(planClosingLine(valid)).toMatch(/^1 passed, 0 failed, 1 n\/a, 1 interrupted, 1 not run/)
    const html = renderPlanHtml(valid)
    expect(html).toMatch(/<span class="status INTERRUPTED">INTERRUPTED<\/span> two: case two/)
    expect(html).toContain('<li data-not-run="three">three: case three (fedora)</li>')
    expect(html).toMatch(
      /<tr data-overview="three"><td>three<\/td><td>fedora<\/td><td class="status NA">NOT RUN/,
    )
    // an interrupted case in a file that says it completed, or a case listed as run and not run, is refused
    expect(() => validatePlanResults({...JSON.parse(JSON.stringify(file)), status: 'complete'})).toThrow(
      /case "two" was interrupted, but the plan's status is complete/,
    )
    expect(() =>
      validatePlanResults({
        ...JSON.parse(JSON.stringify(file)),
        notRun: [{id: 'one', title: '', source: 'fedora'}],
      }),
    ).toThrow(/case "one" is listed as not run, yet cases.0 ran it/)
  })

  it('a version 1 file (its interrupted case a FAIL) is upgraded in memory; the fixtures still load', () => {
    expect(PLAN_VERSION).toBe(2)
    for (const name of ['plan-vm-tcg.json', 'plan-vm-gen-tcg.json']) {
      const raw = read(fixture(name))
      expect(raw.version).toBe(1)
      expect(validatePlanResults(raw).version).toBe(2)
    }
    // what the version 1 writer made of a Ctrl-C during the third case
    const v1 = read(PLAN)
    v1.cases = v1.cases.slice(0, 3)
    v1.cases[2] = {
      ...v1.cases[2],
      checks: [{id: 'completed', title: 'the case ran to its end', status: 'FAIL', evidence: 'interrupted'}],
      error: 'interrupted',
    }
    const all = v1.cases.flatMap((c) => c.checks)
    const count = (s: string) => all.filter((k) => k.status === s).length
    Object.assign(v1, {status: 'interrupted', passed: count('PASS'), failed: count('FAIL'), na: count('N/A')})
    expect(v1.failed).toBe(1)
    const na = v1.na
    const up = validatePlanResults(v1)
    expect(up.cases[2]).toMatchObject({interrupted: true, checks: [{id: 'completed', status: 'N/A'}]})
    expect([up.failed, up.na]).toEqual([0, na + 1])
    expect(up.notRun).toBeUndefined()
    expect(renderPlanHtml(up)).toMatch(/class="status INTERRUPTED">INTERRUPTED</)
  })
})
