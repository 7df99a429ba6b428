// Whether a JSON Schema says exactly what TypeScript declarations say: same properties, same
// optional/required split, same scalar types and same literal values (enum, const), at every level
// reachable from a root type. Walks the declarations with the compiler API's syntax tree
// (interfaces with what they extend, type literals, arrays, unions, aliases, NonNullable<X>, X['k'])
// and the schema with its $refs, also into another schema by its $id, so that a field added to one
// and not the other fails the test that calls it. Without the type checker, maps (Record) and
// types computed from values (`typeof X`, `(typeof LIST)[number]`) are not compared.
import {readFileSync} from 'node:fs'
import ts from 'typescript'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON Schema document walked generically
export type Json = {[k: string]: any}

type Decl = ts.InterfaceDeclaration | ts.TypeAliasDeclaration
/** A schema node with the document its relative $refs resolve in. */
interface Node {
  js: Json
  doc: Json
}

function pointer(doc: Json, path: string): Json {
  let at = doc
  for (const part of path.split('/').filter(Boolean)) {
    at = at?.[part.replace(/~1/g, '/').replace(/~0/g, '~')]
    if (at === undefined) throw new Error(`$ref #${path}: nothing there`)
  }
  return at
}

/**
 * Returns one line per mismatch between the type `root` (declared in one of `sources`) and the
 * schema `schema`; `others` are the schemas it references by $id.
 */
