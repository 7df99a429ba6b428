// How a sweep says it ended (issue 10 cases 8 and 10): what a stopped sweep really kept.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'
import type {ResultsFile} from '../../src/results/schema.js'
import {stoppedEarly} from '../../src/scale/run.js'

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/results/tap-rr.json', import.meta.url), 'utf8'),
) as ResultsFile

describe('a sweep whose workload stopped early', () => {
  it('says how many steps the file keeps, not the seconds of the dropped iteration', () => {
    const none = stoppedEarly('the link vanished', {results: {...fixture, steps: []}, path: 'r.json'})
    expect(none.exitCode).toBe(ExitCode.partial)
    expect(none.message).toBe(
      'the test stopped early: the link vanished; 0 of 4 steps kept in r.json (not the iteration in progress); finish with `mqbench scale --resume r.json`',
    )
    const two = stoppedEarly('server died', {
      results: {...fixture, steps: fixture.steps.slice(0, 2)},
      path: 'r.json',
    })
    expect(two.message).toMatch(/; 2 of 4 steps kept in r\.json/)
    const alternate = {...fixture, config: {...fixture.config, order: 'alternate' as const}}
    expect(stoppedEarly('x', {results: alternate, path: 'r.json'}).message).toMatch(
      /; 12 of 12 iterations kept/,
    )
  })
})
