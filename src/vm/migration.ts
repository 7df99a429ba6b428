// Live migration of a guest to a second qemu on the same host, and the payload that crosses it:
// QMP `migrate` to the destination's `-incoming unix:PATH`, `query-migrate` polled until the
// migration completed or failed (or a bound, after which it is cancelled), then Guest.adopt()
// moves QMP, the process and the agent channel to the destination.
//
// The payload is a checksummed bulk copy over TCP from the host into the guest (native/copy.cc:
// the addon sends, the agent's copy_recv_* receives, both fold every byte into FNV-1a in C++).
// Chosen over a `stream --bytes N` because it needs no change to the session control protocol,
// which has two implementations (TypeScript and the agent's C++) under change by others at the
// same time; a copy is one connection with a known length, which is what "a file-sized payload
// checksummed at both ends" asks, and its sender is paced so that it is still running when the
// guest moves.
import {setTimeout as sleep} from 'node:timers/promises'
import {copy, type CopyStatus} from '../native.js'
import type {ProcessRef} from '../host/process.js'
import type {AgentCopyReceived, AgentFacade} from './agent-ops.js'
import type {Guest, IncomingQemu} from './guest.js'
import type {QmpClient} from './qmp.js'

/** What query-migrate says, in mqbench's units (ms, bytes). */
export interface MigrationFigures {
  /** none, setup, active, device, completed, failed, cancelled, ... */
  status: string
  totalMs?: number
  downtimeMs?: number
  setupMs?: number
  expectedDowntimeMs?: number
  transferredBytes?: number
  ramTotalBytes?: number
  ramRemainingBytes?: number
  dirtySyncCount?: number
  /** qemu's reason for a failed migration */
  error?: string
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

/** query-migrate's answer (MigrationInfo) as figures; fields qemu left out stay undefined. */
export function parseQueryMigrate(r: unknown): MigrationFigures {
  const o = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>
  const ram = (typeof o.ram === 'object' && o.ram !== null ? o.ram : {}) as Record<string, unknown>
  const f: MigrationFigures = {status: typeof o.status === 'string' ? o.status : 'none'}
  const set = <K extends keyof MigrationFigures>(k: K, v: MigrationFigures[K] | undefined) => {
    if (v !== undefined) f[k] = v
  }
  set('totalMs', num(o['total-time']))
  set('downtimeMs', num(o.downtime))
  set('setupMs', num(o['setup-time']))
  set('expectedDowntimeMs', num(o['expected-downtime']))
  set('transferredBytes', num(ram.transferred))
  set('ramTotalBytes', num(ram.total))
  set('ramRemainingBytes', num(ram.remaining))
  set('dirtySyncCount', num(ram['dirty-sync-count']))
  set('error', typeof o['error-desc'] === 'string' ? o['error-desc'] : undefined)
  return f
}

/** States after which query-migrate's figures no longer change. */
export const MIGRATION_ENDED = new Set(['completed', 'failed', 'cancelled'])

/** One line of the figures for a person ("completed in 812 ms, downtime 35 ms, 110.2 MB moved"). */
export function describeMigration(f: MigrationFigures): string {
  const parts = [f.status]
  if (f.totalMs !== undefined) parts.push(`total ${f.totalMs} ms`)
  if (f.downtimeMs !== undefined) parts.push(`downtime ${f.downtimeMs} ms`)
  if (f.transferredBytes !== undefined) parts.push(`${(f.transferredBytes / 1e6).toFixed(1)} MB transferred`)
  if (f.ramRemainingBytes !== undefined && !MIGRATION_ENDED.has(f.status))
    parts.push(`${(f.ramRemainingBytes / 1e6).toFixed(1)} MB remaining`)
  if (f.dirtySyncCount !== undefined) parts.push(`${f.dirtySyncCount} dirty syncs`)
  if (f.error) parts.push(`error: ${f.error}`)
  return parts.join(', ')
}

export interface PolledMigration {
  figures: MigrationFigures
  /** the bound passed first (the migration was then cancelled) */
  timedOut: boolean
  polls: number
}

/**
 * Polls query-migrate every `intervalMs` until the migration ended or `boundMs` passed; at the
 * bound it is cancelled (migrate_cancel) and the last figures read are what it reports.
 */
export async function pollMigration(
  qmp: Pick<QmpClient, 'execute'>,
  o: {boundMs: number; intervalMs?: number; signal?: AbortSignal},
): Promise<PolledMigration> {
  const deadline = performance.now() + o.boundMs
  let polls = 0
  for (;;) {
    const figures = parseQueryMigrate(await qmp.execute('query-migrate'))
    polls++
    if (MIGRATION_ENDED.has(figures.status)) return {figures, timedOut: false, polls}
    if (performance.now() > deadline || o.signal?.aborted) {
      await qmp.execute('migrate_cancel').catch(() => {})
      return {figures, timedOut: true, polls}
    }
    await sleep(o.intervalMs ?? 50)
  }
}

export interface MigrationOutcome extends PolledMigration {
  /** the guest now runs in the destination (adopted) */
  moved: boolean
  /** the destination's status after the switch-over (query-status), when it moved */
  destStatus?: string
  /** why the destination exited, with its last stderr line, when it did */
  destExit?: string
  /** the source qemu, which is stopped once the guest moved */
  source: ProcessRef
  /** performance.now() when migrate was issued: the events' zero */
  startedAt: number
  /** what happened, ms after migrate was issued */
  events: Array<{atMs: number; label: string}>
}

/**
 * Migrates `guest` to `dest` (started by guest.startIncoming): migrate, poll, and on completion
 * wait until the destination runs, then adopt it (the source qemu stops, the agent channel moves).
 * On failure or at the bound the guest stays on the source, which resumes; the destination is
 * stopped.
 */
export async function migrateGuest(
  guest: Guest,
  dest: IncomingQemu,
  o: {boundMs: number; signal?: AbortSignal; maxBandwidthBytesPerSec?: number},
): Promise<MigrationOutcome> {
  const source = guest.ref
  if (o.maxBandwidthBytesPerSec !== undefined)
    await guest.qmp.execute('migrate-set-parameters', {'max-bandwidth': o.maxBandwidthBytesPerSec})
  const startedAt = performance.now()
  const events = [{atMs: 0, label: `migrate to ${dest.uri}`}]
  const mark = (label: string) => events.push({atMs: Math.round(performance.now() - startedAt), label})
  await guest.qmp.execute('migrate', {uri: dest.uri})
  const polled = await pollMigration(guest.qmp, o)
  mark(`query-migrate: ${polled.figures.status}${polled.timedOut ? ' at the bound (cancelled)' : ''}`)
  const base = {...polled, source, startedAt, events}
  if (polled.figures.status !== 'completed') {
    // Give a failing destination a moment to print its reason before it is stopped.
    for (let i = 0; i < 20 && !dest.exited(); i++) await sleep(50)
    const destExit = dest.exited() ? `${dest.exited()}: ${dest.error()}` : undefined
    dest.stop()
    mark('destination stopped; the guest stays on the source')
    return {...base, moved: false, ...(destExit ? {destExit} : {})}
  }
  // Completed on the source means everything was sent; the destination may still refuse what it
  // loaded (another device model) and exit, leaving the source paused (postmigrate).
  let destStatus = 'unknown'
  const until = performance.now() + 10_000
  while (performance.now() < until && !dest.exited()) {
    const st = await dest.qmp.execute<{status: string}>('query-status').catch(() => undefined)
    if (!st) break
    destStatus = st.status
    if (st.status === 'running') break
    await sleep(20)
  }
  if (destStatus !== 'running') {
    for (let i = 0; i < 20 && !dest.exited(); i++) await sleep(50)
    const destExit = dest.exited() ? `${dest.exited()}: ${dest.error()}` : undefined
    dest.stop()
    mark(`destination ${dest.exited() ? 'exited' : destStatus}, stopped; the guest stays on the source`)
    // The guest goes on where it was: the source continues from postmigrate.
    await guest.qmp.execute('cont')
    mark('source resumed (cont)')
    return {...base, moved: false, destStatus, ...(destExit ? {destExit} : {})}
  }
  mark('destination running')
  guest.adopt(dest)
  mark('source qemu stopped; agent channel on the destination')
  return {...base, moved: true, destStatus}
}

/** The receiver's figures (the agent's copy_recv_stats). */
/** The copy receiver's figures, as the agent reports them. */
export type CopyReceived = AgentCopyReceived

export interface CopyOutcome {
  bytes: number
  sent: CopyStatus
  received: CopyReceived
  /** the sender's error, when it failed */
  sendError?: string
  /** sent and received all bytes with the same checksum */
  intact: boolean
}

export interface GuestCopy {
  received(): Promise<CopyReceived>
  sent(): CopyStatus
  /** waits for both ends (the sender ends when the receiver has read everything) */
  finish(): Promise<CopyOutcome>
  /** stops both ends now (idempotent) */
  abort(): Promise<void>
}

/**
 * Starts a copy of `bytes` seeded bytes from the host (namespace `netns`) into the guest: the
 * agent's receiver on `guestAddress`, the addon's sender paced to `rateBytesPerSec`.
 */
export async function startGuestCopy(
  agent: AgentFacade,
  o: {
    guestAddress: string
    netns: string
    bytes: number
    seed: number
    rateBytesPerSec: number
    timeoutMs: number
  },
): Promise<GuestCopy> {
  const {port} = await agent.copyRecvStart({
    bind: o.guestAddress,
    port: 0,
    bytes: o.bytes,
    timeoutMs: o.timeoutMs,
  })
  let h: ReturnType<typeof copy.send>
  try {
    h = copy.send({
      host: o.guestAddress,
      port,
      bytes: o.bytes,
      seed: o.seed,
      rateBytesPerSec: o.rateBytesPerSec,
      timeoutMs: o.timeoutMs,
      netns: o.netns,
    })
  } catch (err) {
    await agent.copyRecvStop().catch(() => {})
    throw err
  }
  let stopped = false
  const stopReceiver = async () => {
    if (stopped) return undefined
    stopped = true
    return agent.copyRecvStop()
  }
  return {
    received: () => agent.copyRecvStats(),
    sent: () => h.status(),
    async finish() {
      let sendError: string | undefined
      const sent = await h.wait().catch((err: Error) => {
        sendError = err.message
        return h.status()
      })
      // The sender returns once the receiver closed; a failed sender leaves the receiver to its stop.
      const received = (await stopReceiver())!
      const intact =
        !sendError &&
        !received.failed &&
        sent.bytes === o.bytes &&
        received.bytes === o.bytes &&
        sent.checksum === received.checksum
      return {bytes: o.bytes, sent, received, intact, ...(sendError ? {sendError} : {})}
    },
    async abort() {
      h.stop()
      await h.wait().catch(() => {})
      await stopReceiver()?.catch(() => {})
    },
  }
}
