// Prints the slowest test files of a vitest JSON report (CI's .vitest-results.json) and each
// project's share, so that a CI run over its budget says where its time went. A file's time is
// from its start to its end, hooks and guest boots included.
import {readFileSync} from 'node:fs'
import {relative} from 'node:path'

const COUNT = 10
const report = JSON.parse(readFileSync(process.argv[2] ?? '.vitest-results.json', 'utf8'))
const files = report.testResults
  .map((f) => ({
    name: relative(process.cwd(), f.name),
    ms: f.endTime - f.startTime,
    failed: f.status !== 'passed',
  }))
  .sort((a, b) => b.ms - a.ms)
const sum = (xs) => xs.reduce((t, f) => t + f.ms, 0)
const s = (ms) => `${(ms / 1000).toFixed(1)} s`
const total = sum(files)
console.log(
  `slowest ${Math.min(COUNT, files.length)} of ${files.length} test files (each file's own time; unit files run side by side, so they add up to more than their wall time):`,
)
for (const f of files.slice(0, COUNT))
  console.log(
    `  ${s(f.ms).padStart(8)}  ${((100 * f.ms) / total).toFixed(0).padStart(3)}%  ${f.name}${f.failed ? '  (failed)' : ''}`,
  )
for (const dir of ['test/unit/', 'test/integration/']) {
  const mine = files.filter((f) => f.name.startsWith(dir))
  console.log(`  ${dir}: ${mine.length} files, ${s(sum(mine))} in all`)
}
