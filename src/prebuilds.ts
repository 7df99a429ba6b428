// Where the native binaries come from. A clone builds them with node-gyp into build/Release; an
// installed package carries them prebuilt in prebuilds/<platform>-<arch>/ (prebuildify's layout,
// resolved by node-gyp-build) and keeps the sources, whose build lands in native/build/Release.
// A build from source wins over a prebuild: a person builds one because the prebuild did not fit.
// native/prebuilds.json declares what each prebuild needs from the host (glibc, libstdc++, kernel).
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'
import {ExitCode, MqbError} from './errors.js'

// src/prebuilds.ts and dist/prebuilds.js both sit one level below the package root.
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

const require = createRequire(import.meta.url)
const nodeGypBuild = require('node-gyp-build') as {resolve(dir: string): string}

/** The prebuild directory name of this host ("linux-x64"), as prebuildify and node-gyp-build spell it. */
export const hostPlatform = (arch: string = process.arch) => `${process.platform}-${arch}`

export interface AddonFloor {
  file: string
  /** the newest symbol versions the addon asks for: the oldest glibc/libstdc++ it runs on */
  glibc: string
  glibcxx: string
  cxxabi: string
}
export interface AgentFloor {
  file: string
  /** the kernel version in the static agent's ELF ABI note */
  kernel: string
}
export type PrebuildDeclarations = Record<string, {addon: AddonFloor; agent: AgentFloor}>

export function declaredPrebuilds(root = packageRoot): PrebuildDeclarations {
  const all = JSON.parse(readFileSync(join(root, 'native/prebuilds.json'), 'utf8')) as Record<string, unknown>
  delete all.comment
  return all as PrebuildDeclarations
}

/** How a binary was chosen, for `doctor` and the messages. */
export interface BinaryChoice {
  path: string
  how: 'source build' | 'prebuild'
}

// A clone's build (binding.gyp at the root), then an installed copy's build from source (the
// package ships binding.gyp in native/, so that npm sees no native build at its root).
const SOURCE_BUILDS = ['build/Release', 'build/Debug', 'native/build/Release', 'native/build/Debug']

/** The one command that builds the addon and the agent from the sources of the copy at `root`. */
export function buildFromSourceCommand(root = packageRoot): string {
  return existsSync(join(root, 'binding.gyp'))
    ? `cd ${root} && npm run build:native`
    : `cd ${join(root, 'native')} && npx --yes node-gyp rebuild`
}

function unusable(what: string, reason: string, root: string, arch: string = process.arch): MqbError {
  return new MqbError(
    `no usable ${what} for ${hostPlatform(arch)} (${reason}); build it from source (needs g++, make and python3): ${buildFromSourceCommand(root)}`,
    ExitCode.noBinary,
  )
}

/** The glibc this process runs on ("2.36"), or undefined on another libc. */
export function hostGlibc(): string | undefined {
  const header = (process.report?.getReport() as {header?: {glibcVersionRuntime?: string}} | undefined)
    ?.header
  return header?.glibcVersionRuntime
}

/** Compares dotted versions numerically ("2.34" < "2.4" is false). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

export function locateAddon(root = packageRoot): BinaryChoice {
  for (const dir of SOURCE_BUILDS) {
    const p = join(root, dir, 'mqbench.node')
    if (existsSync(p)) return {path: p, how: 'source build'}
  }
  try {
    return {path: nodeGypBuild.resolve(root), how: 'prebuild'}
  } catch (err) {
    // node-gyp-build names every tag it looked for on one line, then where it looked.
    const reason = (err as Error).message
      .split('\n')[0]!
      .replace(/^No native build was found for /, 'no prebuild for ')
    throw unusable('native addon', reason, root)
  }
}

/** Loads the addon at `root`; a missing, corrupt or too-new binary is one line with exit 13. */
export function loadAddon<T>(root = packageRoot): {addon: T; choice: BinaryChoice} {
  const choice = locateAddon(root)
  const {problem} = elfProblem(choice.path, process.arch)
  if (problem)
    throw unusable(
      'native addon',
      `${choice.path} does not load: ${problem.slice(choice.path.length + 1)}`,
      root,
    )
  try {
    return {addon: require(choice.path) as T, choice}
  } catch (err) {
    const loader = (err as Error).message.split('\n')[0]!
    const floor = choice.how === 'prebuild' ? declaredPrebuilds(root)[hostPlatform()]?.addon : undefined
    const glibc = hostGlibc()
    const tooOld =
      floor && glibc && compareVersions(glibc, floor.glibc) < 0
        ? `; it needs glibc ${floor.glibc}, this host has ${glibc}`
        : ''
    throw unusable('native addon', `${choice.path} does not load: ${loader}${tooOld}`, root)
  }
}

