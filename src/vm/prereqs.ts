// What a guest needs on this host, each missing piece reported in one line that names what to
// install: qemu, a static busybox, the mqbench guest agent.
import {accessSync, constants, existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {agentBinary, elfIsDynamic} from '../prebuilds.js'
import {run} from '../util/exec.js'

export const QEMU = 'qemu-system-x86_64'
export {elfIsDynamic}

/** The first executable `cmd` in the directories of `searchPath` (PATH's syntax), as the shell finds it. */
export function which(cmd: string, searchPath = process.env.PATH ?? ''): string | undefined {
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

/** The guest agent (MQBENCH_AGENT overrides): a build from source, else the package's prebuild. */
export function findAgent(): string {
  const found = process.env.MQBENCH_AGENT ?? agentBinary()
  if (!existsSync(found)) throw new MqbError(`MQBENCH_AGENT=${found} does not exist`, ExitCode.badInput)
  if (elfIsDynamic(readFileSync(found)))
    throw new MqbError(`${found} is dynamically linked and the guest has no libraries`, ExitCode.noBinary)
  return found
}

export function qemuVersion(qemu = QEMU): string {
  const r = run(qemu, ['--version'])
  return /version\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown'
}
