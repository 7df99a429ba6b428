// The test-plan results file of `check vm`: a real run's file (2 queues, TCG) loads and
// renders; its validator refuses what is wrong (and the scale validator still requires steps);
// files are written once, atomically, under a name no other run has.
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {loadResults} from '../../src/results/load.js'
import {
  loadAnyResults,
  planResults,
  validatePlanResults,
  writePlanResults,
  type PlanResultsFile,
} from '../../src/results/plan.js'
import {renderPlanHtml} from '../../src/report/plan-page.js'

const fixture = new URL('../fixtures/results/plan-vm-tcg.json', import.meta.url).pathname
const real = () => JSON.parse(readFileSync(fixture, 'utf8')) as PlanResultsFile
const dir = mkdtempSync(join(tmpdir(), 'mqb-plan-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function refused(obj: unknown): string {
  try {
    validatePlanResults(obj, 'x.json')
  } catch (err) {
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.badResults)
    return (err as MqbError).message
  }
  throw new Error('expected a refusal')
}

describe('test-plan results', () => {
  it('a real run loads, through the dispatching loader too, and records every guest under TCG', () => {
    const f = validatePlanResults(real())
    expect(f.cases.map((c) => c.id)).toEqual(['boot', 'mq', 'set_link', 'hotplug', 'stress'])
    expect(f.functionalOnly).toBe(true)
    expect(f.cases.every((c) => c.guests.length > 0 && c.guests.every((g) => g.accel === 'tcg'))).toBe(true)
    const any = loadAnyResults(fixture)
    expect(any.kind).toBe('plan')
    // the scale loader does not take it, and says what it is
    expect(() => loadResults(fixture)).toThrow(/a test-plan results file \(check vm\)/)
    expect(loadAnyResults(new URL('../fixtures/results/tap-rr.json', import.meta.url).pathname).kind).toBe(
      'run',
    )
  })

  it('refuses a wrong kind, version, field, status or total, naming it', () => {
    expect(refused({...real(), kind: 'scale'})).toMatch(/not an mqbench test-plan results file/)
    expect(refused({...real(), version: 3})).toMatch(
      /test-plan results version 3 is not known to this mqbench \(it reads versions 1, 2; the current is 2\); upgrade mqbench to read it/,
    )
    const noChecks = real()
    noChecks.cases[1].checks = []
    expect(refused(noChecks)).toMatch(/cases\.1\.checks must NOT have fewer than 1 items/)
    const badStatus = real()
    ;(badStatus.cases[0].checks[0] as {status: string}).status = 'OK'
    expect(refused(badStatus)).toMatch(/cases\.0\.checks\.0\.status must be one of "PASS", "FAIL", "N\/A"/)
    expect(refused({...real(), passed: 1})).toMatch(/passed is 1, but the cases hold 39 PASS/)
    expect(refused({...real(), functionalOnly: false})).toMatch(
      /functionalOnly is false, but a guest ran under TCG/,
    )
    const guest = real()
    delete (guest.cases[0].guests[0] as Partial<(typeof guest.cases)[0]['guests'][0]>).accel
    expect(refused(guest)).toMatch(/cases\.0\.guests\.0 lacks the field "accel"/)
    const twice = real()
    twice.cases.push(twice.cases[0])
    expect(refused({...twice, passed: twice.passed + 7})).toMatch(/case "boot" is recorded twice/)
  })

  it('writes atomically under a new name each time, never over another run', () => {
    const f = real()
    const a = writePlanResults(dir, f)
    const b = writePlanResults(dir, f)
    expect(a).toMatch(/check-vm-\d{8}T\d{6}Z\.json$/)
    expect(b).toBe(a.replace(/\.json$/, '-2.json'))
    expect(readdirSync(dir).sort()).toEqual([a, b].map((p) => p.slice(dir.length + 1)).sort())
    expect(JSON.parse(readFileSync(a, 'utf8'))).toEqual(f)
    writeFileSync(join(dir, 'check-vm-20990101T000000Z.json'), 'taken')
    const c = writePlanResults(dir, {...f, createdAt: '2099-01-01T00:00:00.000Z'})
    expect(c).toMatch(/check-vm-20990101T000000Z-2\.json$/)
    expect(readFileSync(join(dir, 'check-vm-20990101T000000Z.json'), 'utf8')).toBe('taken')
    // what fails its own validator is never written
    expect(() => writePlanResults(dir, {...f, failed: 9})).toThrow(/failed is 9/)
  })

  it('counts the totals and flags TCG when it builds the file from a plan report', () => {
    const f = real()
    const built = planResults(
      {params: f.params, cases: f.cases, passed: f.passed, failed: f.failed, na: f.na, wallMs: f.wallMs},
      {host: f.host, command: 'mqbench check vm', at: new Date(f.createdAt)},
    )
    expect(validatePlanResults(built).functionalOnly).toBe(true)
    expect(built.status).toBe('complete')
  })
})

describe('the test-plan page', () => {
  it('has the TCG banner, a table per case, bars for each load and the set_link timeline', () => {
    const html = renderPlanHtml(real())
    expect(html).toContain('id="tcg-banner"')
    expect(html.match(/<table class="checks">/g)).toHaveLength(5)
    expect(html).toMatch(/data-load="20 TCP_RR sessions at 2 queue pairs"/)
    expect(html).toMatch(/data-load="4 TCP_RR sessions at 1 queue pair"/)
    expect(html).toMatch(/<figure class="timeline"><figcaption>set_link off, then on/)
    expect(html).not.toMatch(/<script/)
    const noTcg = real()
    for (const c of noTcg.cases) for (const g of c.guests) g.accel = 'kvm'
    expect(renderPlanHtml({...noTcg, functionalOnly: false})).not.toContain('tcg-banner')
  })

  // A real gen case (check vm --cases gen, 2 queues, TCG): senders, host flows, pktgen.
  it("shows each gen load's packets/s and loss in the loads table and its per-queue rates as bars", () => {
    const gen = validatePlanResults(
      JSON.parse(readFileSync(new URL('../fixtures/results/plan-vm-gen-tcg.json', import.meta.url), 'utf8')),
    )
    const loads = gen.cases[0].figures!.loads!
    expect(loads.map((l) => l.queueRates?.map((q) => q.direction))).toEqual([
      ['tx', 'tx'],
      ['rx', 'rx'],
      ['tx', 'tx'],
    ])
    const html = renderPlanHtml(gen)
    for (const l of loads) {
      const row = new RegExp(`<tr data-load-row="${l.label.replace(/[()]/g, '\\$&')}">(.*?)</tr>`).exec(
        html,
      )![1]
      const cells = [...row.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1])
      expect(cells.slice(-2)).toEqual([l.packetsPerSecond!.toLocaleString('en-US'), String(l.errors)])
      const block = html.slice(html.indexOf(`<div class="load" data-load="${l.label}">`))
      const bars = block.slice(0, block.indexOf('</figure>'))
      expect(
        [...bars.matchAll(/<span class="label">(\w+)<\/span>.*?<span class="num"[^>]*>([\d,]+)</g)].map(
          (m) => [m[1], m[2]],
        ),
      ).toEqual(l.queueRates!.map((q) => [`${q.direction}${q.queue}`, q.pps.toLocaleString('en-US')]))
    }
  })
})
