// The report as people see it: opened from disk in headless Chromium, offline. Needs no network
// privileges, only Debian's chromium (CI installs it).
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {chromium, type Browser, type Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ResultsFile} from '../../src/results/schema.js'
import {writeReport} from '../../src/report/index.js'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from '../../src/host/chromium.js'
import {openReport} from '../helpers/report-page.js'

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')) as ResultsFile
const dir = mkdtempSync(join(tmpdir(), 'mqb-browser-'))
let browser: Browser

beforeAll(async () => {
  browser = await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS})
})
afterAll(async () => {
  await browser?.close()
  rmSync(dir, {recursive: true, force: true})
})

const open = (file: string) => openReport(browser, file)

/**
 * Coloured pixels per canvas: axes, grid lines and labels are grey, so only drawn series (all in
 * saturated palette colours) count; a canvas with axes and no data scores 0.
 */
const drawnPixels = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]')].map((c) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 0; i < d.length; i += 4)
        if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++
      return {id: c.dataset.chart!, n, width: c.width, height: c.height}
    }),
  )

describe('report in headless Chromium', () => {
  it('draws every chart offline, with no request but the file and no console error', async () => {
    const out = join(dir, 'tap.html')
    const res = await writeReport([load('tap-rr.json')], {out})
    const {page, requests, problems, url} = await open(out)
    const drawn = await drawnPixels(page)
    expect(drawn.map((d) => d.id)).toEqual(res.charts)
    for (const d of drawn) {
      expect(d.width * d.height, d.id).toBeGreaterThan(10_000)
      expect(d.n, `${d.id} has drawn series`).toBeGreaterThan(1000)
    }
    expect(requests).toEqual([url])
    expect(problems).toEqual([])
    await page.close()
  })

  it('draws the report of a real tap run (test/fixtures/results/real-tap-rr.json, made by `mqbench scale`)', async () => {
    const out = join(dir, 'real.html')
    const res = await writeReport([load('real-tap-rr.json')], {out})
    expect(res.charts).toContain('latency')
    const {page, requests, problems, url} = await open(out)
    for (const d of await drawnPixels(page)) expect(d.n, `${d.id} has drawn series`).toBeGreaterThan(1000)
    expect(requests).toEqual([url])
    expect(problems).toEqual([])
    await page.close()
  })

  it('counts no series on a chart whose data is hidden (the pixel check can fail)', async () => {
    const out = join(dir, 'hidden.html')
    await writeReport([load('tap-rr.json')], {out})
    const {page} = await open(out)
    await page.evaluate(() => {
      const c = (
        window as unknown as {
          mqbCharts: Record<
            string,
            {
              data: {datasets: unknown[]}
              options: {plugins: {legend: {display: boolean}}}
              update: () => void
            }
          >
        }
      ).mqbCharts.efficiency
      c.data.datasets = []
      c.options.plugins.legend.display = false
      c.update()
    })
    expect((await drawnPixels(page)).find((d) => d.id === 'efficiency')!.n).toBe(0)
    await page.close()
  })

  it('draws a comparison with both series, and stream and gen runs (no latency charts)', async () => {
    const out = join(dir, 'cmp.html')
    const res = await writeReport([load('tap-rr-tuned.json')], {out, baseline: load('tap-rr.json')})
    const {page, requests, problems, url} = await open(out)
    for (const d of await drawnPixels(page)) expect(d.n, d.id).toBeGreaterThan(1000)
    const labels = await page.evaluate(() => {
      const charts = (
        window as unknown as {mqbCharts: Record<string, {data: {datasets: Array<{label: string}>}}>}
      ).mqbCharts
      return Object.fromEntries(
        Object.entries(charts).map(([id, c]) => [id, c.data.datasets.map((d) => d.label)]),
      )
    })
    for (const id of ['throughput-0', 'efficiency', 'service-demand-0']) {
      expect(labels[id], id).toEqual(expect.arrayContaining(res.runs))
    }
    expect(res.runs[0]).toMatch(/^baseline: /)
    expect(await page.locator('#comparison table').count()).toBe(1)
    expect(requests).toEqual([url])
    expect(problems).toEqual([])
    await page.close()

    for (const name of ['veth-stream.json', 'veth-gen.json']) {
      const file = join(dir, name.replace('.json', '.html'))
      const sres = await writeReport([load(name)], {out: file})
      expect(sres.charts).not.toContain('latency')
      const s = await open(file)
      for (const d of await drawnPixels(s.page)) expect(d.n, `${name} ${d.id}`).toBeGreaterThan(1000)
      expect(s.problems).toEqual([])
      expect(s.requests).toEqual([s.url])
      await s.page.close()
    }
  })

  it('exports every chart as a non-empty PNG', async () => {
    const pngDir = join(dir, 'png')
    const res = await writeReport([load('tap-rr.json'), load('veth-stream.json')], {
      out: join(dir, 'both.html'),
      png: pngDir,
    })
    expect(res.png!.map((p) => p.replace(/^.*\//, '').replace(/\.png$/, '')).sort()).toEqual(
      [...res.charts].sort(),
    )
    expect(readdirSync(pngDir).sort()).toEqual(res.charts.map((c) => `${c}.png`).sort())
    for (const file of res.png!) {
      const buf = readFileSync(file)
      expect(buf.subarray(0, 8).toString('hex'), file).toBe('89504e470d0a1a0a')
      // IHDR width/height: the canvas at twice its CSS size
      expect(buf.readUInt32BE(16)).toBeGreaterThan(400)
      expect(buf.readUInt32BE(20)).toBeGreaterThan(200)
      expect(statSync(file).size).toBeGreaterThan(5000)
    }
  })
})
