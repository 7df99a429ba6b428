// KVM or TCG. /dev/kvm existing is not enough: on this host it is a PVM backend that a stock
// guest kernel hangs on before printing a line. So KVM is tried once per host kernel and guest
// kernel, with a short bound, and the answer cached; without it the guest runs under TCG, which
// makes the figures functional only (the results file says so).
import {spawn} from 'node:child_process'
import {accessSync, constants, existsSync, readFileSync, rmSync, statSync} from 'node:fs'
import {release} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError} from '../errors.js'
import {ensureDir, writeFileAtomic} from '../host/files.js'
import {defaultCacheDir} from './initramfs.js'
import type {GuestKernel} from './kernel.js'
import {QEMU} from './prereqs.js'
import type {Accel} from './qemu-args.js'

export type AccelChoice = 'auto' | Accel

export interface AccelDecision {
  accel: Accel
  /** why: "kvm probe booted", "no /dev/kvm", "kvm probe: no kernel output within 4 s", "--accel tcg" */
  reason: string
}

const PROBE_MS = 4000

/** Boots the kernel alone under KVM and watches for its first line ("Linux version"). */
async function probeKvm(kernel: GuestKernel, scratch: string): Promise<{ok: boolean; why: string}> {
  const log = join(scratch, 'kvm-probe.log')
  rmSync(log, {force: true})
  const args = [
    '-nodefaults',
    '-display',
    'none',
    '-machine',
    'pc',
    '-accel',
    'kvm',
    '-m',
    '128M',
    '-no-reboot',
  ]
  args.push(
    '-kernel',
    kernel.path,
    '-append',
    'console=ttyS0 earlyprintk=ttyS0 panic=-1',
    '-serial',
    `file:${log}`,
  )
  const child = spawn(QEMU, args, {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  let exited = false
  child.on('exit', () => (exited = true))
  const deadline = Date.now() + PROBE_MS
  try {
    while (Date.now() < deadline && !exited) {
      if (existsSync(log) && readFileSync(log, 'latin1').includes('Linux version'))
        return {ok: true, why: 'kvm probe booted'}
      await sleep(50)
    }
    const err = stderr.split('\n').find((l) => /error|fail/i.test(l))
    return {
      ok: false,
      why: err ? `kvm probe: ${err.trim()}` : `kvm probe: no kernel output within ${PROBE_MS / 1000} s`,
    }
  } finally {
    if (!exited) child.kill('SIGKILL')
    rmSync(log, {force: true})
  }
}

export async function chooseAccel(
  choice: AccelChoice,
  kernel: GuestKernel,
  scratch: string,
): Promise<AccelDecision> {
  if (choice === 'tcg') return {accel: 'tcg', reason: '--accel tcg'}
  let kvmOpen = false
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK)
    kvmOpen = true
  } catch {}
  if (!kvmOpen) {
    if (choice === 'kvm')
      throw new MqbError('--accel kvm: /dev/kvm is absent or not accessible', ExitCode.unsupported)
    return {accel: 'tcg', reason: 'no usable /dev/kvm'}
  }
  const st = statSync(kernel.path)
  const key = `${release()}|${kernel.path}|${st.size}|${st.mtimeMs}`
  const cacheFile = join(defaultCacheDir(), 'kvm-probe.json')
  let cache: Record<string, {ok: boolean; why: string}> = {}
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as typeof cache
  } catch {}
  let probe = cache[key]
  if (!probe) {
    probe = await probeKvm(kernel, scratch)
    // Atomic: a full disk leaves the earlier cache whole, and says so in one line (exit 3).
    ensureDir(defaultCacheDir())
    writeFileAtomic(cacheFile, JSON.stringify({...cache, [key]: probe}, null, 2))
  }
  if (probe.ok) return {accel: 'kvm', reason: probe.why}
  if (choice === 'kvm')
    throw new MqbError(
      `--accel kvm: this guest kernel does not run under KVM here (${probe.why})`,
      ExitCode.unsupported,
    )
  return {accel: 'tcg', reason: probe.why}
}
