// What a far end needs, checked on that host before anything there is changed (docs/hosts.md):
// the agent reads its own /proc files over the SSH channel and these pure functions turn them into
// one line naming every shortfall. The open-file arithmetic is the local one (sessions/host-limits.ts).
import {RESERVED_FDS} from '../sessions/host-limits.js'

export interface FarFacts {
  /** RLIMIT_NOFILE of the agent (the server raises its soft limit to the hard one at start) */
  openFiles: {soft: number; hard: number}
  /** the agent's effective capability mask */
  capEff: bigint
  /** net.ipv4.ip_local_port_range */
  portRange: {low: number; high: number}
  /** devices asked about that do not exist there */
  missingDevices: string[]
}

export interface FarNeeds {
  /** sessions a server there must hold (one socket each) */
  serverSessions?: number
  /** capabilities by bit number and name (CAP_NET_RAW is 13, CAP_NET_ADMIN 12) */
  capabilities?: Array<{bit: number; name: string}>
  /** network devices that must exist there */
  devices?: string[]
  /** local ports the far end opens towards one destination */
  localPorts?: number
}

export const CAP_NET_ADMIN = {bit: 12, name: 'CAP_NET_ADMIN'}
export const CAP_NET_RAW = {bit: 13, name: 'CAP_NET_RAW'}

/** "Max open files  1024  1048576  files" of /proc/PID/limits. */
export function parseOpenFiles(limits: string): {soft: number; hard: number} | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits)
  if (!m) return undefined
  const n = (s: string) => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s))
  return {soft: n(m[1]), hard: n(m[2])}
}

/** CapEff of /proc/PID/status. */
export function parseCapEff(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)/m.exec(status)
  return m ? BigInt(`0x${m[1]}`) : undefined
}

export function parsePortRange(text: string): {low: number; high: number} | undefined {
  const m = /^\s*(\d+)\s+(\d+)/.exec(text)
  return m ? {low: Number(m[1]), high: Number(m[2])} : undefined
}

/** Every need the far host does not meet, each as a short clause; empty when all are met. */
export function farShortfalls(f: FarFacts, n: FarNeeds): string[] {
  const out: string[] = []
  if (n.serverSessions !== undefined && n.serverSessions + RESERVED_FDS > f.openFiles.hard)
    out.push(
      `${n.serverSessions} sessions need about ${n.serverSessions + RESERVED_FDS} open files but RLIMIT_NOFILE's hard limit there is ${f.openFiles.hard} (raise it in sshd's limits or run fewer sessions)`,
    )
  for (const c of n.capabilities ?? [])
    if (((f.capEff >> BigInt(c.bit)) & 1n) === 0n)
      out.push(`the SSH user has no ${c.name} there (log in as root)`)
  for (const d of f.missingDevices) out.push(`no network device ${d} there`)
  const ports = f.portRange.high - f.portRange.low + 1
  if (n.localPorts !== undefined && n.localPorts > ports)
    out.push(
      `${n.localPorts} local ports are needed but net.ipv4.ip_local_port_range there (${f.portRange.low}-${f.portRange.high}) offers ${ports}`,
    )
  return out
}
