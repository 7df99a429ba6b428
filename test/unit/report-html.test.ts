import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {scalingSummary} from '../../src/results/stats.js'
import {stepsCsv} from '../../src/results/csv.js'
import type {ResultsFile} from '../../src/results/schema.js'
import {jsonForScript} from '../../src/report/html.js'
import {writeReport} from '../../src/report/index.js'

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')) as ResultsFile
const dir = mkdtempSync(join(tmpdir(), 'mqb-report-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('report HTML', () => {
  it('is one self-contained file: no external reference, chart.js and data inline', async () => {
    const out = join(dir, 'one.html')
    const res = await writeReport([load('tap-rr.json')], {out})
    const html = readFileSync(out, 'utf8')
    expect(res.bytes).toBe(Buffer.byteLength(html))
    expect(html).not.toMatch(/<script[^>]+src=/i)
    expect(html).not.toMatch(/<link[^>]+href=/i)
    expect(html).not.toMatch(/(src|href)=["']?https?:/i)
    expect(html).toContain('Chart.js v4') // the UMD banner
    const data = JSON.parse(
      html.match(/<script type="application\/json" id="mqb-report-data">([\s\S]*?)<\/script>/)![1],
    )
    expect(data.charts.map((c: {id: string}) => c.id)).toEqual(res.charts)
    // every chart has a canvas and a table
    for (const id of res.charts)
      expect(html).toMatch(
        new RegExp(`<section class="chart" id="section-${id}">[\\s\\S]*?<canvas[\\s\\S]*?<table>`),
      )
    // summarised, not raw: no encoded histogram reaches the page
    const r = load('tap-rr.json')
    expect(html).not.toContain(
      (r.steps[0].iterations[0].result as {sessions: Array<{latencyHistogram: string}>}).sessions[0]
        .latencyHistogram,
    )
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([])
  })

  it('cannot be broken out of by text in the results', async () => {
    const r = load('tap-rr.json')
    r.host.hostname = '</script><script>window.pwned=1</script>'
    r.run.command = 'mqbench scale </script><b>x</b> "$(rm -rf /)"'
    const out = join(dir, 'evil.html')
    await writeReport([r], {out})
    const html = readFileSync(out, 'utf8')
    expect(html.match(/<script/g)).toHaveLength(3)
    expect(html).not.toContain('<b>x</b>')
    expect(JSON.parse(html.match(/id="mqb-report-data">([\s\S]*?)<\/script>/)![1]).title).toContain(
      '</script><script>window.pwned=1</script>',
    )
  })

  it('escapes the sequences that would end a script element or a JS string', () => {
    const s = jsonForScript({a: '</script>\u2028<!--'})
    expect(s).not.toMatch(/<|\u2028/)
    expect(JSON.parse(s)).toEqual({a: '</script>\u2028<!--'})
  })
})

describe('CSV', () => {
  it('has a row per run and step with the unrounded figures', async () => {
    const a = load('tap-rr.json')
    const b = load('veth-stream.json')
    const out = join(dir, 'x.html')
    const csvPath = join(dir, 'steps.csv')
    await writeReport([a, b], {out, csv: csvPath})
    const lines = readFileSync(csvPath, 'utf8').trimEnd().split('\r\n')
    expect(lines).toHaveLength(1 + a.steps.length + b.steps.length)
    const head = lines[0].split(',')
    const row = lines[2].split(',')
    const s = scalingSummary(a).steps[1]
    expect(Number(row[head.indexOf('queue_count')])).toBe(2)
    expect(Number(row[head.indexOf('mean')])).toBe(s.metric.mean)
    expect(Number(row[head.indexOf('speedup')])).toBe(s.speedup.value)
    expect(Number(row[head.indexOf('latency_p99_us')])).toBe(s.latency!.p99)
    expect(row[head.indexOf('queue_verdict')]).toBe(s.queues.verdict)
  })

  it('quotes fields with commas and quotes', () => {
    const csv = stepsCsv([{label: 'run "a", tuned', summary: scalingSummary(load('veth-stream.json'))}])
    expect(csv.split('\r\n')[1].startsWith('"run ""a"", tuned",1,')).toBe(true)
  })
})
