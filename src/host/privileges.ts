// Capabilities, checked before anything on the host changes: a run that lacks one says which, in
// one line with exit 4, instead of failing half-way through building a testbed and reporting
// whatever the first failing tool printed.
import {readFileSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'

/** The capabilities mqbench needs, with their bit numbers (linux/capability.h). */
export const CAPABILITY_BITS = {CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21} as const
export type Capability = keyof typeof CAPABILITY_BITS

/** The effective capability set of this process from /proc/self/status (`CapEff`, hex). */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(status)
  return m ? BigInt(`0x${m[1]}`) : 0n
}

/** The capabilities of `needed` that `effective` lacks, in the order given. */
export function missingCapabilities(needed: Capability[], effective: bigint): Capability[] {
  return needed.filter((c) => ((effective >> BigInt(CAPABILITY_BITS[c])) & 1n) === 0n)
}

/**
 * Throws exit 4 naming every capability of `needed` that this process lacks; `what` says what
 * needs them ("create a tap testbed"). CAP_SYS_ADMIN is what `ip netns add` and setns() ask for.
 */
export function requireCapabilities(
  needed: Capability[],
  what: string,
  effective: bigint = effectiveCapabilities(),
): void {
  const missing = missingCapabilities(needed, effective)
  if (missing.length === 0) return
  throw new MqbError(
    `cannot ${what}: mqbench needs ${missing.join(' and ')} (run as root, or grant ${missing.length > 1 ? 'them' : 'it'}: sudo setcap ${needed.map((c) => c.toLowerCase()).join(',')}+ep "$(readlink -f "$(which node)")")`,
    ExitCode.privilege,
  )
}