/** Whether an ELF executable asks for a dynamic loader (has a PT_INTERP program header). */
export function elfIsDynamic(image: Buffer): boolean {
  return elfFacts(image).dynamic
}

// ELF e_machine of each architecture a binary may be built for (node's names).
const ELF_MACHINE: Record<string, number> = {x64: 62, arm64: 183}

/**
 * What the headers of a 64-bit little-endian ELF file say: its machine, whether it is dynamic, and
 * the bytes its loadable segments span. A file cut short passes dlopen's header checks and then
 * kills the process with SIGBUS when a segment beyond its end is touched, so the loader compares
 * that span with the file's size before it loads anything.
 */
export function elfFacts(image: Buffer): {machine: number; dynamic: boolean; spans: number} {
  if (image.length < 64 || image.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file')
  if (image[4] !== 2 || image[5] !== 1) throw new Error('not a 64-bit little-endian ELF file')
  const phoff = Number(image.readBigUInt64LE(0x20))
  const phentsize = image.readUInt16LE(0x36)
  const phnum = image.readUInt16LE(0x38)
  let dynamic = false
  let spans = phoff + phentsize * phnum
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize
    if (at + 0x28 > image.length) break
    const type = image.readUInt32LE(at)
    if (type === 3) dynamic = true // PT_INTERP
    if (type === 1)
      spans = Math.max(spans, Number(image.readBigUInt64LE(at + 8) + image.readBigUInt64LE(at + 0x20)))
  }
  return {machine: image.readUInt16LE(0x12), dynamic, spans}
}

/** Why the ELF file at `path` cannot run on `arch`, or undefined when its headers are sound. */
function elfProblem(path: string, arch: string): {problem?: string; dynamic?: boolean} {
  const image = readFileSync(path)
  let facts
  try {
    facts = elfFacts(image)
  } catch (err) {
    return {problem: `${path} is ${(err as Error).message}`}
  }
  if (facts.machine !== ELF_MACHINE[arch]) return {problem: `${path} is not built for ${arch}`}
  if (facts.spans > image.length)
    return {problem: `${path} is cut short (${image.length} of ${facts.spans} bytes)`}
  return {dynamic: facts.dynamic}
}

/**
 * The static guest agent for a guest of architecture `arch` (node's names: x64, arm64), and how it
 * was chosen: a build from source (this host's architecture only), else the package's prebuild.
 * Also the agent that an SSH far end gets copied to it.
 */
export function locateAgent(arch: string = process.arch, root = packageRoot): BinaryChoice {
  const builds =
    arch === process.arch
      ? SOURCE_BUILDS.map((d) => ({path: join(root, d, 'mqbench-agent'), how: 'source build' as const}))
      : []
  const file = declaredPrebuilds(root)[hostPlatform(arch)]?.agent.file ?? 'mqbench-agent'
  const prebuild = {path: join(root, 'prebuilds', hostPlatform(arch), file), how: 'prebuild' as const}
  const choice = [...builds, prebuild].find((c) => existsSync(c.path))
  if (!choice)
    throw unusable(
      'guest agent',
      `no prebuild for ${hostPlatform(arch)} in ${join(root, 'prebuilds')}`,
      root,
      arch,
    )
  const {problem, dynamic} = elfProblem(choice.path, arch)
  if (problem) throw unusable('guest agent', problem, root, arch)
  if (dynamic)
    throw unusable(
      'guest agent',
      `${choice.path} is dynamically linked and the guest has no libraries`,
      root,
      arch,
    )
  return choice
}

/** The path of the static guest agent for `arch`: what a guest's initramfs or a far host gets. */
export const agentBinary = (arch: string = process.arch, root = packageRoot): string =>
  locateAgent(arch, root).path
