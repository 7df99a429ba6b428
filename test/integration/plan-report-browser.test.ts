// The test-plan page (check vm) as people see it: rendered from real plans' results
// files (test/fixtures/results/plan-vm-tcg.json and plan-vm-gen-tcg.json: 2 queues under TCG),
// opened from disk in Debian's headless Chromium, offline: the TCG banner shows, each case's table
// has its checks, every per-queue bar is drawn with the width its count gives, the timeline has its
// events, gen loads show the file's packets/s, loss and per-queue rates.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {chromium, type Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writePlanReport} from '../../src/report/index.js'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from '../../src/host/chromium.js'
import {validatePlanResults} from '../../src/results/plan.js'

const plan = validatePlanResults(
  JSON.parse(readFileSync(new URL('../fixtures/results/plan-vm-tcg.json', import.meta.url), 'utf8')),
)
const gen = validatePlanResults(
  JSON.parse(readFileSync(new URL('../fixtures/results/plan-vm-gen-tcg.json', import.meta.url), 'utf8')),
)
const dir = mkdtempSync(join(tmpdir(), 'mqb-plan-browser-'))
let browser: Browser

beforeAll(async () => {
  browser = await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS})
})
afterAll(async () => {
  await browser?.close()
  rmSync(dir, {recursive: true, force: true})
})

describe('test-plan page in headless Chromium', () => {
  it('shows the banner, the checks, the bars before/after and the timeline, offline', async () => {
    const out = join(dir, 'plan.html')
    writePlanReport(plan, out)
    const page = await browser.newPage({viewport: {width: 1100, height: 900}})
    const requests: string[] = []
    const problems: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (err) => problems.push(err.message))
    const url = pathToFileURL(out).href
    await page.goto(url)

    const banner = page.locator('#tcg-banner')
    expect(await banner.isVisible()).toBe(true)
    expect(await banner.textContent()).toMatch(/TCG/)

    for (const c of plan.cases) {
      const rows = page.locator(`section[data-case="${c.id}"] table.checks tbody tr`)
      expect(await rows.count(), c.id).toBe(c.checks.length)
      expect(await rows.first().locator('td.status').textContent()).toBe(c.checks[0].status)
    }

    // Each bar's drawn width is its count's share of the largest count in its group.
    const mq = plan.cases.find((c) => c.id === 'mq')!
    const first = mq.figures!.loads![0]
    const measured = await page.evaluate((label) => {
      const group = document.querySelector(`[data-load="${label}"] .bars`)!
      return [...group.querySelectorAll('.track')].map((t) => {
        const w = t.getBoundingClientRect().width
        const [b, a] = [...t.querySelectorAll('.bar')].map((x) => x.getBoundingClientRect().width)
        return {track: w, before: b, after: a}
      })
    }, first.label)
    const ints = first.interrupts!
    expect(measured).toHaveLength(ints.length)
    const max = Math.max(...ints.map((i) => i.after))
    for (const [i, m] of measured.entries()) {
      expect(m.track).toBeGreaterThan(100)
      expect(m.after / m.track).toBeCloseTo(ints[i].after / max, 1)
      expect(m.before).toBeLessThanOrEqual(m.after)
    }
    // the single-queue load: its queue-1 lines did not move
    const one = mq.figures!.loads![1]
    expect(one.queues).toBe(1)
    expect(await page.locator(`[data-load="${one.label}"] .bars`).first().textContent()).toMatch(/\(\+0\)/)

    const link = plan.cases.find((c) => c.id === 'set_link')!
    const events = page.locator(`section[data-case="set_link"] .timeline g[data-event]`)
    expect(await events.count()).toBe(link.figures!.timeline!.events.length)
    expect(
      await page.locator('section[data-case="set_link"] .timeline .events li').first().textContent(),
    ).toMatch(/^set_link off: \d+ ms$/)

    expect(requests).toEqual([url])
    expect(problems).toEqual([])
    await page.close()
  })

  // A real gen case's file (check vm --cases gen, 2 queues, TCG): what the reader sees
  // for each gen load is the file's packets/s, loss and per-queue rates, each bar as wide as its share.
  it("shows each gen load's packets/s and loss, and its per-queue rates as bars", async () => {
    const out = join(dir, 'gen.html')
    writePlanReport(gen, out)
    const page = await browser.newPage({viewport: {width: 1100, height: 900}})
    await page.goto(pathToFileURL(out).href)
    const loads = gen.cases[0].figures!.loads!
    expect(loads).toHaveLength(3)
    const header = await page.locator('table.load-table thead th').allTextContents()
    const number = (s: string) => Number(s.replaceAll(',', ''))
    for (const l of loads) {
      const cells = await page.locator(`tr[data-load-row="${l.label}"] td`).allTextContents()
      expect(number(cells[header.indexOf('packets/s')])).toBe(l.packetsPerSecond)
      expect(number(cells[header.indexOf('errors / lost')])).toBe(l.errors)
      const shown = await page.evaluate((label) => {
        const group = document.querySelector(`div.load[data-load="${label}"] .bars.rates`)!
        const labels = [...group.querySelectorAll('.label')].map((x) => x.textContent)
        const nums = [...group.querySelectorAll('.num')].map((x) => x.textContent!)
        const widths = [...group.querySelectorAll('.track')].map(
          (t) => t.querySelector('.bar')!.getBoundingClientRect().width / t.getBoundingClientRect().width,
        )
        return labels.map((label, i) => ({label, pps: nums[i], share: widths[i]}))
      }, l.label)
      const max = Math.max(...l.queueRates!.map((q) => q.pps))
      expect(shown.map((x) => [x.label, number(x.pps)])).toEqual(
        l.queueRates!.map((q) => [`${q.direction}${q.queue}`, q.pps]),
      )
      for (const [i, q] of l.queueRates!.entries()) expect(shown[i].share).toBeCloseTo(q.pps / max, 2)
    }
    await page.close()
  })
})
