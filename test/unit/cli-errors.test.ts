// What a person sees for bad input: one line on stderr, a distinct exit code, no stack trace,
// and the same under --json (where stdout stays clean). Runs the built CLI as a person would.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'
import {mqbench} from '../helpers/mqbench-cli.js'

async function expectOneLine(args: string[], exit: number, pattern: RegExp) {
  const r = await mqbench(args)
  expect(r.status, r.stderr).toBe(exit)
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !/nodedir/.test(l))
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^mqbench: /)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  return r
}

describe('bad input at the command line', () => {
  it('gives oclif parse errors one line and exit 2', async () => {
    await expectOneLine(
      ['scale', '--queues', '1', '--bogus'],
      ExitCode.usage,
      /Nonexistent flag: --bogus \(see `mqbench scale --help`\)/,
    )
    await expectOneLine(
      ['scale', '--order', 'alternate', '--resume', 'x.json'],
      ExitCode.usage,
      /cannot also be provided/,
    )
  })

  // issue 10 case 7: one code for a bad flag value, whichever parser finds it
  it('gives a bad flag value exit 3, whether oclif or our own parser refuses it', async () => {
    for (const [args, pattern] of [
      [['scale', '--sessions', '0'], /--sessions: Expected an integer greater than or equal to 1/],
      [['scale', '--iterations', '0'], /--iterations: Expected an integer greater than or equal to 1/],
      [['rr', '--sessions', 'abc'], /--sessions: Expected an integer but received: abc/],
      [['scale', '--workload', 'nope'], /--workload=nope to be one of: rr, crr/],
      [['scale', '--duration', '0'], /--duration: duration 0 is out of range/],
    ] as const)
      await expectOneLine([...args], ExitCode.badInput, pattern)
  })

  // issue 10 case 7: paths the person named get "cannot write X: reason" and exit 3, never a raw errno
  it('says "cannot write" with exit 3 for a report path that is a directory or cannot hold PNGs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqb-write-'))
    try {
      const results = new URL('../fixtures/results/tap-rr.json', import.meta.url).pathname
      await expectOneLine(
        ['report', results, '-o', dir],
        ExitCode.badInput,
        new RegExp(`cannot write ${dir}: it is a directory`),
      )
      const file = join(dir, 'a-file')
      writeFileSync(file, 'x')
      const out = join(dir, 'r.html')
      await expectOneLine(
        ['report', results, '-o', out, '--png', file],
        ExitCode.badInput,
        new RegExp(`cannot write ${file}: it exists and is not a directory`),
      )
      await expectOneLine(
        ['report', results, '-o', out, '--png', join(file, 'sub')],
        ExitCode.badInput,
        /cannot write .*a-file\/sub: a part of .* is not a directory/,
      )
      await expectOneLine(
        ['report', results, '-o', join(dir, 'no/such/r.html')],
        ExitCode.badInput,
        /cannot write .*: no such directory .*no\/such$/,
      )
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('gives our own flag checks one line and exit 3', async () => {
    await expectOneLine(
      ['scale', '--queues', '8..1'],
      ExitCode.badInput,
      /--queues: queue range 8\.\.1 runs backwards; write 1\.\.8/,
    )
  })

  it('still says why under --json, with nothing on stdout', async () => {
    const r = await expectOneLine(
      ['report', '/nonexistent/results.json', '--json'],
      ExitCode.badResults,
      /no such file/,
    )
    expect(r.stdout.trim()).toBe('')
  })
})
