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
// A flag with a defaultHelp function marks its command "dynamic help", and oclif then imports the
// command (rr: 83 modules, the histogram library and the addon; 0.37 s) to show --help. mqbench's
// defaultHelp functions only spell the flag's declared default as a person writes it (10000 ->
// 10s), so the value cached above is already what help would compute: help reads it from here.
// A defaultHelp that read the machine (CPUs, files) would need its mark kept.
for (const cmd of Object.values(plugin.manifest.commands)) {
  cmd.hasDynamicHelp = false
  for (const flag of Object.values(cmd.flags)) if ('hasDynamicHelp' in flag) flag.hasDynamicHelp = false
}
writeFileSync(out, JSON.stringify(plugin.manifest, null, 2) + '\n')
console.log(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)
