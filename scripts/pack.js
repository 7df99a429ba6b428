// Makes the published package (`npm run package`): the repository's tree as built, staged with the
// prebuilt addon and agent in prebuilds/<platform>-<arch>/ and a manifest without scripts, then
// `npm pack`ed. The repository's package.json keeps `install: node-gyp rebuild` and `prepare`, so
// `npm ci` in a clone builds everything; the published one has no install, preinstall, postinstall
// or prepare script and no binding.gyp at its root (it moves to native/, where npm does not look),
// so no client runs or blocks a build. Nothing is compiled here: build first (npm ci, or
// `npm run build:native && npm run build`). `npm pack` in the repository is refused (prepack), so
// a tarball with an install script cannot be made by mistake.
import {cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {execFileSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {abiKernel, isDynamic, symbolFloor} from './elf-floor.js'

const root = fileURLToPath(new URL('..', import.meta.url))
// --out DIR: where the tarball goes (default: the repository's root)
const outAt = process.argv.indexOf('--out')
const outDir = outAt > 0 ? process.argv[outAt + 1] : root

if (process.argv.includes('--refuse')) {
  if (process.env.MQBENCH_PACKING) process.exit(0)
  console.error(
    'mqbench: make the package with `npm run package` (scripts/pack.js): plain `npm pack` would publish the install script',
  )
  process.exit(2)
}

const fail = (line) => {
  console.error(`pack: ${line}`)
  process.exit(1)
}

const platform = `${process.platform}-${process.arch}`
const declared = JSON.parse(readFileSync(join(root, 'native/prebuilds.json'), 'utf8'))[platform]
if (!declared) fail(`native/prebuilds.json declares no prebuild for ${platform}`)
const addon = join(root, 'build/Release/mqbench.node')
const agent = join(root, 'build/Release/mqbench-agent')
for (const p of [addon, agent, join(root, 'dist/commands/doctor.js'), join(root, 'oclif.manifest.json')])
  if (!existsSync(p))
    fail(`${relative(root, p)} is missing: build first (npm run build:native && npm run build)`)

// The declaration is what users are told: the binaries must need exactly that.
const floor = symbolFloor(addon)
for (const k of ['glibc', 'glibcxx', 'cxxabi'])
  if (floor[k] !== declared.addon[k])
    fail(
      `the addon needs ${k} ${floor[k]} but native/prebuilds.json declares ${declared.addon[k]}: correct the declaration (and README)`,
    )
if (isDynamic(agent)) fail('build/Release/mqbench-agent is dynamically linked; the guest has no libraries')
const kernel = abiKernel(agent)
if (kernel !== declared.agent.kernel)
  fail(`the agent needs kernel ${kernel} but native/prebuilds.json declares ${declared.agent.kernel}`)

const stage = mkdtempSync(join(tmpdir(), 'mqbench-pack-'))
try {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  // dist/ without source maps and without output whose source is gone (dist/ outlives renames).
  cpSync(join(root, 'dist'), join(stage, 'dist'), {
    recursive: true,
    filter: (p) => {
      if (statSync(p).isDirectory()) return true
      if (!p.endsWith('.js')) return false
      return existsSync(join(root, 'src', relative(join(root, 'dist'), p)).replace(/\.js$/, '.ts'))
    },
  })
  for (const f of ['bin/run.js', 'dashboards', 'docs', 'oclif.manifest.json', 'README.md'])
    cpSync(join(root, f), join(stage, f), {recursive: true})
  // The sources for a build from source, without any build made in them.
  cpSync(join(root, 'native'), join(stage, 'native'), {
    recursive: true,
    filter: (p) => !relative(join(root, 'native'), p).startsWith('build'),
  })
  // binding.gyp moves to native/: its paths become relative to that directory.
  const gyp = readFileSync(join(root, 'binding.gyp'), 'utf8')
    .replaceAll("'^native/addon'", "'^addon'")
    .replaceAll('native/', '')
    .replaceAll('"native"', '"."')
    .replaceAll("require('./package.json')", "require('../package.json')")
  writeFileSync(join(stage, 'native/binding.gyp'), gyp)
  const pre = join(stage, 'prebuilds', platform)
  cpSync(addon, join(pre, declared.addon.file))
  cpSync(agent, join(pre, declared.agent.file))

  delete pkg.scripts
  delete pkg.devDependencies
  delete pkg.gypfile
  // There is no dist/index.js: mqbench is a command, not a library to import.
  delete pkg.main
  pkg.files = ['bin', 'dist', 'native', 'prebuilds', 'dashboards', 'docs', 'oclif.manifest.json']
  writeFileSync(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')

  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], {
    cwd: stage,
    encoding: 'utf8',
    env: {...process.env, MQBENCH_PACKING: '1'},
  })
  const [info] = JSON.parse(out)
  const dirs = new Map()
  for (const f of info.files) {
    const top = f.path.startsWith('prebuilds/') ? f.path : f.path.split('/')[0]
    dirs.set(top, (dirs.get(top) ?? 0) + f.size)
  }
  for (const [d, bytes] of [...dirs].sort((a, b) => b[1] - a[1]))
    console.log(`${String(Math.round(bytes / 1024)).padStart(6)} KB  ${d}`)
  console.log(
    `${info.filename}: ${(info.size / 1e6).toFixed(2)} MB packed, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${info.entryCount} files`,
  )
  console.log(`tarball: ${join(outDir, info.filename)}`)
  if (info.size > 15e6) fail(`${info.filename} is over the 15 MB budget`)
} finally {
  rmSync(stage, {recursive: true, force: true})
}