export function schemaMismatches(o: {schema: Json; others?: Json[]; sources: URL[]; root: string}): string[] {
  const byId = new Map<string, Json>((o.others ?? []).map((s) => [s.$id as string, s]))
  const decls = new Map<string, {decl: Decl; file: ts.SourceFile}>()
  for (const url of o.sources) {
    const file = ts.createSourceFile(url.pathname, readFileSync(url, 'utf8'), ts.ScriptTarget.ES2022, true)
    file.forEachChild((n) => {
      if (!ts.isInterfaceDeclaration(n) && !ts.isTypeAliasDeclaration(n)) return
      // Two declarations of one name would make the walk pick one silently.
      if (decls.has(n.name.text)) throw new Error(`${n.name.text} is declared in two of the sources`)
      decls.set(n.name.text, {decl: n, file})
    })
  }
  const deref = (n: Node): Node => {
    const ref = n.js.$ref as string | undefined
    if (!ref) return n
    const [id, path] = ref.split('#')
    const doc = id ? byId.get(id) : n.doc
    if (!doc) throw new Error(`$ref ${ref}: no schema with that $id was given`)
    return deref({js: pointer(doc, path ?? ''), doc})
  }
  /** The properties of an interface (and of what it extends) or a type literal. */
  const members = (t: ts.Node): ts.TypeElement[] | undefined => {
    if (ts.isTypeLiteralNode(t)) return [...t.members]
    if (!ts.isInterfaceDeclaration(t)) return undefined
    const inherited = (t.heritageClauses ?? [])
      .flatMap((h) => h.types)
      .flatMap((h) => {
        const base = decls.get(h.expression.getText())?.decl
        return (base && members(base)) ?? []
      })
    return [...inherited, ...t.members]
  }
  const out: string[] = []
  /** The values of a literal, or of a union of literals and aliases of such unions; else undefined. */
  const literalsOf = (t: ts.TypeNode): unknown[] | undefined => {
    if (ts.isLiteralTypeNode(t)) return [JSON.parse(t.literal.getText().replace(/^'(.*)'$/, '"$1"'))]
    if (ts.isUnionTypeNode(t)) {
      const parts = t.types.map(literalsOf)
      return parts.every((p) => p !== undefined) ? parts.flat() : undefined
    }
    const alias = ts.isTypeReferenceNode(t) ? decls.get(t.typeName.getText())?.decl : undefined
    return alias && ts.isTypeAliasDeclaration(alias) ? literalsOf(alias.type) : undefined
  }
  /** A scalar or a union of literals against the schema's type, enum or const. */
  const scalar = (t: ts.TypeNode, js: Json, where: string): boolean => {
    const kinds: Record<number, string[]> = {
      [ts.SyntaxKind.NumberKeyword]: ['number', 'integer'],
      [ts.SyntaxKind.StringKeyword]: ['string'],
      [ts.SyntaxKind.BooleanKeyword]: ['boolean'],
    }
    if (kinds[t.kind]) {
      const types: string[] = [js.type ?? []].flat()
      if (!types.some((x) => kinds[t.kind].includes(x)))
        out.push(`${where}: TS ${t.getText()}, schema ${JSON.stringify(js.type ?? js.enum ?? js.const)}`)
      return true
    }
    const literals = literalsOf(t)
    if (!literals) return false
    const allowed: unknown[] = js.enum ?? ('const' in js ? [js.const] : [])
    const sortJson = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort()
    if (JSON.stringify(sortJson(literals)) !== JSON.stringify(sortJson(allowed)))
      out.push(
        `${where}: TS ${sortJson(literals).join(' | ')}, schema ${sortJson(allowed).join(' | ') || 'no enum'}`,
      )
    return true
  }
  const walk = (t: ts.Node, node: Node, where: string): void => {
    node = deref(node)
    const js = node.js
    if (ts.isTypeNode(t) && scalar(t, js, where)) return
    // T[] and Array<T> alike
    const element = ts.isArrayTypeNode(t)
      ? t.elementType
      : ts.isTypeReferenceNode(t) && t.typeName.getText() === 'Array'
        ? t.typeArguments?.[0]
        : undefined
    if (element) {
      if (js.type !== 'array') out.push(`${where}: TS array, schema ${js.type}`)
      else walk(element, {js: js.items, doc: node.doc}, `${where}[]`)
      return
    }
    // NonNullable<T>: T, as the schema has no null; X['k']: the type of X's member k
    if (ts.isTypeReferenceNode(t) && t.typeName.getText() === 'NonNullable' && t.typeArguments?.length === 1)
      return walk(t.typeArguments[0], node, where)
    if (ts.isIndexedAccessTypeNode(t) && ts.isTypeReferenceNode(t.objectType)) {
      const d = decls.get(t.objectType.typeName.getText())?.decl
      const key = t.indexType.getText().replace(/^'(.*)'$/, '$1')
      const m = d && members(d)?.find((x) => ts.isPropertySignature(x) && x.name.getText() === key)
      if (m && ts.isPropertySignature(m) && m.type) walk(m.type, node, where)
      return
    }
    if (ts.isTypeReferenceNode(t)) {
      const d = decls.get(t.typeName.getText())
      if (!d) return // Record, NonNullable<...>, types from elsewhere: not walked
      return walk(ts.isTypeAliasDeclaration(d.decl) ? d.decl.type : d.decl, node, where)
    }
    if (ts.isUnionTypeNode(t) && t.types.every((u) => ts.isTypeReferenceNode(u))) {
      const alts: Json[] = js.oneOf ?? js.anyOf ?? []
      if (alts.length !== t.types.length)
        out.push(`${where}: union of ${t.types.length}, schema has ${alts.length} alternatives`)
      t.types.forEach((u, i) => alts[i] && walk(u, {js: alts[i], doc: node.doc}, `${where}|${i}`))
      return
    }
    const ms = members(t)
    if (!ms) return
    if (js.type !== 'object') {
      out.push(`${where}: TS object, schema ${JSON.stringify(js.type)}`)
      return
    }
    const tsProps = new Map<string, ts.PropertySignature>()
    for (const m of ms) if (ts.isPropertySignature(m)) tsProps.set(m.name.getText(), m)
    const jsProps = Object.keys(js.properties ?? {})
    for (const name of jsProps)
      if (!tsProps.has(name)) out.push(`${where}.${name}: in the JSON Schema, not in the TypeScript type`)
    for (const [name, m] of tsProps) {
      if (!jsProps.includes(name)) {
        out.push(`${where}.${name}: in the TypeScript type, not in the JSON Schema`)
        continue
      }
      const required = (js.required ?? []).includes(name)
      if (required === Boolean(m.questionToken))
        out.push(
          `${where}.${name}: ${m.questionToken ? 'optional' : 'required'} in the TypeScript type, ${required ? 'required' : 'optional'} in the JSON Schema`,
        )
      if (m.type) walk(m.type, {js: js.properties[name], doc: node.doc}, `${where}.${name}`)
    }
  }
  const root = decls.get(o.root)
  if (!root) throw new Error(`${o.root} is not declared in the sources`)
  walk(root.decl, {js: o.schema, doc: o.schema}, o.root)
  return out
}
