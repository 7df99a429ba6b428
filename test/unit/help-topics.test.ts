// What a person reads before running anything: the topic list, the examples' promises, and where
// results land by default (kept out of git).
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import CheckVm from '../../src/commands/check/vm.js'
import Report from '../../src/commands/report.js'
import Scale from '../../src/commands/scale.js'
import {TESTBED_KINDS} from '../../src/testbed/index.js'
import {KIND_MAX_QUEUES} from '../../src/limits.js'
import {mqbench} from '../helpers/mqbench-cli.js'

const root = new URL('../..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  oclif: {topics: Record<string, {description: string}>}
}

describe('the testbed topic', () => {
  it('names every testbed kind', () => {
    const text = pkg.oclif.topics.testbed.description
    for (const kind of Object.keys(TESTBED_KINDS)) expect(text, kind).toMatch(new RegExp(`\\b${kind}\\b`))
  })
})

describe("report's examples", () => {
  const defaultOut = Report.flags.out.default as string
  for (const ex of Report.examples as Array<{description: string; command: string}>) {
    it(`writes where it says: ${ex.description}`, () => {
      // The page an example promises is its --out, or the default when it gives none.
      const out = /--out\s+(\S+)/.exec(ex.command)?.[1] ?? defaultOut
      const promised = /(\S+\.html)\b/.exec(ex.description)?.[1]
      if (promised) expect(promised.replace(/^\.\//, '')).toBe(out.replace(/^\.\//, ''))
    })
  }
})

describe('the default results directory', () => {
  for (const [name, cmd] of [
    ['scale', Scale],
    ['check vm', CheckVm],
  ] as const) {
    it(`${name}'s --out default is ignored by git`, () => {
      const dir = (cmd.flags.out.default as string).replace(/^\.\//, '')
      const r = spawnSync('git', ['check-ignore', '-q', `${dir}/x.json`], {cwd: root})
      expect(r.status, `${dir} is not in .gitignore`).toBe(0)
    })
  }
})

describe('check and check vm (issue 24, point 3)', () => {
  it("check --help lists check vm; check vm's help shows only its own flags", async () => {
    const check = await mqbench(['check', '--help'])
    expect(check.stdout).toMatch(
      /^COMMANDS\n {2}check vm {2}Run the multiqueue virtio-net test plan in qemu guests/m,
    )
    for (const vmOnly of ['--cases', '--baseline', '--repeats', '--vcpus', '--kernel', '--testbed'])
      expect(check.stdout).not.toContain(vmOnly)
    const vm = await mqbench(['check', 'vm', '--help'])
    for (const liveOnly of ['--dev', '--server', '--token', '--allow-remote', '--netns', '--port'])
      expect(vm.stdout).not.toContain(liveOnly)
    expect(vm.stdout).toContain('--cases')
  })

  it("check vm's --queues is bounded by the vm testbed's limit, not the tap's", async () => {
    const r = await mqbench(['check', 'vm', '--queues', String(KIND_MAX_QUEUES.vm + 1)])
    expect(r.status).toBe(3)
    expect(r.stderr).toMatch(
      `less than or equal to ${KIND_MAX_QUEUES.vm} but received: ${KIND_MAX_QUEUES.vm + 1}`,
    )
  })
})
