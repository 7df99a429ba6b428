// Which native binary runs, and what a person is told when none fits: the loader's order (a build
// from source, then the package's prebuild), the one-line message with exit 13 for a missing or
// corrupt prebuild, and the declared glibc/libstdc++/kernel floors against the built binaries.
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {
  agentBinary,
  compareVersions,
  declaredPrebuilds,
  loadAddon,
  locateAddon,
  locateAgent,
  packageRoot,
} from '../../src/prebuilds.js'
// @ts-expect-error: a plain JS module shared with scripts/pack.js
import {abiKernel, isDynamic, symbolFloor} from '../../scripts/elf-floor.js'

const built = join(packageRoot, 'build/Release')
const declared = declaredPrebuilds()['linux-x64']!
const roots: string[] = []
afterAll(() => roots.forEach((r) => rmSync(r, {recursive: true, force: true})))

/** An installed copy's layout: package.json, native/prebuilds.json and the prebuilds given. */
function fakePackage(prebuilds: Record<string, Buffer | string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mqb-prebuilds-'))
  roots.push(root)
  writeFileSync(join(root, 'package.json'), JSON.stringify({name: 'mqbench'}))
  mkdirSync(join(root, 'native'))
  copyFileSync(join(packageRoot, 'native/prebuilds.json'), join(root, 'native/prebuilds.json'))
  for (const [path, content] of Object.entries(prebuilds)) {
    mkdirSync(join(root, path, '..'), {recursive: true})
    writeFileSync(join(root, path), content)
  }
  return root
}

const thrown = (f: () => unknown): MqbError => {
  try {
    f()
  } catch (err) {
    return err as MqbError
  }
  throw new Error('did not throw')
}

describe('the declared floors (native/prebuilds.json)', () => {
  it("match the built addon's symbol versions (objdump -T)", () => {
    const floor = symbolFloor(join(built, 'mqbench.node'))
    expect(floor).toEqual({
      glibc: declared.addon.glibc,
      glibcxx: declared.addon.glibcxx,
      cxxabi: declared.addon.cxxabi,
    })
  })

  it("match the static agent's ABI note", () => {
    expect(isDynamic(join(built, 'mqbench-agent'))).toBe(false)
    expect(abiKernel(join(built, 'mqbench-agent'))).toBe(declared.agent.kernel)
  })

  it('reads the newest version numerically', () => {
    expect(compareVersions('2.34', '2.4')).toBeGreaterThan(0)
    expect(compareVersions('3.4.22', '3.4.30')).toBeLessThan(0)
  })
})

describe('choosing the addon and the agent', () => {
  const addonBytes = () => readFileSync(join(built, 'mqbench.node'))
  const agentBytes = () => readFileSync(join(built, 'mqbench-agent'))

  it('an installed copy loads its prebuild; a build from source in native/ wins over it', () => {
    const root = fakePackage({
      [`prebuilds/linux-x64/${declared.addon.file}`]: addonBytes(),
      [`prebuilds/linux-x64/${declared.agent.file}`]: agentBytes(),
    })
    expect(locateAddon(root)).toEqual({
      how: 'prebuild',
      path: join(root, 'prebuilds/linux-x64', declared.addon.file),
    })
    expect(loadAddon<{areas: string[]}>(root).addon.areas.length).toBeGreaterThan(0)
    expect(agentBinary('x64', root)).toBe(join(root, 'prebuilds/linux-x64/mqbench-agent'))
    mkdirSync(join(root, 'native/build/Release'), {recursive: true})
    copyFileSync(join(built, 'mqbench.node'), join(root, 'native/build/Release/mqbench.node'))
    copyFileSync(join(built, 'mqbench-agent'), join(root, 'native/build/Release/mqbench-agent'))
    expect(locateAddon(root)).toEqual({
      how: 'source build',
      path: join(root, 'native/build/Release/mqbench.node'),
    })
    expect(locateAgent('x64', root).how).toBe('source build')
  })

  it('a missing prebuild is one line, exit 13, naming the platform and the build command', () => {
    const root = fakePackage({})
    const e = thrown(() => loadAddon(root))
    expect(e).toBeInstanceOf(MqbError)
    expect(e.exitCode).toBe(ExitCode.noBinary)
    expect(e.message).not.toContain('\n')
    expect(e.message).toMatch(
      /^no usable native addon for linux-x64 \(no prebuild for platform=linux arch=x64 /,
    )
    expect(e.message).toContain(`cd ${join(root, 'native')} && npx --yes node-gyp rebuild`)
    const a = thrown(() => agentBinary('x64', root))
    expect([a.exitCode, a.message]).toEqual([
      ExitCode.noBinary,
      expect.stringMatching(/^no usable guest agent for linux-x64 \(no prebuild for linux-x64 in /),
    ])
  })

  it('a corrupt prebuild is one line, exit 13, with the loader reason', () => {
    const root = fakePackage({
      [`prebuilds/linux-x64/${declared.addon.file}`]: addonBytes().subarray(0, 4096),
      [`prebuilds/linux-x64/${declared.agent.file}`]: 'not an executable at all, just text',
    })
    const e = thrown(() => loadAddon(root))
    expect(e.exitCode).toBe(ExitCode.noBinary)
    expect(e.message).not.toContain('\n')
    expect(e.message).toContain(`${join(root, 'prebuilds/linux-x64', declared.addon.file)} does not load: `)
    const a = thrown(() => agentBinary('x64', root))
    expect(a.exitCode).toBe(ExitCode.noBinary)
    expect(a.message).toMatch(/mqbench-agent is not an ELF file\)/)
  })

  it('an agent for another architecture is refused, not copied into a guest', () => {
    const root = fakePackage({'prebuilds/linux-arm64/mqbench-agent': agentBytes()})
    expect(thrown(() => agentBinary('arm64', root)).message).toMatch(/mqbench-agent is not built for arm64/)
  })
})
