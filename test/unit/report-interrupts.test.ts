import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {queueInterrupts} from '../../src/results/stats.js'
import type {InterruptDelta, ResultsFile} from '../../src/results/schema.js'
import {interruptText} from '../../src/report/charts.js'
import {writeReport} from '../../src/report/index.js'

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8')) as ResultsFile
const dir = mkdtempSync(join(tmpdir(), 'mqb-report-irq-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The lines a vm guest's sweep records: virtioX-input.N / output.N per queue, plus its config line. */
function guestLines(queueCount: number, iteration: number): InterruptDelta[] {
  const out: InterruptDelta[] = [{irq: '24', name: 'virtio1-config', perCpu: [1, 0], total: 1}]
  for (let q = 0; q < queueCount; q++)
    for (const [dir, base] of [
      ['input', 1000],
      ['output', 300],
    ] as const) {
      const total = base + 100 * q + iteration
      out.push({
        irq: String(25 + 2 * q + (dir === 'output' ? 1 : 0)),
        name: `virtio1-${dir}.${q}`,
        queue: q,
        direction: dir === 'input' ? 'rx' : 'tx',
        perCpu: [total, 0],
        total,
      })
    }
  return out
}

function asGuestRun(r: ResultsFile): ResultsFile {
  const v = structuredClone(r)
  v.config.testbed.kind = 'vm'
  for (const s of v.steps) for (const it of s.iterations) it.interrupts = guestLines(s.queueCount, it.index)
  return v
}

/** The text of the share chart's table, tags stripped, one row a line. */
function shareTable(html: string): {head: string; rows: string[]} {
  const sec = html.match(/<section class="chart" id="section-shares-0">([\s\S]*?)<\/section>/)![1]
  const strip = (t: string) => t.replaceAll(/<\/t[dh]><t[dh][^>]*>/g, ' | ').replaceAll(/<[^>]+>/g, '')
  const head = strip(sec.match(/<thead>([\s\S]*?)<\/thead>/)![1])
  const rows = [...sec.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)][0][1]
    .split('</tr>')
    .filter(Boolean)
    .map(strip)
  return {head, rows}
}

describe('per-queue interrupt counts in the report', () => {
  it('sums the deltas per queue and direction over iterations, leaving out lines without a queue', () => {
    const qs = queueInterrupts([...guestLines(2, 0), ...guestLines(2, 1)])
    expect(qs).toEqual([
      {queue: 0, rx: 2001, tx: 601, combined: 0},
      {queue: 1, rx: 2201, tx: 801, combined: 0},
    ])
    expect(interruptText(qs)).toBe('q0 rx 2,001 tx 601 / q1 rx 2,201 tx 801')
    expect(interruptText([{queue: 0, rx: 0, tx: 0, combined: 42}])).toBe('q0 42')
    expect(interruptText([])).toBe('–')
  })

  it('shows them beside the shares for a guest run, one figure per queue and step', async () => {
    const r = asGuestRun(load('tap-rr.json'))
    const out = join(dir, 'vm.html')
    await writeReport([r], {out})
    const {head, rows} = shareTable(readFileSync(out, 'utf8'))
    expect(head).toContain('interrupts per queue')
    expect(rows).toHaveLength(r.steps.length)
    r.steps.forEach((s, k) => {
      const n = s.iterations.length
      const sumIdx = s.iterations.reduce((a, it) => a + it.index, 0)
      for (let q = 0; q < s.queueCount; q++) {
        const rx = (1000 + 100 * q) * n + sumIdx
        const tx = (300 + 100 * q) * n + sumIdx
        expect(rows[k]).toContain(`q${q} rx ${rx.toLocaleString('en-US')} tx ${tx.toLocaleString('en-US')}`)
      }
      expect(rows[k]).not.toContain(`q${s.queueCount} `)
    })
  })

  it('leaves the column out where the device has no per-queue lines (tap)', async () => {
    const out = join(dir, 'tap.html')
    await writeReport([load('tap-rr.json')], {out})
    expect(shareTable(readFileSync(out, 'utf8')).head).not.toContain('interrupts')
  })
})
