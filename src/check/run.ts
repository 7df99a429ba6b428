// `mqbench check` as one library call: collect the plan's evidence on a live interface (set N
// channels, read them back, run RR load at N queues and at 1 with snapshots around each, put the
// original channel count back) and evaluate the checks. The original channels are registered
// with the caller's cleanup registry the moment they change, so Ctrl-C, an error or a crash
// restores them.
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'
import {ExitCode, MqbError} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import type {Channels} from '../native.js'
import {readDeviceConfigWith} from '../observe/config.js'
import {observeIO} from '../observe/io.js'
import {observeDelta, takeSnapshotWith} from '../observe/snapshot.js'
import {sysfsQueueCounts} from '../observe/sysfs.js'
import {onlineCpus} from '../host/cpus.js'
import {PartialRunError, probeServer, runRr, DEFAULT_PORT} from '../sessions/index.js'
import {run} from '../util/exec.js'
import {isSshUrl, sessionFarEnd} from '../hosts/far-end.js'
import {farCheck} from '../prereqs.js'
import {
  channelMode,
  describeChannels,
  evaluateChecks,
  type CheckEvidence,
  type CheckResult,
  type LoadRun,
} from './checks.js'

const DEFAULT_SESSIONS = 20

export interface CheckOptions {
  dev: string
  /** a running server's address, or ssh://[user@]host[:port] to start one there */
  server: string
  port?: number
  netns?: string
  token?: string
  allowRemote?: boolean
  /** N: the queue count under test (default 2, as the Fedora plan) */
  queues?: number
  sessions?: number
  durationMs?: number
}

export interface CheckReport {
  dev: string
  netns: string
  queues: number
  sessions: number
  durationMs: number
  checks: CheckResult[]
  failed: number
  transactionsPerSecond: {atN?: number; atOne?: number}
}

export interface CheckHooks {
  /** where the channel change is registered with its undo */
  cleanup: CleanupRegistry
  signal?: AbortSignal
  /** one line per phase, for a person watching */
  onPhase?: (line: string) => void
}

function setFor(ch: Channels, n: number): {combined?: number; rx?: number; tx?: number} {
  return channelMode(ch) === 'combined' ? {combined: n} : {rx: n, tx: n}
}

