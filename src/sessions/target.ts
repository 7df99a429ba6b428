// Where mqbench may aim load. A target is local when it is a loopback address or an address
// assigned to an interface on this machine, in the host namespace or in any network namespace
// here (testbeds live in namespaces); anything else needs --allow-remote, so that a typo cannot
// turn a benchmark into a flood towards someone else's machine. gen, scale and check reuse this.
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'
import {networkInterfaces} from 'node:os'
import {ExitCode, MqbError} from '../errors.js'
import {guestAddresses} from '../host/guests.js'
import {listNetns, requireNetns} from '../host/netns.js'
import {run} from '../util/exec.js'

export function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  return /^127\./.test(v4) || ip === '::1'
}

/** The local addresses in `ip -j addr show` output. */
export function parseIpAddrJson(text: string): string[] {
  try {
    const links = JSON.parse(text) as Array<{addr_info?: Array<{local?: string}>}>
    return links.flatMap((l) =>
      (l.addr_info ?? []).map((a) => a.local).filter((a): a is string => typeof a === 'string'),
    )
  } catch {
    return []
  }
}

const normalise = (ip: string) =>
  ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip.toLowerCase()

export function isLocalAddress(ip: string, localAddresses: Iterable<string>): boolean {
  if (isLoopback(ip)) return true
  const want = normalise(ip)
  for (const a of localAddresses) if (normalise(a) === want) return true
  return false
}

/**
 * Every address assigned on this machine: host interfaces, those of every namespace (netns
 * first), and those of the guests mqbench booted and still runs.
 */
export function localAddresses(netns?: string): string[] {
  const out = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
  out.push(...guestAddresses())
  const namespaces = [...new Set([...(netns ? [netns] : []), ...listNetns()])]
  for (const ns of namespaces) {
    const r = run('ip', ['-j', '-n', ns, 'addr', 'show'], {timeoutMs: 5000})
    if (r.status === 0) out.push(...parseIpAddrJson(r.stdout))
  }
  return out
}

/**
 * Resolves `host` to an IP address and refuses it unless it is local or allowRemote is set.
 * `what` names the flag the address came from, for the message.
 */
export async function resolveTarget(
  host: string,
  opts: {netns?: string; allowRemote?: boolean; what?: string} = {},
): Promise<string> {
  if (opts.netns) requireNetns(opts.netns)
  let ip = host
  if (!isIP(host)) {
    try {
      ip = (await lookup(host)).address
    } catch {
      throw new MqbError(
        `cannot resolve ${opts.what ?? 'host'} ${host}; give an IP address`,
        ExitCode.unreachable,
      )
    }
  }
  if (opts.allowRemote || isLocalAddress(ip, localAddresses(opts.netns))) return ip
  throw new MqbError(
    `${opts.what ?? 'target'} ${host}${ip !== host ? ` (${ip})` : ''} is not an address of this machine or of one of its network namespaces`,
    ExitCode.notLocal,
    ['mqbench only sends to this machine by default; add --allow-remote to send to another host you control'],
  )
}
