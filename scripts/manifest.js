// Writes oclif.manifest.json after `tsc`, as `oclif manifest` would: with it, oclif reads every
// command's flags and help from one file and imports only the command that runs, instead of
// importing all of them (and the addon) at every start. Generated, so it is not committed.
import {writeFileSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}oclif.manifest.json`
rmSync(out, {force: true})
const config = await Config.load({root, ignoreManifest: true})
const plugin = config.getPluginsList().find((p) => p.root === config.root)
if (!plugin || Object.keys(plugin.manifest.commands).length === 0)
  throw new Error('no commands found: run tsc first')
writeFileSync(out, JSON.stringify(plugin.manifest, null, 2) + '\n')
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)
