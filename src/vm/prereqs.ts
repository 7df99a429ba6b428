// What a guest needs on this host, each missing piece reported in one line that names what to
// install: qemu, a static busybox, the mqbench guest agent.
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {ExitCode, MqbError} from '../errors.js'
import {run} from '../util/exec.js'

export const QEMU = 'qemu-system-x86_64'

// src/vm/ and dist/vm/ both sit two levels below the package root.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

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

function which(cmd: string): string | undefined {
  const r = run('sh', ['-c', `command -v ${cmd}`])
  return r.status === 0 ? r.stdout.trim() : undefined
}

export function findQemu(): string {
  const q = which(QEMU)
  if (!q) throw new MqbError(`${QEMU} not found: apt-get install qemu-system-x86`, ExitCode.unsupported)
  return q
}

/** The busybox to copy into the guest: it must be static (Debian's busybox-static package). */
export function findBusybox(): string {
  const candidates = [
    process.env.MQBENCH_BUSYBOX,
    which('busybox'),
    '/bin/busybox',
    '/usr/bin/busybox',
  ].filter((p): p is string => !!p && existsSync(p))
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

/** The guest agent, built by `npm install` next to the addon (a static executable). */
export function findAgent(): string {
  const candidates = [
    process.env.MQBENCH_AGENT,
    join(packageRoot, 'build/Release/mqbench-agent'),
    join(packageRoot, 'build/Debug/mqbench-agent'),
  ].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p))
  if (!found)
    throw new MqbError(
      `the mqbench guest agent is not built (looked for ${candidates.join(', ')}); run \`npm run build:native\` in ${packageRoot}`,
      ExitCode.failure,
    )
  if (elfIsDynamic(readFileSync(found)))
    throw new MqbError(
      `${found} is dynamically linked; the guest has no libraries: rebuild it static with \`npm run build:native\``,
      ExitCode.failure,
    )
  return found
}

export function qemuVersion(qemu = QEMU): string {
  const r = run(qemu, ['--version'])
  return /version\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown'
}
