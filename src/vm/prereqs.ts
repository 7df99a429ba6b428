// What a guest needs on this host, each missing piece reported in one line that names what to
// install: qemu, a static busybox, the mqbench guest agent.
import {accessSync, constants, existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {agentBinary} from '../native.js'
import {run} from '../util/exec.js'

export const QEMU = 'qemu-system-x86_64'

/** Whether an ELF executable asks for a dynamic loader (has a PT_INTERP program header). */
export function elfIsDynamic(image: Buffer): boolean {
  if (image.length < 64 || image.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file')
  if (image[4] !== 2) throw new Error('not a 64-bit ELF file')
  const phoff = Number(image.readBigUInt64LE(0x20))
  const phentsize = image.readUInt16LE(0x36)
  const phnum = image.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize
    if (at + 4 > image.length) break
    if (image.readUInt32LE(at) === 3) return true // PT_INTERP
  }
  return false
}

/** The first executable `cmd` in the directories of `searchPath` (PATH's syntax), as the shell finds it. */
function which(cmd: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(':').filter(Boolean)) {
    const p = join(dir, cmd)
    try {
      accessSync(p, constants.X_OK)
      if (statSync(p).isFile()) return p
    } catch {}
  }
  return undefined
}

/** `searchPath` is PATH's syntax; tests pass their own to see the message a host without qemu gets. */
export function findQemu(searchPath?: string): string {
  const q = which(QEMU, searchPath)
  if (!q) throw new MqbError(`${QEMU} not found: apt-get install qemu-system-x86`, ExitCode.unsupported)
  return q
}

/** The busybox to copy into the guest: it must be static (Debian's busybox-static package). */
export function findBusybox(
  paths: Array<string | undefined> = [
    process.env.MQBENCH_BUSYBOX,
    which('busybox'),
    '/bin/busybox',
    '/usr/bin/busybox',
  ],
): string {
  const candidates = paths.filter((p): p is string => !!p && existsSync(p))
  for (const p of candidates) {
    try {
      if (!elfIsDynamic(readFileSync(p))) return p
    } catch {}
  }
  throw new MqbError(
    candidates.length
      ? `${candidates[0]} is dynamically linked and cannot run alone in the guest: apt-get install busybox-static`
      : 'busybox not found: apt-get install busybox-static',
    ExitCode.unsupported,
  )
}

/** The guest agent, built by `npm install` next to the addon; it must be static (no libraries in the guest). */
export function findAgent(): string {
  const found = process.env.MQBENCH_AGENT ?? agentBinary()
  if (!existsSync(found)) throw new MqbError(`MQBENCH_AGENT=${found} does not exist`, ExitCode.badInput)
  if (elfIsDynamic(readFileSync(found)))
    throw new MqbError(
      `${found} is dynamically linked and the guest has no libraries: rebuild it with \`npm run build:native\``,
      ExitCode.failure,
    )
  return found
}

export function qemuVersion(qemu = QEMU): string {
  const r = run(qemu, ['--version'])
  return /version\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown'
}
