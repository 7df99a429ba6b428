// The test-plan page of a run with --baseline, as people see it in Debian's headless Chromium,
// offline: the title counts the regressions as failures, the baseline section shows each load's
// median and range now and in the baseline, the change, the noise, the verdict and the rule that
// judged it; the cases' overview marks the cases with a regression. The file is a stored fixture
// (plan-vm-baseline-tcg.json: a real 2-queue TCG plan with --repeats 3 against a baseline in
// which two loads were faster), not a live guest run. An interrupted plan shows its stopped case
// as INTERRUPTED and lists the cases it never started.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import type {Page} from 'playwright-core'
import {describe, expect, it} from 'vitest'
import {median} from '../../src/results/estimate.js'
import {writePlanReport} from '../../src/report/index.js'
import {validatePlanResults, type PlanResultsFile} from '../../src/results/plan.js'
import {chromiumForFile} from '../helpers/report-page.js'

const load = (name: string) =>
  validatePlanResults(
    JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')),
  )
const plan = load('plan-vm-baseline-tcg.json')
const {dir, get: chromiumBrowser} = chromiumForFile('mqb-plan-baseline-')

async function open(
  p: PlanResultsFile,
  name: string,
): Promise<{page: Page; requests: string[]; problems: string[]}> {
  const out = join(dir, name)
  writePlanReport(p, out)
  const page = await chromiumBrowser().newPage({viewport: {width: 1100, height: 900}})
  const requests: string[] = []
  const problems: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (err) => problems.push(err.message))
  await page.goto(pathToFileURL(out).href)
  return {page, requests: requests.filter((u) => u !== pathToFileURL(out).href), problems}
}

const num = (s: string) => Number(s.replace(/,/g, ''))

describe('test-plan page with --baseline, in headless Chromium', () => {
  it('counts the regressions as failures and shows every load against the baseline with its rule', async () => {
    const {page, requests, problems} = await open(plan, 'plan.html')
    expect(await page.title()).toMatch(
      /^mqbench test plan: 39 passed, 2 failed \(2 regressed against the baseline\)/,
    )
    expect(await page.locator('h1').textContent()).toMatch(/2 failed/)

    const section = page.locator('#baseline')
    expect(await section.isVisible()).toBe(true)
    expect(await section.locator('h2').textContent()).toBe(`FAIL Against the baseline ${plan.baseline!.file}`)
    expect(await section.locator('.headline').textContent()).toBe(
      `against ${plan.baseline!.file}: 2 of 4 load(s) compared regressed beyond the noise`,
    )
    expect(await section.locator('.rule').textContent()).toMatch(
      /median drops below the baseline's by more than the noise: the ranges \(max − min\) of the repeats of both runs added together, relative to the baseline's median, and never less than 5%.*3 or more repeats/,
    )

    const rows = section.locator('tbody tr')
    expect(await rows.count()).toBe(plan.baseline!.verdicts.length)
    for (const [i, v] of plan.baseline!.verdicts.entries()) {
      const row = rows.nth(i)
      const cell = (cls: string) => row.locator(`td.${cls}`).innerText()
      // the median and range the reader sees are the file's repeats, now and in the baseline
      for (const [cls, values] of [
        ['now', v.values],
        ['base', v.baseline!],
      ] as const) {
        const m = (await cell(cls)).match(/^([\d,.]+) \(([\d,.]+)–([\d,.]+)\)$/)
        expect(m, `${cls} of ${v.label}`).not.toBeNull()
        const [med, lo, hi] = m!.slice(1).map(num)
        expect(med).toBeCloseTo(median(values), -1)
        expect(lo).toBeCloseTo(Math.min(...values), -1)
        expect(hi).toBeCloseTo(Math.max(...values), -1)
      }
      expect(await cell('change')).toBe(`${v.change! >= 0 ? '+' : ''}${(v.change! * 100).toFixed(1)}%`)
      expect(await cell('noise')).toBe(`${(v.noise! * 100).toFixed(1)}%`)
      expect(await row.locator('td.status').innerText()).toBe(v.status)
    }
    // a regression is drawn as one: red verdict, the drop in red
    const failed = rows.filter({has: page.locator('td.status.FAIL')})
    expect(await failed.count()).toBe(2)
    const color = await failed
      .first()
      .locator('td.status')
      .evaluate((el) => getComputedStyle(el).color)
    expect(color).toBe('rgb(179, 38, 30)')
    expect(await failed.first().locator('.change.down').count()).toBe(1)

    // the overview marks the cases that regressed, though their checks passed
    const mq = page.locator('tr[data-overview="mq"]')
    expect(await mq.locator('td.status').innerText()).toBe('FAIL')
    expect(await page.locator('tr[data-overview="boot"] td.status').innerText()).toBe('PASS')
    expect(requests).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  })

  it('shows an interrupted case as INTERRUPTED and the cases not run', async () => {
    const p = structuredClone(plan)
    delete p.baseline
    p.status = 'interrupted'
    p.cases = p.cases.slice(0, 2)
    p.cases[1] = {
      ...p.cases[1],
      checks: [{id: 'completed', title: 'the case ran to its end', status: 'N/A', evidence: 'interrupted'}],
      error: 'interrupted',
      interrupted: true,
    }
    p.notRun = [
      {id: 'set_link', title: 'set_link', source: 'tp-qemu'},
      {id: 'stress', title: 'stress', source: 'tp-qemu'},
    ]
    const all = p.cases.flatMap((c) => c.checks)
    p.passed = all.filter((k) => k.status === 'PASS').length
    p.failed = 0
    p.na = 1
    const {page, problems} = await open(validatePlanResults(JSON.parse(JSON.stringify(p))), 'stopped.html')
    expect(await page.locator('tr[data-overview="mq"] td.status').innerText()).toBe('INTERRUPTED')
    expect(await page.locator('section[data-case="mq"] h2 .status').innerText()).toBe('INTERRUPTED')
    expect(await page.locator('#not-run li').allInnerTexts()).toEqual([
      'set_link: set_link (tp-qemu)',
      'stress: stress (tp-qemu)',
    ])
    expect(await page.locator('tr[data-overview="stress"] td.status').innerText()).toBe('NOT RUN')
    expect(await page.title()).toMatch(/0 failed, 1 n\/a, 1 interrupted, 2 not run/)
    expect(problems).toEqual([])
    await page.close()
  })
})