function restoreFor(ch: Channels): {combined?: number; rx?: number; tx?: number} {
  return channelMode(ch) === 'combined' ? {combined: ch.combined} : {rx: ch.rx, tx: ch.tx}
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** The interface the kernel routes `host` through, from `ip -j route get` in the namespace. */
export async function routeDevice(host: string, netns?: string): Promise<{ip: string; dev?: string}> {
  let ip = host
  if (!isIP(host)) {
    try {
      ip = (await lookup(host)).address
    } catch {
      throw new MqbError(`cannot resolve --server ${host}; give an IP address`, ExitCode.unreachable)
    }
  }
  const r = run('ip', [...(netns ? ['-n', netns] : []), '-j', 'route', 'get', ip])
  if (r.status !== 0)
    throw new MqbError(
      `no route to --server ${ip}${netns ? ` in ${netns}` : ''}: ${r.stderr.trim()}`,
      ExitCode.unreachable,
    )
  try {
    return {ip, dev: (JSON.parse(r.stdout) as Array<{dev?: string}>)[0]?.dev}
  } catch {
    return {ip}
  }
}

/** One TCP_RR load of `sessions` for `durationMs` at `queueCount` queues, with snapshots around it. */
async function loadRun(
  io: ReturnType<typeof observeIO>,
  opts: CheckOptions,
  hooks: CheckHooks,
  queueCount: number,
): Promise<LoadRun> {
  const {dev} = opts
  const sessions = opts.sessions ?? 20
  const durationMs = opts.durationMs ?? 5000
  hooks.onPhase?.(`running ${sessions} TCP_RR sessions for ${durationMs / 1000} s at ${queueCount} queue(s)`)
  const before = takeSnapshotWith(io, dev)
  const rr = await runRr(
    {
      server: opts.server,
      port: opts.port ?? DEFAULT_PORT,
      netns: opts.netns,
      token: opts.token,
      allowRemote: opts.allowRemote,
      type: 'tcp_rr',
      sessions,
      requestSize: 1,
      responseSize: 1,
      durationMs,
    },
    {signal: hooks.signal},
  )
  const after = takeSnapshotWith(io, dev)
  return {
    queueCount,
    transactionsPerSecond: rr.transactionsPerSecond,
    before,
    after,
    interrupts: observeDelta(before, after).interrupts,
  }
}

/**
 * The plan's middle, evidence into `e`: N channels set and read back (sysfs too), the load at N,
 * then 1 channel and the load at 1.
 */
async function loadsAtNAndOne(
  e: CheckEvidence,
  io: ReturnType<typeof observeIO>,
  queues: number,
  hooks: CheckHooks,
  how: {
    load: (queueCount: number) => Promise<LoadRun>
    partial: (err: unknown) => Promise<string>
    /** called before the channels first change */
    changing: () => void
  },
): Promise<void> {
  const {dev, original} = e
  const {load, partial} = how
  const phase = hooks.onPhase ?? (() => {})
  if (original) {
    const max =
      channelMode(original) === 'combined' ? original.maxCombined : Math.min(original.maxRx, original.maxTx)
    if (max >= queues) {
      phase(`setting ${queues} channels on ${dev} (was ${describeChannels(original)})`)
      how.changing()
      try {
        io.setChannels(dev, setFor(original, queues))
      } catch (err) {
        e.setError = message(err)
      }
      e.afterSet = io.channels(dev)
    }
  }
  const counts = sysfsQueueCounts(io.deviceFiles(dev))
  if (e.afterSet) e.sysfsAfterSet = counts
  if (counts.rx === queues && counts.tx === queues) {
    e.config = readDeviceConfigWith(io, dev)
    try {
      e.loadN = await load(queues)
    } catch (err) {
      e.loadNError = await partial(err)
    }
  } else {
    e.loadNError = `${dev} has ${counts.rx} rx and ${counts.tx} tx queues, not ${queues}: the load at ${queues} queues did not run`
  }
  if (original && e.afterSet && !e.setError && !hooks.signal?.aborted) {
    try {
      io.setChannels(dev, setFor(original, 1))
    } catch (err) {
      e.load1Error = `setting 1 channel failed: ${message(err)}`
    }
    if (!e.load1Error) {
      try {
        e.load1 = await load(1)
      } catch (err) {
        e.load1Error = await partial(err)
      }
    }
  }
}

/**
 * The plan on `opts.dev` against its server: one named by address as it is, or `ssh://HOST`, where
 * the agent serves for the run (docs/hosts.md): checked for the sessions, started with a token of
 * its own, stopped afterwards; a host lost meanwhile ends the check with its own line.
 */
export async function runCheck(opts: CheckOptions, hooks: CheckHooks): Promise<CheckReport> {
  if (!isSshUrl(opts.server)) return checkLive(opts, hooks)
  observeIO({netns: opts.netns}).deviceFiles(opts.dev) // a wrong interface stops before any ssh
  hooks.onPhase?.(`starting the server on ${opts.server}`)
  const far = await sessionFarEnd(
    {server: opts.server, port: opts.port ?? DEFAULT_PORT, token: opts.token},
    {sessions: opts.sessions ?? DEFAULT_SESSIONS, cleanup: hooks.cleanup, check: farCheck('far:server')},
  )
  try {
    return await checkLive({...opts, ...far.target, allowRemote: true}, hooks, far.explain)
  } catch (err) {
    throw await far.explain(err)
  } finally {
    await far.close()
  }
}

async function checkLive(
  opts: CheckOptions,
  hooks: CheckHooks,
  /** a far end's account of a failed load (its host lost: when and why) */
  explain: (err: unknown) => Promise<unknown> = async (err) => err,
): Promise<CheckReport> {
  const io = observeIO({netns: opts.netns})
  const dev = opts.dev
  const queues = opts.queues ?? 2
  const sessions = opts.sessions ?? DEFAULT_SESSIONS
  const durationMs = opts.durationMs ?? 5000
  const phase = hooks.onPhase ?? (() => {})
  io.deviceFiles(dev) // an unknown interface or namespace stops here, before anything changes
  // A load that does not cross the interface would make every per-queue check meaningless.
  const route = await routeDevice(opts.server, opts.netns)
  if (route.dev && route.dev !== dev)
    throw new MqbError(
      `--server ${opts.server} is reached through ${route.dev}, not ${dev}: the load would not cross ${dev}`,
      ExitCode.badInput,
      [`pick a server whose route goes through ${dev} (\`ip route get ${route.ip}\`)`],
    )
  // The server must answer before the channel count changes: without it the run would change
  // the device, load nothing and put it back, and only then say that no server was there.
  phase(`reaching the server at ${opts.server}`)
  await probeServer({
    server: opts.server,
    port: opts.port ?? DEFAULT_PORT,
    netns: opts.netns,
    token: opts.token,
    allowRemote: opts.allowRemote,
    workload: 'tcp_rr',
  })
  const e: CheckEvidence = {dev, queues, onlineCpus: onlineCpus()}
  try {
    e.original = io.channels(dev)
  } catch (err) {
    e.originalError = message(err)
  }
  if (!e.original && !e.originalError)
    e.originalError = 'Operation not supported (the driver has no channels)'

  let restoreNeeded = false
  const original = e.original
  const putBack = () => {
    if (!restoreNeeded || !original) return
    io.setChannels(dev, restoreFor(original))
    restoreNeeded = false
  }
  const unregister = hooks.cleanup.add(`channels of ${dev}${opts.netns ? ` in ${opts.netns}` : ''}`, putBack)

  const load = (queueCount: number) => loadRun(io, opts, hooks, queueCount)
  // A load cut short is the check's evidence; anything else (a far host gone) ends the check.
  const partial = async (err: unknown): Promise<string> => {
    const told = await explain(err)
    if (told instanceof PartialRunError && told === err) return told.message
    throw told
  }

  try {
    // Marked before the first change: an error or Ctrl-C from then on puts the channels back.
    await loadsAtNAndOne(e, io, queues, hooks, {load, partial, changing: () => (restoreNeeded = true)})
  } finally {
    if (restoreNeeded) {
      phase(`restoring ${describeChannels(original!)}`)
      try {
        putBack()
        e.restored = io.channels(dev)
      } catch (err) {
        e.restoreError = message(err)
      }
    } else if (original) {
      e.restored = io.channels(dev)
    }
    unregister()
  }
  if (hooks.signal?.aborted)
    throw new MqbError('check interrupted; the original channel count was restored', ExitCode.interrupted)
  const checks = evaluateChecks(e)
  return {
    dev,
    netns: opts.netns ?? '',
    queues,
    sessions,
    durationMs,
    checks,
    failed: checks.filter((c) => c.status === 'FAIL').length,
    transactionsPerSecond: {atN: e.loadN?.transactionsPerSecond, atOne: e.load1?.transactionsPerSecond},
  }
}
