// What a built binary needs from the host it runs on, read the way the dynamic loader sees it:
// the newest GLIBC_/GLIBCXX_/CXXABI_ symbol version it imports (objdump -T), and the kernel in a
// static executable's ABI note (readelf -n). Shared by scripts/pack.js, which refuses to pack
// binaries that need more than native/prebuilds.json declares, and by the test that checks it.
import {execFileSync} from 'node:child_process'

const newest = (versions) =>
  versions
    .sort((a, b) => {
      const pa = a.split('.').map(Number)
      const pb = b.split('.').map(Number)
      for (let i = 0; i < Math.max(pa.length, pb.length); i++)
        if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
      return 0
    })
    .at(-1)

/** {glibc, glibcxx, cxxabi}: the newest version of each that the binary's dynamic symbols ask for. */
export function symbolFloor(path) {
  const out = execFileSync('objdump', ['-T', path], {encoding: 'utf8'})
  const of = (prefix) =>
    newest([...out.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]))
  return {glibc: of('GLIBC'), glibcxx: of('GLIBCXX'), cxxabi: of('CXXABI')}
}

/** The minimum kernel in an ELF executable's NT_GNU_ABI_TAG note ("3.2.0"), or undefined. */
export function abiKernel(path) {
  const out = execFileSync('readelf', ['-n', path], {encoding: 'utf8'})
  return /OS: Linux, ABI: ([0-9.]+)/.exec(out)?.[1]
}

/** Whether an ELF file has a program interpreter (is dynamically linked). */
export function isDynamic(path) {
  return /INTERP/.test(execFileSync('readelf', ['-l', path], {encoding: 'utf8'}))
}
