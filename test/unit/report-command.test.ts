// `mqbench report` end to end from src/ (bin/dev.js): bad input is one line, exit 7, nothing written.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

const root = new URL('../..', import.meta.url).pathname
const fixture = (name: string) => join(root, 'test/fixtures/results', name)
const dir = mkdtempSync(join(tmpdir(), 'mqb-report-cmd-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function mqbench(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/dev.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  // oclif may warn about other commands' modules while it indexes them; only our lines matter here
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('mqbench:') || /^\s+at /.test(l))
  return {status: r.status, stdout: r.stdout, lines}
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- edits reach into arbitrary JSON paths
function variant(name: string, edit: (o: Record<string, any>) => void): string {
  const o = JSON.parse(readFileSync(fixture('veth-stream.json'), 'utf8'))
  edit(o)
  const p = join(dir, name)
  writeFileSync(p, JSON.stringify(o))
  return p
}

describe('mqbench report', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['a missing file', () => join(dir, 'missing.json'), /missing\.json: no such file$/],
    [
      'a file that is not JSON',
      () => (writeFileSync(join(dir, 'notes.txt'), 'hello'), join(dir, 'notes.txt')),
      /notes\.txt: not JSON/,
    ],
    [
      'a JSON file that is not a results file',
      () => join(root, 'package.json'),
      /package\.json: not an mqbench results file/,
    ],
    [
      'an unknown schema version',
      () => variant('v9.json', (o) => (o.version = 9)),
      /v9\.json: results schema version 9 is not known/,
    ],
    [
      'results with no steps',
      () => variant('empty.json', (o) => (o.steps = [])),
      /empty\.json: the run recorded no steps/,
    ],
  ]
  for (const [what, make, message] of cases) {
    it(`refuses ${what} in one line with exit 7 and writes nothing`, () => {
      const out = join(dir, 'out.html')
      const r = mqbench('report', fixture('tap-rr.json'), make(), '--out', out, '--csv', join(dir, 'out.csv'))
      expect(r.status).toBe(7)
      expect(r.lines).toHaveLength(1)
      expect(r.lines[0]).toMatch(/^mqbench: /)
      expect(r.lines[0]).toMatch(message)
      expect(existsSync(out)).toBe(false)
      expect(existsSync(join(dir, 'out.csv'))).toBe(false)
    })
  }

  it('refuses a bad --baseline the same way', () => {
    const r = mqbench(
      'report',
      fixture('tap-rr.json'),
      '--baseline',
      join(dir, 'nope.json'),
      '--out',
      join(dir, 'b.html'),
    )
    expect(r.status).toBe(7)
    expect(existsSync(join(dir, 'b.html'))).toBe(false)
  })

  it('writes the report and prints the result object under --json', () => {
    const out = join(dir, 'ok.html')
    const r = mqbench('report', fixture('tap-rr.json'), fixture('tap-rr-tuned.json'), '--out', out, '--json')
    expect(r.status).toBe(0)
    const json = JSON.parse(r.stdout)
    expect(json.out).toBe(out)
    expect(json.runs).toHaveLength(2)
    expect(json.summary.at(-1)).toMatch(/ vs .*: at 1 queue transactions\/s/)
    expect(readFileSync(out).length).toBe(json.bytes)
  })

  it('names a pinning difference between the runs in its output and its JSON', () => {
    // the same run twice, once with every result recording a pinned client and server
    const o = JSON.parse(readFileSync(fixture('tap-rr.json'), 'utf8'))
    const pin = (cpus: {client: number[]; server: number[]}) => {
      for (const st of o.steps) for (const it of st.iterations) it.result.pinnedCpus = cpus
      return JSON.stringify(o)
    }
    writeFileSync(join(dir, 'pinned.json'), pin({client: [0], server: [1]}))
    writeFileSync(join(dir, 'unpinned.json'), pin({client: [], server: []}))
    const args = [
      'report',
      join(dir, 'pinned.json'),
      join(dir, 'unpinned.json'),
      '--out',
      join(dir, 'pin.html'),
    ]
    const r = mqbench(...args)
    expect(r.status).toBe(0)
    const line = r.stdout.split('\n').find((l) => / vs .*: at 1 queue/.test(l))
    expect(line).toMatch(
      /\(the runs were pinned differently \(client pinning CPUs 0 before, unpinned after; server pinning CPUs 1 before, unpinned after\): .* so no change is judged better or worse\)\.$/,
    )
    const json = JSON.parse(mqbench(...args, '--json').stdout)
    expect(json.comparisons).toEqual([
      {
        before: json.runs[0],
        after: json.runs[1],
        comparable: true,
        differences: [
          {what: 'client pinning', before: 'CPUs 0', after: 'unpinned', withholds: 'all'},
          {what: 'server pinning', before: 'CPUs 1', after: 'unpinned', withholds: 'all'},
        ],
      },
    ])
  })
})
