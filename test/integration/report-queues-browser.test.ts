// The report of a 2-queue veth sweep (issue 30) in Debian's Chromium: `mqbench scale` with pinned
// client threads, whose veth testbed sets XPS one CPU per queue, writes each session's queue; the
// report shows latency per queue and the sessions × queues placement, drawn and in its tables.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {mqbench} from '../helpers/mqbench-cli.js'
import {chromiumForFile, openReport} from '../helpers/report-page.js'
import {describeNet} from '../helpers/privileges.js'

const {dir, get: browser} = chromiumForFile('mqb-report-queues-')

/** A chart's table as text cells, row by row (runs in the page). */
const tableOf = (id: string) =>
  [...document.querySelectorAll(`#section-${id} tbody tr`)].map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
  )

describeNet('report: per-queue latency and placement of a veth run', () => {
  it('shows each queue’s latency and where every session ran', async () => {
    const args = ['scale', '--testbed', 'veth', '--queues', '1,2', '--duration', '500ms', '--iterations', '1']
    const r = await mqbench([...args, '--client-cpus', '0,1', '--sessions', '4', '--out', dir])
    expect(r.status, r.stderr).toBe(0)
    const html = readdirSync(dir).find((f) => f.endsWith('.html'))!
    const {page, problems} = await openReport(browser(), join(dir, html))
    const latency = await page.evaluate(tableOf, 'queue-latency-0')
    // 1 queue: all four sessions; 2 queues: two each (session s pinned to CPU s mod 2 -> tx-(s mod 2))
    expect(latency.map((row) => row.slice(0, 3))).toEqual([
      ['1', '0', '4.0'],
      ['2', '0', '2.0'],
      ['2', '1', '2.0'],
    ])
    for (const row of latency) expect(Number(row[5].replace(/,/g, ''))).toBeGreaterThan(0) // p99 µs
    const placement = await page.evaluate(tableOf, 'queue-placement-0')
    expect(placement).toEqual([
      ['0', '1', '0', '0', '0'],
      ['1', '0', '1', '0', '0'],
      ['2', '1', '0', '0', '0'],
      ['3', '0', '1', '0', '0'],
    ])
    const drawn = await page.evaluate(() =>
      ['queue-latency-0', 'queue-placement-0'].map((id) => {
        const c = document.querySelector<HTMLCanvasElement>(`canvas[data-chart="${id}"]`)!
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
        let n = 0
        for (let i = 0; i < d.length; i += 4)
          if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++
        return n
      }),
    )
    for (const n of drawn) expect(n).toBeGreaterThan(1000)
    expect(problems).toEqual([])
    await page.close()
  })
})
