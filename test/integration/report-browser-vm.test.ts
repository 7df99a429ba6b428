// The report of a real vm-testbed run, as people see it in headless Chromium: a short
// `scale --testbed vm --queues 1..2` under TCG (TCP_RR, 16 sessions so that tun's flow hash
// reaches both queues), then the page must show the guest's setup (kernel, accel, vCPUs, queue
// pairs, vectors, the qemu command line) and, per step, every queue's interrupt counts from the
// guest's /proc/interrupts, equal to what the results file holds.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {chromium, type Browser} from 'playwright-core'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {interruptText} from '../../src/report/charts.js'
import {writeReport} from '../../src/report/index.js'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from '../../src/report/png.js'
import {loadResults} from '../../src/results/load.js'
import {queueInterrupts} from '../../src/results/stats.js'
import type {ResultsFile} from '../../src/results/schema.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {openReport} from '../helpers/report-page.js'

describeNet('report of a vm-testbed run in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqb-vm-report-'))
  let browser: Browser
  let results: ResultsFile

  beforeAll(async () => {
    const r = await mqbench([
      'scale',
      '--queues',
      '1..2',
      '--testbed',
      'vm',
      '--sessions',
      '16',
      '--duration',
      '2s',
      '--iterations',
      '1',
      '--warmup',
      '300ms',
      '--out',
      dir,
      '--no-report',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    results = loadResults((JSON.parse(r.stdout) as {resultsFile: string}).resultsFile)
    expect(leftovers(`mqb-${results.config.testbed.name}-`)).toEqual([])
    browser = await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS})
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('shows the guest setup and the per-queue interrupt counts of every step', async () => {
    const out = join(dir, 'vm.html')
    await writeReport([results], {out})
    const {page, requests, problems, url} = await openReport(browser, out)

    // the guest as it ran, from config.testbed.guest
    const g = results.config.testbed.guest!
    const meta = await page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll('.run-meta dt')].map((dt) => [
          dt.textContent ?? '',
          dt.nextElementSibling?.textContent ?? '',
        ]),
      ),
    )
    expect(meta.testbed).toMatch(/^vm /)
    expect(meta.guest).toContain(g.kernel.release)
    expect(meta.guest).toContain(`${g.accel}`)
    expect(meta.guest).toContain('2 vCPUs')
    expect(meta.guest).toContain('2 queue pairs, 6 vectors')
    expect(meta['guest agent']).toContain(g.agent.build)
    expect(meta[`qemu ${g.qemuVersion}`]).toBe(g.commandLine)
    expect(g.commandLine).toMatch(/mq=on,vectors=6/)

    // the share table's interrupt column: one row per step, every queue's rx and tx lines
    const rows = await page.evaluate(() => {
      const table = [...document.querySelectorAll('table')].find((t) =>
        [...t.querySelectorAll('th')].some((th) => th.textContent === 'interrupts per queue'),
      )
      if (!table) return []
      const heads = [...table.querySelectorAll('th')].map((th) => th.textContent ?? '')
      const col = heads.indexOf('interrupts per queue')
      const q = heads.indexOf('queues')
      return [...table.querySelectorAll('tbody tr')].map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')
        return {queues: cells[q], irqs: cells[col]}
      })
    })
    expect(rows.map((r) => r.queues)).toEqual(['1', '2'])
    for (const step of results.steps) {
      const perQueue = queueInterrupts(step.iterations.flatMap((i) => i.interrupts))
      // a disabled queue keeps its interrupt lines (with little or nothing on them); every live one counted
      expect(perQueue.map((p) => p.queue)).toEqual([0, 1])
      for (const p of perQueue.filter((x) => x.queue < step.queueCount))
        expect(p.rx, `input.${p.queue} at ${step.queueCount} queues`).toBeGreaterThan(0)
      const shown = rows.find((r) => r.queues === String(step.queueCount))!.irqs
      expect(shown).toBe(interruptText(perQueue))
      expect(shown).toMatch(/^q0 rx [\d,]+ tx [\d,]+ \/ q1 /)
    }
    expect(requests).toEqual([url])
    expect(problems).toEqual([])
    await page.close()
  })
})
