// `npm test`'s pretest: builds (tsc + manifest) only when a source is newer than the last build,
// so that a clone's `npm ci` (whose prepare builds) and CI pay for one TypeScript build, while a
// contributor who edited src/ and runs `npm test` still tests what they wrote. The manifest is
// written last by `npm run build`, so its time is the build's.
import {execFileSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const mtime = (p) => {
  try {
    return statSync(join(root, p)).mtimeMs
  } catch {
    return undefined
  }
}
const sources = ['tsconfig.json', 'package.json', 'scripts/manifest.js']
for (const e of readdirSync(join(root, 'src'), {recursive: true, withFileTypes: true}))
  if (e.isFile() && e.name.endsWith('.ts'))
    sources.push(join(e.parentPath ?? e.path, e.name).slice(root.length))

const built = mtime('oclif.manifest.json')
const newer = built === undefined ? undefined : sources.find((s) => (mtime(s) ?? 0) > built)
if (built !== undefined && newer === undefined) {
  console.log('build: up to date (no source newer than oclif.manifest.json)')
} else {
  console.log(built === undefined ? 'build: no build yet' : `build: ${newer} changed since the last build`)
  execFileSync('npm', ['run', 'build'], {cwd: root, stdio: 'inherit'})
}
