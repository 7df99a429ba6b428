// A missing prerequisite is refused once, before anything is made (issue 22, point 6): with qemu
// absent from PATH, `check vm` says so in one line with exit 8 instead of filing every
// case as FAIL, and `testbed up --kind vm` and `scale --testbed vm` say the same line.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {describeNet} from '../helpers/privileges.js'
import {pathWithout} from '../helpers/path-without.js'
import {RUN_JS} from '../helpers/mqbench-cli.js'

const dir = mkdtempSync(join(tmpdir(), 'mqb-noqemu-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** PATH as the system's, without qemu-system-*. */
const pathWithoutQemu = () => pathWithout(join(dir, 'bin'), (n) => n.startsWith('qemu-system-'))

describeNet('a missing qemu', () => {
  const PATH = pathWithoutQemu()
  const run = (args: string[]) =>
    spawnSync(process.execPath, [RUN_JS, ...args], {
      env: {...process.env, PATH},
      encoding: 'utf8',
      timeout: 30_000,
    })
  const LINE = 'mqbench: qemu-system-x86_64 not found on PATH: apt-get install qemu-system-x86\n'

  it.each([
    ['check vm', ['check', 'vm', '--out', join(dir, 'out')]],
    ['testbed up --kind vm', ['testbed', 'up', 'mqbnoq', '--kind', 'vm']],
    ['scale --testbed vm', ['scale', '--queues', '1..2', '--testbed', 'vm', '--out', join(dir, 'out')]],
  ])('is refused once by %s, exit 8, before anything is made', (_, args) => {
    const r = run(args)
    expect(r.stderr).toBe(LINE)
    expect(r.status).toBe(8)
    expect(r.stdout).not.toMatch(/FAIL|PASS|boot/)
    let written: string[] = []
    try {
      written = readdirSync(join(dir, 'out'))
    } catch {}
    expect(written).toEqual([])
  })
})
