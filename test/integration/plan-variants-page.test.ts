// The test-plan page's side-by-side table of the mq case's variants, as people see it in Debian's
// headless Chromium, offline. The file is a stored fixture (plan-vm-variants-tcg.json: a real
// 2-queue TCG run of `mqbench check vm --cases mq,mq_packed,mq_rss,mq_packed_rss --duration 3s`),
// not a live guest run. The table reads the ring layout and RSS from each guest's negotiated
// features, not from the case's name: a doctored record shows the difference.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'
import {median} from '../../src/results/estimate.js'
import {writePlanReport} from '../../src/report/index.js'
import {validatePlanResults, type PlanResultsFile} from '../../src/results/plan.js'
import {chromiumForFile} from '../helpers/report-page.js'

const plan = validatePlanResults(
  JSON.parse(readFileSync(new URL('../fixtures/results/plan-vm-variants-tcg.json', import.meta.url), 'utf8')),
)
const {dir, get: chromiumBrowser} = chromiumForFile('mqb-plan-variants-')

async function rowsOf(p: PlanResultsFile, name: string) {
  const out = join(dir, name)
  writePlanReport(p, out)
  const page = await chromiumBrowser().newPage({viewport: {width: 1100, height: 900}})
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(err.message))
  await page.goto(pathToFileURL(out).href)
  const rows = await page.evaluate(() =>
    [...document.querySelectorAll('#variants tbody tr')].map((tr) => [
      tr.getAttribute('data-variant') ?? '',
      ...[...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
    ]),
  )
  const details = await page.evaluate(() =>
    [...document.querySelectorAll('section.case details.virtio')].map((d) => d.textContent ?? ''),
  )
  await page.close()
  return {rows, details, problems}
}

describe('test-plan page: the mq variants side by side, in headless Chromium', () => {
  it('shows split/packed × RSS off/on from the negotiated features, with the loads at N and 1', async () => {
    const {rows, details, problems} = await rowsOf(plan, 'variants.html')
    expect(problems).toEqual([])
    expect(rows.map((r) => r.slice(0, 4))).toEqual([
      ['mq', 'mq', 'split', 'off'],
      ['mq_packed', 'mq_packed', 'packed', 'off'],
      ['mq_rss', 'mq_rss', 'split', 'on'],
      ['mq_packed_rss', 'mq_packed_rss', 'packed', 'on'],
    ])
    for (const r of rows) {
      const c = plan.cases.find((k) => k.id === r[0])!
      const at = (q: number) =>
        median(
          c
            .figures!.loads!.filter((l) => (l.queues === 1) === (q === 1))
            .map((l) => l.transactionsPerSecond!),
        )
      expect(Number(r[4].replace(/,/g, ''))).toBe(Math.round(at(2)))
      expect(Number(r[5].replace(/,/g, ''))).toBe(Math.round(at(1)))
      expect(r[7]).toBe('PASS')
    }
    // Each guest's own features line: the packed guests negotiated the packed ring.
    expect(details.filter((d) => /RING_PACKED negotiated/.test(d))).toHaveLength(2)
    expect(details.filter((d) => /RSS negotiated/.test(d))).toHaveLength(2)
  })

  it('reads the layout from the record (a packed case whose driver took split rings shows split) and needs two variants', async () => {
    const doctored = structuredClone(plan) as PlanResultsFile
    const v = doctored.cases.find((c) => c.id === 'mq_packed')!.guests[0].virtio!
    v.negotiated = v.negotiated.filter((f) => f !== 'VIRTIO_F_RING_PACKED')
    const {rows} = await rowsOf(doctored, 'doctored.html')
    expect(rows.find((r) => r[0] === 'mq_packed')!.slice(2, 4)).toEqual(['split', 'off'])
    const alone = {...plan, cases: plan.cases.filter((c) => c.id === 'mq')} as PlanResultsFile
    expect((await rowsOf(alone, 'alone.html')).rows).toEqual([])
  })
})
