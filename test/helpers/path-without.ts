// The system's PATH as one directory of links, without the programs `drop` names: a host that
// lacks a tool (a compiler, qemu) while everything else a person has stays where it was.
import {existsSync, mkdirSync, readdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'

const SYSTEM_BIN = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** Makes `dir` (which must not exist) and returns it, to be used as PATH. */
export function pathWithout(dir: string, drop: (name: string) => boolean): string {
  mkdirSync(dir)
  for (const d of SYSTEM_BIN) {
    let names: string[] = []
    try {
      names = readdirSync(d)
    } catch {}
    // the first directory on PATH that has a name wins, as the shell's lookup does
    for (const n of names) if (!drop(n) && !existsSync(join(dir, n))) symlinkSync(join(d, n), join(dir, n))
  }
  return dir
}
