// The JSON Schemas in docs/ must say exactly what the TypeScript types of the files say: same
// properties, same optional/required split, at every level reachable from the file's root type
// (test/helpers/schema-mirror.ts), so that a field added to one and not the other fails here.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {PLAN_KIND, PLAN_VERSION} from '../../src/results/plan.js'
import {RESULTS_VERSION} from '../../src/results/schema.js'
import {schemaMismatches, type Json} from '../helpers/schema-mirror.js'

const doc = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8'))
const src = (path: string) => new URL(`../../src/${path}`, import.meta.url)
const schema = doc('results.schema.json')
const plan = doc('plan-results.schema.json')

/** Every definition is referenced from the schema itself: none is left over from a removed field. */
function unusedDefinitions(s: Json): string[] {
  const text = JSON.stringify(s)
  return Object.keys(s.definitions).filter((name) => !text.includes(`"#/definitions/${name}"`))
}

describe('docs/results.schema.json', () => {
  it('mirrors every interface reachable from ResultsFile', () => {
    expect(
      schemaMismatches({
        schema,
        sources: [src('results/schema.ts'), src('host/info.ts')],
        root: 'ResultsFile',
      }),
    ).toEqual([])
  })

  it('covers every workload result and every definition is used', () => {
    expect(unusedDefinitions(schema)).toEqual([])
    expect(schema.properties.version.const).toBe(RESULTS_VERSION)
    expect(schema.properties.schema.const).toBe('mqbench/results')
  })
})

describe('docs/plan-results.schema.json', () => {
  it('mirrors every interface reachable from PlanResultsFile, HostInfo and GuestRecord through the results schema', () => {
    const sources = [
      'results/plan.ts',
      'results/plan-schema.ts',
      'results/schema.ts',
      'host/info.ts', // HostInfo
    ].map(src)
    expect(schemaMismatches({schema: plan, others: [schema], sources, root: 'PlanResultsFile'})).toEqual([])
  })

  it('has the kind and version the code writes, and every definition is used', () => {
    expect(unusedDefinitions(plan)).toEqual([])
    expect(plan.properties.kind.const).toBe(PLAN_KIND)
    expect(plan.properties.version.const).toBe(PLAN_VERSION)
    expect(plan.properties.schema.const).toBe('mqbench/results')
  })
})
