// The floors of src/ (scripts/layers.js, run by `npm run lint`): the tree as it stands keeps them,
// and each kind of violation, type-only ones included, is caught when introduced into a copy of it.
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
// @ts-expect-error: a plain JS script of the repo, without types
import {LAYERS, layerViolations, readTree} from '../../scripts/layers.js'

type Tree = Map<string, string>
const tree = (): Tree => readTree(fileURLToPath(new URL('../../src', import.meta.url))) as Tree
const check = (t: Tree): string[] => layerViolations(t) as string[]
/** A unit's floor number as the script counts them (from 1, in LAYERS' order). */
const floor = (unit: string) => 1 + (LAYERS as string[][]).findIndex((units) => units.includes(unit))
const withLine = (t: Tree, file: string, line: string): Tree => {
  expect(t.has(file), file).toBe(true)
  return new Map(t).set(file, `${line}\n${t.get(file)}`)
}

describe('the floors of src/', () => {
  it('the tree keeps them: no import against the order, no loop', () => {
    expect(check(tree())).toEqual([])
  })

  it('names every folder and root file of src/ on a floor', () => {
    const units = new Set([...tree().keys()].map((p) => (p.includes('/') ? `${p.split('/')[0]}/` : p)))
    expect([...units].sort()).toEqual((LAYERS as string[][]).flat().sort())
  })

  it('fails a type-only import from a lower floor to a higher one', () => {
    const v = check(withLine(tree(), 'results/plan.ts', "import type {VmCase} from '../check/vm/types.js'"))
    expect(v).toEqual([
      `results/plan.ts imports check/vm/types.ts: results/ (floor ${floor('results/')}) is below check/ (floor ${floor('check/')})`,
    ])
  })

  it('fails an import between peers of one floor', () => {
    expect(
      check(withLine(tree(), 'vm/qmp.ts', "export type {ServerLimits} from '../sessions/protocol.js'")),
    ).toEqual([
      `vm/qmp.ts imports sessions/protocol.ts: vm/ and sessions/ are peers on floor ${floor('vm/')}`,
    ])
  })

  it('fails a loop of type-only imports inside one folder', () => {
    // check/vm/judge.ts -> types.ts already; the way back closes the loop that issue 23 found
    const v = check(withLine(tree(), 'check/vm/types.ts', "import type {verdict} from './judge.js'"))
    expect(v).toHaveLength(1)
    expect(v[0]).toMatch(/^import loop: .*check\/vm\/judge\.ts.*check\/vm\/types\.ts/)
  })

  it('fails a folder the order does not name', () => {
    expect(check(new Map(tree()).set('extra/x.ts', ''))).toEqual([
      'extra/x.ts: extra/ has no floor in scripts/layers.js LAYERS',
    ])
  })
})
