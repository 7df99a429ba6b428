// Kernel modules for the guest: which .ko files, in which order, from the kernel's own
// modules.dep (the same source modprobe reads), and their contents ready for busybox insmod,
// which loads only plain ELF: a compressed module is decompressed here or refused by name.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {commandExists} from '../util/exec.js'

/** modules.dep as a map from module name (dashes as underscores) to its path and direct deps. */
export type ModuleDeps = Map<string, {path: string; deps: string[]}>

/** "kernel/drivers/net/virtio_net.ko.xz" → "virtio_net" */
export function moduleName(path: string): string {
  const base = path.split('/').pop() ?? path
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replaceAll('-', '_')
}

export function parseModulesDep(text: string): ModuleDeps {
  const out: ModuleDeps = new Map()
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s*(.*)$/.exec(line.trim())
    if (!m) continue
    const deps = m[2].split(/\s+/).filter(Boolean)
    out.set(moduleName(m[1]), {path: m[1], deps: deps.map(moduleName)})
  }
  return out
}

/**
 * The modules to insmod for `wanted`, dependencies first, each once. A wanted module that is not
 * in modules.dep is returned in `builtinOrMissing`: the kernel may have it built in (the caller
 * decides by modules.builtin).
 */
export function loadOrder(deps: ModuleDeps, wanted: string[]): {paths: string[]; builtinOrMissing: string[]} {
  const order: string[] = []
  const seen = new Set<string>()
  const missing: string[] = []
  const visit = (name: string, chain: string[]) => {
    const key = name.replaceAll('-', '_')
    if (seen.has(key)) return
    const entry = deps.get(key)
    if (!entry) {
      missing.push(key)
      seen.add(key)
      return
    }
    if (chain.includes(key))
      throw new Error(`modules.dep has a dependency cycle: ${[...chain, key].join(' -> ')}`)
    for (const d of entry.deps) visit(d, [...chain, key])
    seen.add(key)
    order.push(entry.path)
  }
  for (const w of wanted) visit(w, [])
  return {paths: order, builtinOrMissing: missing}
}

/** Names listed in modules.builtin (compiled into the kernel image: nothing to load). */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').filter(Boolean).map(moduleName))
}

const DECOMPRESSORS: Record<string, {tool: string; args: string[]; pkg: string}> = {
  '.ko.xz': {tool: 'xz', args: ['-dc'], pkg: 'xz-utils'},
  '.ko.zst': {tool: 'zstd', args: ['-dcq'], pkg: 'zstd'},
  '.ko.gz': {tool: 'gzip', args: ['-dc'], pkg: 'gzip'},
}

/** The plain ELF module (decompressed if the file is compressed), named NAME.ko. */
export function readModule(moduleDir: string, relPath: string): {name: string; data: Buffer} {
  const file = join(moduleDir, relPath)
  const plainName = `${moduleName(relPath)}.ko`
  const ext = Object.keys(DECOMPRESSORS).find((e) => relPath.endsWith(e))
  if (!ext) return {name: plainName, data: readFileSync(file)}
  const d = DECOMPRESSORS[ext]
  if (!commandExists(d.tool))
    throw new MqbError(
      `kernel module ${file} is compressed and ${d.tool} is not installed to unpack it for the guest (apt-get install ${d.pkg})`,
      ExitCode.unsupported,
    )
  // A module is a few hundred KiB; spawnSync's default buffer is 1 MiB, so ask for more.
  const r = spawnSync(d.tool, [...d.args, file], {maxBuffer: 64 << 20, timeout: 30_000})
  if (r.status !== 0 || !r.stdout?.length)
    throw new MqbError(
      `cannot decompress kernel module ${file}: ${String(r.stderr ?? r.error ?? '').trim()}`,
      ExitCode.unsupported,
    )
  return {name: plainName, data: r.stdout}
}
