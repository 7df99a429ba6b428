// Network namespaces and veth pairs: the primitives every testbed (and every integration test)
// is built from, and the namespace listing gen, sessions and scale consult. Each creation
// registers its undo with the caller's cleanup registry at once, so nothing outlives the run,
// whatever ends it.
import {existsSync, readdirSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {run, runOk} from '../util/exec.js'
import type {CleanupRegistry} from './cleanup.js'
import {requireCapabilities} from './privileges.js'

/** All objects mqbench creates carry this prefix, so stale ones can be found and removed. */
export const OBJECT_PREFIX = 'mqb-'

/** Linux limits interface names to 15 characters (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`)
}

/**
 * A namespace a command is told to work in (`--netns`): it must exist (exit 5 naming those that
 * do) and this process must be allowed to enter it (setns needs CAP_SYS_ADMIN: exit 4), checked
 * before any tool runs in it, so that a refusal does not pass for a missing interface.
 */
export function requireNetns(name: string): void {
  if (!netnsExists(name))
    throw new MqbError(
      `no network namespace ${name}; existing ones: ${listNetns().join(', ') || 'none'}`,
      ExitCode.noDevice,
    )
  requireCapabilities(['CAP_SYS_ADMIN'], `enter network namespace ${name}`)
}

export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns')
  } catch {
    return []
  }
}

export function linkExists(name: string, netns = ''): boolean {
  const args = netns ? ['-n', netns, 'link', 'show', 'dev', name] : ['link', 'show', 'dev', name]
  return run('ip', args).status === 0
}

function ipFailed(what: string, stderr: string): MqbError {
  if (/Operation not permitted|Permission denied/i.test(stderr))
    return new MqbError(`cannot ${what}: mqbench needs CAP_NET_ADMIN (run as root)`, ExitCode.privilege)
  if (/File exists/i.test(stderr)) return new MqbError(`cannot ${what}: it exists already`, ExitCode.busy)
  return new MqbError(`cannot ${what}: ${stderr.trim()}`, ExitCode.failure)
}

/** Creates a namespace with loopback up; it is deleted at cleanup. Returns the undo (run early to delete). */
export function createNetns(name: string, cleanup: CleanupRegistry): () => void {
  if (netnsExists(name))
    throw new MqbError(
      // Not `testbed down --all`: the namespace may be a testbed of that name another process is
      // creating right now (two `up NAME` at once), and --all would destroy it.
      `network namespace ${name} exists already (another testbed of that name, or one left behind); \`mqbench testbed list\` shows which, and a stale one goes with \`ip netns del ${name}\``,
      ExitCode.busy,
    )
  const r = run('ip', ['netns', 'add', name])
  if (r.status !== 0) throw ipFailed(`create network namespace ${name}`, r.stderr)
  const undo = cleanup.add(`network namespace ${name}`, () => deleteNetns(name))
  runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  return undo
}

export function deleteNetns(name: string): void {
  if (!netnsExists(name)) return
  const r = run('ip', ['netns', 'del', name])
  if (r.status !== 0 && netnsExists(name)) throw new Error(`ip netns del ${name}: ${r.stderr.trim()}`)
}

export interface VethEnd {
  name: string
  netns: string
  /** CIDR address, e.g. 198.18.0.1/30 */
  address?: string
}

/**
 * Creates a veth pair with `queues` TX and RX queues on each end, moves each end into its
 * namespace, addresses it and brings it up. Deleting either end deletes both; deleting a
 * namespace deletes the end inside it, so the undo covers both cases.
 */
export function createVethPair(
  a: VethEnd,
  b: VethEnd,
  queues: number,
  opts: {cleanup: CleanupRegistry; mtu?: number},
): () => void {
  for (const end of [a, b]) {
    if (end.name.length > IFNAME_MAX)
      throw new MqbError(
        `interface name ${end.name} is longer than ${IFNAME_MAX} characters`,
        ExitCode.badInput,
      )
  }
  const q = String(queues)
  const r = run('ip', [
    'link',
    'add',
    a.name,
    'numtxqueues',
    q,
    'numrxqueues',
    q,
    'type',
    'veth',
    'peer',
    'name',
    b.name,
    'numtxqueues',
    q,
    'numrxqueues',
    q,
  ])
  if (r.status !== 0) throw ipFailed(`create veth pair ${a.name}/${b.name}`, r.stderr)
  const undo = opts.cleanup.add(`veth pair ${a.name}/${b.name}`, () => {
    for (const end of [a, b]) {
      if (end.netns && !netnsExists(end.netns)) continue
      if (linkExists(end.name, end.netns))
        run('ip', [...(end.netns ? ['-n', end.netns] : []), 'link', 'del', end.name])
      if (linkExists(end.name)) run('ip', ['link', 'del', end.name])
    }
  })
  for (const end of [a, b]) {
    if (end.netns) runOk('ip', ['link', 'set', end.name, 'netns', end.netns])
    const ns = end.netns ? ['-n', end.netns] : []
    if (opts.mtu) runOk('ip', [...ns, 'link', 'set', end.name, 'mtu', String(opts.mtu)])
    if (end.address) runOk('ip', [...ns, 'addr', 'add', end.address, 'dev', end.name])
    runOk('ip', [...ns, 'link', 'set', end.name, 'up'])
  }
  return undo
}

/** The MAC address of an interface, read from sysfs through `ip -j`. */
export function linkInfo(name: string, netns = ''): {mac: string; mtu: number; up: boolean; ifindex: number} {
  const out = runOk('ip', [...(netns ? ['-n', netns] : []), '-j', 'link', 'show', 'dev', name])
  const [l] = JSON.parse(out) as Array<{address: string; mtu: number; flags: string[]; ifindex: number}>
  return {mac: l.address, mtu: l.mtu, up: l.flags.includes('UP'), ifindex: l.ifindex}
}
