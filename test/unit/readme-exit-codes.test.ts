// README's exit-code table is what a person scripts against: each row (code, name) must be an
// ExitCode of src/errors.ts and each ExitCode a row, so that neither can change alone.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The rows `| code | name | meaning |` of the section "## Exit codes". */
function exitCodeRows(text: string): Array<{code: number; name: string; meaning: string}> {
  const start = text.indexOf('\n## Exit codes\n')
  if (start < 0) return []
  const end = text.indexOf('\n## ', start + 1)
  const section = text.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*(.+?)\s*\|\s*$/gm)].map((m) => ({
    code: Number(m[1]),
    name: m[2],
    meaning: m[3],
  }))
}

describe("README's exit-code table", () => {
  const rows = exitCodeRows(readme)

  it('lists every ExitCode of the code, with its name, and nothing else', () => {
    const fromCode = Object.entries(ExitCode)
      .map(([name, code]) => `${code} ${name}`)
      .sort()
    expect(rows.map((r) => `${r.code} ${r.name}`).sort()).toEqual(fromCode)
  })

  it('names the failures as they behave: a guest not up 5, a missing tool 8, an unwritable file 3', () => {
    const meaning = (name: keyof typeof ExitCode) => rows.find((r) => r.name === name)?.meaning ?? ''
    expect(meaning('noDevice')).toMatch(/guest that did not come up/)
    expect(meaning('unsupported')).toMatch(/missing tool/)
    expect(meaning('badInput')).toMatch(/cannot write/)
  })

  it('parses a table that differs from the code as different', () => {
    const broken = readme.replace(/^\| 12 \| busy \|.*$/m, '')
    expect(exitCodeRows(broken).map((r) => r.code)).not.toContain(12)
  })
})
