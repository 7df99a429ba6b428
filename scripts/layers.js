// The order of the library's floors, written down once and enforced by `npm run lint`: a module
// imports only from floors below its own (or from its own folder), and no files import each other in
// a loop. Type-only imports count: `import type` ties a floor to the shapes of the one it names as
// surely as a value does (eslint's import/no-cycle skips them, so a cycle of types passed it).
// The edges are read with the TypeScript compiler's own import scanner (ts.preProcessFile), which
// sees `import`, `import type`, `export ... from` and `import()`. test/unit/layers.test.ts shows
// that a violation fails.
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'

/**
 * Floors from the ground up; each entry is a folder of src/ (with a trailing slash) or a file at its
 * root. Entries of one floor are peers and do not import each other.
 */
export const LAYERS = [
  // The vocabulary every floor speaks: the error model and the bounds.
  ['errors.ts', 'limits.ts'],
  // Finding the native binaries: a build of this tree, else the package's prebuilds.
  ['prebuilds.ts'],
  // The addon's typed face over native/ (the C++ floor below all of src/).
  ['native.ts'],
  // Running a tool and wording a number: no knowledge of the machine's state, so host/ (which runs
  // `ip` through exec.ts) and every user of `fmt` stand on it.
  ['util/'],
  // The machine: namespaces, the undo registry, privileges, CPUs, and HostInfo, the facts a
  // results file records about it (read here, so defined here; results/schema.ts stores it).
  ['host/'],
  // The stored vocabulary (schema.ts, plan-schema.ts), statistics and results files. Below the
  // observers, which fill its shapes, and below everything that writes or draws a results file.
  ['results/'],
  // Readers of per-queue counters, softnet, interrupts and CPU time, into results' shapes.
  ['observe/'],
  // Drivers of the engines: sessions over the native session engine; vm the guest (qemu, QMP,
  // the agent and its typed face).
  ['sessions/', 'vm/'],
  // Far hosts over SSH: the agent copied and run in host mode, its typed face reused from vm/;
  // the session client and server limits from sessions/.
  ['hosts/'],
  // Testbeds: namespace pairs, taps, relays, guests.
  ['testbed/'],
  // The generator, on a testbed (gen/testbed.ts) and into a guest (gen/vm.ts).
  ['gen/'],
  // What a command needs of a host (tools, kernel files, capabilities, devices, the addon), as a
  // table of probes that this host or a far one answers, checked before anything changes.
  ['prereqs.ts'],
  // Sweeps and advice: scale runs sessions and gen on testbeds; tune reads results and observations.
  ['scale/', 'tune/', 'doctor.ts'],
  // The checks, including the vm test plan (which runs scale's workloads).
  ['check/'],
  // Pages and summaries of results files.
  ['report/'],
  // The command base, flags and parsers.
  ['cli/'],
  // The commands: parse flags, call one library function, render its result.
  ['commands/'],
]

const floorOf = new Map(LAYERS.flatMap((units, floor) => units.map((u) => [u, floor])))

/** The unit (folder or root file) a path under src/ belongs to. */
export const unitOf = (rel) => (rel.includes('/') ? `${rel.split('/')[0]}/` : rel)

/** The relative imports of one file, resolved to paths under src/ (`.js` specifiers name `.ts` files). */
export function importsOf(rel, text) {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((i) => i.fileName)
    .filter((f) => f.startsWith('.'))
    .map((f) => join(dirname(rel), f).replace(/\.js$/, '.ts'))
}

/**
 * Every violation in `files` (path under src/ -> its text): an import against the order, a unit the
 * order does not name, and each loop of files importing each other.
 */
export function layerViolations(files) {
  const out = []
  const graph = new Map()
  for (const [rel, text] of files) {
    const from = unitOf(rel)
    if (!floorOf.has(from)) out.push(`${rel}: ${from} has no floor in scripts/layers.js LAYERS`)
    const targets = importsOf(rel, text).filter((t) => !t.startsWith('..'))
    graph.set(rel, targets)
    for (const target of targets) {
      const to = unitOf(target)
      if (to === from || !floorOf.has(from) || !floorOf.has(to)) continue
      const [a, b] = [floorOf.get(from), floorOf.get(to)]
      if (b > a)
        out.push(`${rel} imports ${target}: ${from} (floor ${a + 1}) is below ${to} (floor ${b + 1})`)
      else if (b === a) out.push(`${rel} imports ${target}: ${from} and ${to} are peers on floor ${a + 1}`)
    }
  }
  for (const loop of loops(graph)) out.push(`import loop: ${[...loop, loop[0]].join(' -> ')}`)
  return out
}

/** The strongly connected components of more than one file (Tarjan), each as a list of files. */
function loops(graph) {
  let index = 0
  const idx = new Map()
  const low = new Map()
  const stack = []
  const on = new Set()
  const found = []
  const visit = (v) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v), low.get(w)))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) !== idx.get(v)) return
    const scc = []
    let w
    do {
      w = stack.pop()
      on.delete(w)
      scc.push(w)
    } while (w !== v)
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort())
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return found
}

/** The TypeScript files under `dir` (src/), by path relative to it. */
export function readTree(dir) {
  const files = new Map()
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (p.endsWith('.ts')) files.set(relative(dir, p), readFileSync(p, 'utf8'))
    }
  }
  walk(dir)
  return files
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = fileURLToPath(new URL('../src', import.meta.url))
  const violations = layerViolations(readTree(src))
  for (const v of violations) process.stderr.write(`layers: ${v}\n`)
  process.exit(violations.length ? 1 : 0)
}
