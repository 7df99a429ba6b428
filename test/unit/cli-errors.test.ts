// What a person sees for bad input: one line on stderr, a distinct exit code, no stack trace,
// and the same under --json (where stdout stays clean). Runs the built CLI as a person would.
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
      ['scale', '--workload', 'nope'],
      ExitCode.usage,
      /--workload=nope to be one of: rr, crr/,
    )
    await expectOneLine(
      ['scale', '--order', 'alternate', '--resume', 'x.json'],
      ExitCode.usage,
      /cannot also be provided/,
    )
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
