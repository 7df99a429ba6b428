// What start-up leaves out (docs/sessions.md, "Start-up"): `--version` answers without oclif in the
// words oclif would use, and `--help` of a command is read from the manifest without importing the
// command (which would load its library, the histogram library and the addon). Runs the built CLI.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core'
import {describe, expect, it} from 'vitest'
import {mqbench} from '../helpers/mqbench-cli.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('start-up', () => {
  it("answers --version with oclif's user agent", async () => {
    const r = await mqbench(['--version'])
    expect(r.status, r.stderr).toBe(0)
    const config = await Config.load({root})
    expect(r.stdout).toBe(`${config.userAgent}\n`)
  })

  it('shows a command help from the manifest, flag defaults spelled as written', async () => {
    const manifest = JSON.parse(readFileSync(`${root}oclif.manifest.json`, 'utf8')) as {
      commands: Record<string, {hasDynamicHelp?: boolean; flags: Record<string, {hasDynamicHelp?: boolean}>}>
    }
    // oclif imports a command to show its help when the manifest marks it dynamic.
    for (const [id, cmd] of Object.entries(manifest.commands)) {
      expect(cmd.hasDynamicHelp, id).toBe(false)
      for (const [name, flag] of Object.entries(cmd.flags))
        expect(flag.hasDynamicHelp ?? false, `${id} --${name}`).toBe(false)
    }
    const r = await mqbench(['rr', '--help'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/--duration=\S+\s+\[default: 10s\]/)
    expect(r.stdout).toMatch(/--confidence=\S+\s+\[default: 99,5\]/)
  })
})
