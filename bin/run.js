#!/usr/bin/env node
// Start-up is most of a short run's cost (docs/sessions.md, "Start-up"), so this file loads as
// little as it can before the command does.
import {readFileSync} from 'node:fs'
import module from 'node:module'
import {arch, platform} from 'node:os'

const argv = process.argv.slice(2)

// `--version` answers from package.json, as oclif would (`mqbench/0.1.0 linux-x64 node-v20.20.2`)
// but without loading oclif (0.08 s of compiling and its config walk): a C tool's cost. oclif's
// platform names WSL "wsl" (Microsoft in the kernel's version string); so does this.
if (argv.length === 1 && argv[0] === '--version') {
  const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  let os = platform()
  try {
    if (os === 'linux' && /microsoft/i.test(readFileSync('/proc/version', 'utf8'))) os = 'wsl'
  } catch {
    // no /proc: plain linux
  }
  process.stdout.write(
    `${name}/${version} ${os}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}\n`,
  )
} else {
  // V8's code cache on disk (Node 22.1 and later; Node 20 has no such call, and runs without it):
  // oclif and the command's modules are compiled once, not at every start.
  module.enableCompileCache?.()
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
