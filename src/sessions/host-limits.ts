// The host limits on a test's session count, checked before anything is opened so that a test
// too large for the host ends with one line naming the limit, not half-connected: open files
// (each session holds a socket on each side) and, on the client, the local ports towards one
// destination (each session's connection or UDP socket takes one from ip_local_port_range).
import {readdirSync} from 'node:fs'
import {badInput} from '../errors.js'
import {sessions as nativeSessions} from '../native.js'

/** File descriptors a test needs beyond its sessions' sockets: epoll and eventfds, listeners, files read meanwhile. */
export const RESERVED_FDS = 64

/** Descriptors this process has open now (a server may be running other tests). */
export function openFilesInUse(): number {
  return readdirSync('/proc/self/fd').length
}

/** Why the open-file limit cannot give `sessions` more sockets, or undefined when it can. */
export function openFilesShortfall(
  sessions: number,
  limits: {openFiles: number; openFilesHard: number},
  inUse: number,
): string | undefined {
  const need = sessions + RESERVED_FDS
  if (inUse + need <= limits.openFiles) return undefined
  return `${sessions} sessions need about ${need} more open files, but RLIMIT_NOFILE allows ${limits.openFiles} (hard limit ${limits.openFilesHard}) and ${inUse} are open; raise it (ulimit -Hn, LimitNOFILE=) or run fewer sessions`
}

/** Refuses a client test the host cannot hold: open files, then local ports towards the server. */
export function checkClientLimits(o: {sessions: number; netns?: string; where: string}): void {
  const limits = nativeSessions.hostLimits({netns: o.netns})
  const files = openFilesShortfall(o.sessions, limits, openFilesInUse())
  if (files) throw badInput(files)
  if (o.sessions > limits.ports)
    throw badInput(
      `${o.sessions} sessions need as many local ports towards ${o.where}, but net.ipv4.ip_local_port_range (${limits.portLow}-${limits.portHigh}${o.netns ? ` in ${o.netns}` : ''}) offers ${limits.ports}; run at most ${limits.ports} sessions per server address`,
    )
}
