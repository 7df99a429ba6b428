// docs/results.schema.json must say exactly what src/results/schema.ts says: same properties,
// same optional/required split, at every level reachable from ResultsFile. Walks the TypeScript
// declarations with the compiler API so that a field added to one and not the other fails here.
import {readFileSync} from 'node:fs'
import ts from 'typescript'
import {describe, expect, it} from 'vitest'
import {RESULTS_VERSION} from '../../src/results/schema.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON Schema document walked generically
type Json = {[k: string]: any}
const schema: Json = JSON.parse(
  readFileSync(new URL('../../docs/results.schema.json', import.meta.url), 'utf8'),
)
const source = ts.createSourceFile(
  'schema.ts',
  readFileSync(new URL('../../src/results/schema.ts', import.meta.url), 'utf8'),
  ts.ScriptTarget.ES2022,
  true,
)
const decls = new Map<string, ts.InterfaceDeclaration | ts.TypeAliasDeclaration>()
source.forEachChild((n) => {
  if (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) decls.set(n.name.text, n)
})

function deref(node: Json): Json {
  if (!node.$ref) return node
  return schema.definitions[node.$ref.replace('#/definitions/', '')]
}

function members(t: ts.Node): ts.NodeArray<ts.TypeElement> | undefined {
  if (ts.isInterfaceDeclaration(t)) return t.members
  if (ts.isTypeLiteralNode(t)) return t.members
  return undefined
}

/** Returns one line per mismatch between a TS type and the JSON Schema node that should mirror it. */
function compare(t: ts.Node, js: Json, where: string, out: string[]): void {
  js = deref(js)
  if (ts.isTypeReferenceNode(t)) {
    const name = t.typeName.getText(source)
    const d = decls.get(name)
    if (name === 'Record') return // maps: additionalProperties, checked by hand
    if (!d) return
    return compare(ts.isTypeAliasDeclaration(d) ? d.type : d, js, where, out)
  }
  if (ts.isArrayTypeNode(t)) {
    if (js.type !== 'array') out.push(`${where}: TS array, schema ${js.type}`)
    else compare(t.elementType, js.items, `${where}[]`, out)
    return
  }
  if (ts.isUnionTypeNode(t) && t.types.every((u) => ts.isTypeReferenceNode(u))) {
    const alts: Json[] = js.oneOf ?? js.anyOf ?? []
    if (alts.length !== t.types.length)
      out.push(`${where}: union of ${t.types.length}, schema has ${alts.length} alternatives`)
    t.types.forEach((u, i) => alts[i] && compare(u, alts[i], `${where}|${i}`, out))
    return
  }
  const ms = members(t)
  if (!ms) return
  if (js.type !== 'object') {
    out.push(`${where}: TS object, schema ${JSON.stringify(js.type)}`)
    return
  }
  const tsProps = new Map<string, ts.PropertySignature>()
  for (const m of ms) if (ts.isPropertySignature(m)) tsProps.set(m.name.getText(source), m)
  const jsProps = Object.keys(js.properties ?? {})
  for (const name of jsProps)
    if (!tsProps.has(name)) out.push(`${where}.${name}: in the JSON Schema, not in schema.ts`)
  for (const [name, m] of tsProps) {
    if (!jsProps.includes(name)) {
      out.push(`${where}.${name}: in schema.ts, not in the JSON Schema`)
      continue
    }
    const required = (js.required ?? []).includes(name)
    if (required === Boolean(m.questionToken))
      out.push(
        `${where}.${name}: ${m.questionToken ? 'optional' : 'required'} in schema.ts, ${required ? 'required' : 'optional'} in the JSON Schema`,
      )
    if (m.type) compare(m.type, js.properties[name], `${where}.${name}`, out)
  }
}

describe('docs/results.schema.json', () => {
  it('mirrors every interface reachable from ResultsFile', () => {
    const out: string[] = []
    compare(decls.get('ResultsFile')!, schema, 'ResultsFile', out)
    expect(out).toEqual([])
  })

  it('covers every workload result and every definition is used', () => {
    const text = JSON.stringify(schema)
    for (const name of Object.keys(schema.definitions)) expect(text).toContain(`"#/definitions/${name}"`)
    expect(schema.properties.version.const).toBe(RESULTS_VERSION)
    expect(schema.properties.schema.const).toBe('mqbench/results')
  })
})
