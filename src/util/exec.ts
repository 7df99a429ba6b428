// Running the system's own tools (ip, ethtool, tc). Synchronous on purpose: these are control
// operations of a few milliseconds, and cleanup must also work from an exit handler where no
// promise would ever settle.
import {execFileSync, spawnSync} from 'node:child_process'
import {ExitCode, MqbError} from '../errors.js'

export interface ExecResult {
  status: number
  stdout: string
  stderr: string
}

/** Runs a command and returns its status and output; never throws for a non-zero status. */
export function run(
  cmd: string,
  args: string[],
  opts: {input?: string; timeoutMs?: number} = {},
): ExecResult {
  const r = spawnSync(cmd, args, {encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 15_000})
  if (r.error) return {status: 127, stdout: '', stderr: `${cmd}: ${r.error.message}`}
  return {status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
}

export class CommandFailed extends Error {
  constructor(
    readonly cmd: string,
    readonly args: string[],
    readonly status: number,
    readonly stderr: string,
  ) {
    super(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || `exit ${status}`}`)
  }
}

/**
 * Runs a command and returns stdout; throws CommandFailed (with stderr) on a non-zero status, or
 * exit 4 when the kernel refused the change for want of privilege (EPERM/EACCES from ip, ethtool,
 * tc, sysctl all read "Operation not permitted" or "Permission denied").
 */
export function runOk(cmd: string, args: string[], opts: {input?: string; timeoutMs?: number} = {}): string {
  const r = run(cmd, args, opts)
  if (r.status !== 0 && deniedByKernel(r.stderr))
    throw new MqbError(
      `${cmd} ${args.join(' ')}: ${r.stderr.trim()}: mqbench needs CAP_NET_ADMIN for this (run as root)`,
      ExitCode.privilege,
    )
  if (r.status !== 0) throw new CommandFailed(cmd, args, r.status, r.stderr)
  return r.stdout
}

/** Like runOk, inside a network namespace (`ip netns exec`); netns '' runs in the current one. */
export function runInNetns(netns: string, cmd: string, args: string[]): string {
  return netns ? runOk('ip', ['netns', 'exec', netns, cmd, ...args]) : runOk(cmd, args)
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/** True when a system tool's stderr says the kernel refused for want of privilege. */
export const deniedByKernel = (stderr: string) => /Operation not permitted|Permission denied/i.test(stderr)
