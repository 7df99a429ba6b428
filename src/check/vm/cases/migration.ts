// Fedora plan, "migration": a destination qemu with the source's device model on its own tap (two
// qemus on one multiqueue tap name would add queues to one device) on the same pinned-MAC bridge,
// started with -incoming; multiqueue enabled in the source; a checksummed bulk copy from the host
// into the guest and an agent request in flight while QMP migrate moves the guest; query-migrate's
// figures; then on the destination: the source qemu gone, its vCPUs pinned as the source's (when
// --vcpu-cpus pinned them), N queues still enabled (channels, sysfs, the destination tap) and every
// queue carrying traffic (TCP_RR, per-queue interrupts and counters rose).
import {randomBytes} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'
import {sameProcess} from '../../../host/process.js'
import {GUEST_DEV, queueMismatch, type VmBed} from '../../../testbed/vm.js'
import type {GuestConfig} from '../../../vm/qemu-args.js'
import {describePlacement, placementMismatch, vcpuCpu, type VcpuPlacement} from '../../../vm/vcpu-pinning.js'
import {
  describeMigration,
  migrateGuest,
  startGuestCopy,
  type CopyOutcome,
  type MigrationOutcome,
} from '../../../vm/migration.js'
import type {IncomingQemu} from '../../../vm/guest.js'
import {notApplicable, verdict as check} from '../judge.js'
import {loadFigure} from '../figures.js'
import {readGuestFacts} from '../guest-facts.js'
import {guestKernelProblems, healthCheck} from '../health.js'
import {perQueueChecks, rrLoad, sessionsCheck} from '../rr-load.js'
import type {CaseContext, CaseFigures, CaseOutcome, PlanCheck, VmCase} from '../types.js'

/** A local migration took 0.7-0.9 s here under TCG; one that has not ended by then is cancelled and FAILs. */
export const MIGRATION_BOUND_MS = 60_000
/**
 * The payload: 24 MiB paced to 6 MiB/s (about 4 s), so that it is still flowing when the guest
 * moves (migrate is issued once the guest has received its first MiB) and after it.
 */
const COPY_BYTES = 24 << 20
const COPY_RATE = 6 << 20
const COPY_STARTED_BYTES = 1 << 20
/**
 * The agent request in flight across the switch-over: sent before migrate, it waits in the guest
 * for a file that a second request creates once the guest has moved (at most 60 s), then appends
 * one line; so it is answered through the destination's channel, and the line count says how
 * often it ran.
 */
const ONCE_FILE = '/tmp/mqb-migration-once'
const GO_FILE = '/tmp/mqb-migration-go'
const ONCE_SCRIPT =
  `i=0; while [ ! -e ${GO_FILE} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; ` +
  `echo once >> ${ONCE_FILE}`

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`

export interface MigrationCaseOptions {
  /**
   * Device-model changes for the destination (none by default: identical). A mismatch is a
   * broken setup the case must FAIL: the tests use it to show that it does.
   */
  destination?: Partial<Pick<GuestConfig, 'queues' | 'vectors' | 'mq'>>
  /**
   * A migration throttled below what the guest dirties (max-bandwidth, bytes/s) never converges:
   * with a short bound the tests show that it FAILs there, cancelled, with query-migrate's figures.
   */
  maxBandwidthBytesPerSec?: number
  boundMs?: number
}

function copyCheck(c: CopyOutcome | undefined, atMigrate: number): PlanCheck {
  const title = `a ${mib(COPY_BYTES)} copy host->guest running across the migration arrived whole, same checksum at both ends`
  if (!c) return check('transfer', title, false, 'the copy did not end')
  const evidence =
    `sent ${c.sent.bytes} B (FNV-1a ${c.sent.checksum}), received ${c.received.bytes} B ` +
    `(FNV-1a ${c.received.checksum}); ${mib(atMigrate)} had arrived when migrate was issued` +
    (c.sendError ? `; sender: ${c.sendError}` : '') +
    (c.received.failed ? `; receiver: ${c.received.error}` : '')
  // In flight: the guest had part of it, not all, when it moved.
  return check('transfer', title, c.intact && atMigrate > 0 && atMigrate < c.bytes, evidence)
}

export const PINNED_TITLE = "on the destination: each vCPU thread pinned to the host CPU the source's was"

/**
 * The destination's vCPU placement (read from /proc under its pid) against the source's, read
 * before the migration, and both against the pinning the guest was booted with (`map`,
 * --vcpu-cpus), so that two unpinned qemus never pass as "the same"; N/A when it was not pinned.
 */
export function judgePinning(
  map: number[] | undefined,
  source: VcpuPlacement[] | undefined,
  dest: {pid: number; placement: VcpuPlacement[]} | undefined,
): PlanCheck {
  if (!map || !source || !dest)
    return notApplicable(
      'dest-pinned',
      PINNED_TITLE,
      "the guest's vCPUs are not pinned (--vcpu-cpus LIST pins them)",
    )
  const asBooted = source.every((v) => v.cpus.length === 1 && v.cpus[0] === vcpuCpu(map, v.vcpu))
  const mismatch = placementMismatch(source, dest.placement)
  return check(
    'dest-pinned',
    PINNED_TITLE,
    source.length > 0 && asBooted && mismatch === undefined,
    `source: ${describePlacement(source)}; destination pid ${dest.pid}: ${describePlacement(dest.placement)}` +
      (mismatch ? ` (${mismatch})` : '') +
      (asBooted ? '' : `; the source is not on its --vcpu-cpus ${map.join(',')}`),
  )
}

/** What moving the guest under a running copy saw (migrateUnderCopy). */
interface MigrationRun {
  mig: MigrationOutcome
  copied?: CopyOutcome
  /** bytes the guest had received when migrate was issued */
  atMigrate: number
  /** the request in flight: its answer, or why none came, and when (ms from the copy's start) */
  once: {answer?: {status: number}; error?: string; afterMove: boolean; atMs?: number}
  copyDoneMs?: number
  /** performance.now() at the copy's start: the timeline's zero */
  copyT0: number
  connsBefore: number
}

/** Phase 1: N queue pairs set in the source and read back. */
async function sourceQueues(ctx: CaseContext, bed: VmBed, n: number): Promise<PlanCheck> {
  ctx.phase(`ethtool -L ${GUEST_DEV} combined ${n} in the source`)
  const rb = await bed.setQueueCount(n)
  return check(
    'source-queues',
    `multiqueue enabled in the source: ${n} queue pairs`,
    true,
    `combined ${rb.channels?.combined}, sysfs rx ${rb.sysfsQueues?.rx} / tx ${rb.sysfsQueues?.tx}, ` +
      `tap ${bed.tap} ${rb.tapQueues?.attached} attached`,
  )
}

/** Phase 2: the destination qemu on its own tap of the bridge, waiting with -incoming. */
async function startDestination(
  ctx: CaseContext,
  bed: VmBed,
  n: number,
  o: MigrationCaseOptions,
): Promise<IncomingQemu> {
  const destTap = bed.addTap('m', n, ctx.cleanup)
  ctx.phase(`destination qemu on tap ${destTap}, -incoming`)
  return bed.guest.startIncoming({
    tap: destTap,
    dir: `${bed.guest.dir.replace(/\.vm$/, '')}-mig.vm`,
    undo: ctx.cleanup,
    config: o.destination,
  })
}

/**
 * Phase 3: a checksummed copy host->guest and an agent request in flight while QMP migrate moves
 * the guest; migrate is issued once the guest has its first MiB, the request is released after
 * the move, and the copy is awaited to its end.
 */
async function migrateUnderCopy(
  ctx: CaseContext,
  bed: VmBed,
  inc: IncomingQemu,
  o: MigrationCaseOptions,
): Promise<MigrationRun> {
  const {guest, agent} = bed
  ctx.phase(`copy of ${mib(COPY_BYTES)} host->guest at ${mib(COPY_RATE)}/s`)
  const copyT0 = performance.now()
  const sinceCopy = () => Math.round(performance.now() - copyT0)
  const copy = await startGuestCopy(agent, {
    guestAddress: bed.ipGuest,
    netns: bed.ns,
    bytes: COPY_BYTES,
    seed: randomBytes(4).readUInt32BE(),
    rateBytesPerSec: COPY_RATE,
    timeoutMs: 120_000,
  })
  const run: Omit<MigrationRun, 'mig'> = {
    atMigrate: 0,
    once: {afterMove: false},
    copyT0,
    connsBefore: agent.connections,
  }
  try {
    const t0 = performance.now()
    while ((run.atMigrate = (await copy.received()).bytes) < COPY_STARTED_BYTES) {
      if (performance.now() - t0 > 20_000)
        throw new Error(`the copy did not start: ${run.atMigrate} B in 20 s`)
      if (ctx.signal.aborted) throw new Error('aborted')
      await sleep(20)
    }
    await agent.exec(['rm', '-f', ONCE_FILE, GO_FILE])
    const once = agent.exec(['sh', '-c', ONCE_SCRIPT], 70_000, {timeoutMs: 80_000, retries: 0}).then(
      (r) => (run.once = {answer: r, atMs: sinceCopy(), afterMove: guest.migrations > 0}),
      (err: Error) => (run.once.error = err.message),
    )
    ctx.phase(`QMP migrate to ${inc.uri}`)
    const mig = await migrateGuest(guest, inc, {
      boundMs: o.boundMs ?? MIGRATION_BOUND_MS,
      signal: ctx.signal,
      maxBandwidthBytesPerSec: o.maxBandwidthBytesPerSec,
    })
    await agent.writeFile(GO_FILE, 'go')
    await once
    ctx.phase('waiting for the copy to end')
    run.copied = await copy.finish()
    run.copyDoneMs = sinceCopy()
    return {...run, mig}
  } catch (err) {
    await copy.abort()
    throw err
  }
}

/** The migration's timeline (from the copy's start) and query-migrate's figures. */
function migrationFigures(r: MigrationRun, agentConnections: number): CaseFigures {
  const {mig, copied} = r
  const f = mig.figures
  const shift = Math.round(mig.startedAt - r.copyT0)
  const events = [
    {atMs: 0, label: `copy of ${mib(COPY_BYTES)} host->guest started`},
    ...mig.events.map((e) => ({atMs: e.atMs + shift, label: e.label})),
    ...(r.once.atMs !== undefined ? [{atMs: r.once.atMs, label: 'agent request in flight answered'}] : []),
    ...(r.copyDoneMs !== undefined ? [{atMs: r.copyDoneMs, label: 'copy ended'}] : []),
  ].sort((a, b) => a.atMs - b.atMs)
  return {
    timeline: {
      label: 'live migration with a copy running',
      events,
      ...(f.totalMs !== undefined ? {totalMs: f.totalMs} : {}),
      ...(f.downtimeMs !== undefined ? {downtimeMs: f.downtimeMs} : {}),
      ...(f.transferredBytes !== undefined ? {transferredBytes: f.transferredBytes} : {}),
    },
    numbers: {
      migrationStatus: f.status,
      ...(f.setupMs !== undefined ? {setupMs: f.setupMs} : {}),
      ...(f.dirtySyncCount !== undefined ? {dirtySyncCount: f.dirtySyncCount} : {}),
      ...(f.ramTotalBytes !== undefined ? {ramTotalBytes: f.ramTotalBytes} : {}),
      queryMigratePolls: mig.polls,
      copyBytes: COPY_BYTES,
      copyRateBytesPerSec: COPY_RATE,
      copyBytesAtMigrate: r.atMigrate,
      ...(copied
        ? {copyChecksumSent: copied.sent.checksum, copyChecksumReceived: copied.received.checksum}
        : {}),
      agentConnections,
    },
  }
}

/** The migration itself: completed within the bound, and the copy whole. */
function migrationChecks(r: MigrationRun, boundMs: number): PlanCheck[] {
  const {mig} = r
  return [
    check(
      'migrate-completed',
      `QMP migrate completed within ${boundMs / 1000} s and the destination runs`,
      mig.moved,
      `${describeMigration(mig.figures)}${mig.timedOut ? ` (cancelled at the bound after ${mig.polls} polls)` : ''}` +
        `${mig.destStatus && mig.destStatus !== 'unknown' ? `; destination ${mig.destStatus}` : ''}${mig.destExit ? `; destination ${mig.destExit}` : ''}`,
    ),
    copyCheck(r.copied, r.atMigrate),
  ]
}

const destinationTitles = (n: number) => ({
  gone: 'the source qemu is gone; the guest runs in the destination',
  once: 'an agent request in flight across the switch-over was answered once and ran once',
  pinned: PINNED_TITLE,
  queues: `on the destination: ${n} queue pairs still enabled (guest channels, sysfs, destination tap)`,
})

/**
 * Phase 4, on the destination: the source gone, the request in flight answered once, the vCPUs
 * pinned as the source's (placements go into `figures`), the queue count's three witnesses.
 */
async function destinationChecks(
  ctx: CaseContext,
  bed: VmBed,
  inc: IncomingQemu,
  r: MigrationRun,
  sourcePlacement: VcpuPlacement[] | undefined,
  figures: CaseFigures,
): Promise<PlanCheck[]> {
  const {guest, agent} = bed
  const n = ctx.params.queues
  const titles = destinationTitles(n)
  const sourceAlive = sameProcess(r.mig.source)
  const lines = await agent
    .readFile(ONCE_FILE)
    .then((f) => f.data.split('\n').filter(Boolean).length)
    .catch(() => 0)
  const {answer, error, afterMove} = r.once
  const checks = [
    check(
      'dest-gone',
      titles.gone,
      !sourceAlive && guest.ref.pid === inc.ref.pid,
      `source qemu pid ${r.mig.source.pid} ${sourceAlive ? 'still runs' : 'gone'}; the guest's qemu is pid ${guest.ref.pid}` +
        ` (destination ${inc.ref.pid}), tap ${bed.tap}`,
    ),
    check(
      'dest-once',
      titles.once,
      answer?.status === 0 && afterMove && lines === 1,
      `${answer ? `answered (status ${answer.status}) ${afterMove ? 'after' : 'before'} the move` : `no answer (${error})`}, ` +
        `${lines} line(s) in ${ONCE_FILE}; agent connections ${r.connsBefore} -> ${agent.connections}`,
    ),
  ]
  const destPlacement = sourcePlacement && {pid: guest.ref.pid, placement: await guest.vcpuPlacement()}
  checks.push(judgePinning(bed.setup.vcpuCpus, sourcePlacement, destPlacement))
  if (sourcePlacement && destPlacement) {
    figures.numbers!.vcpuPlacementSource = describePlacement(sourcePlacement)
    figures.numbers!.vcpuPlacementDestination = describePlacement(destPlacement.placement)
  }
  ctx.phase('reading the destination')
  const facts = await readGuestFacts(bed)
  const sysfs = {rx: facts.snapshot.queueCounts.rx, tx: facts.snapshot.queueCounts.tx}
  const mismatch = queueMismatch(n, bed.maxQueues, {
    combined: facts.channels.combined,
    sysfs,
    tap: facts.tap,
  })
  checks.push(
    check(
      'dest-queues',
      titles.queues,
      mismatch === undefined,
      mismatch ??
        `combined ${facts.channels.combined}, sysfs rx ${sysfs.rx} / tx ${sysfs.tx}, ` +
          `tap ${bed.tap} ${facts.tap.numqueues} attached, ${facts.tap.numdisabled} detached`,
    ),
  )
  return checks
}

/** Phase 5: every queue of the destination carries TCP_RR (per-queue interrupts and counters rose). */
async function destinationLoad(
  ctx: CaseContext,
  bed: VmBed,
): Promise<{checks: PlanCheck[]; load: NonNullable<CaseFigures['loads']>[number]}> {
  const n = ctx.params.queues
  const {sessions, durationMs} = ctx.params
  ctx.phase(`${sessions} TCP_RR sessions on the destination`)
  const load = await rrLoad(bed, GUEST_DEV, {sessions, durationMs, signal: ctx.signal})
  const checks = [
    sessionsCheck(load.rr, sessions),
    ...perQueueChecks(GUEST_DEV, n, bed.setup.vcpus, load).map((c) => ({
      ...c,
      title: `on the destination: ${c.title}`,
    })),
  ]
  const figure = loadFigure(
    {
      label: `${sessions} TCP_RR sessions at ${n} queues on the destination`,
      workloads: ['tcp_rr'],
      sessions,
      queues: n,
      durationMs,
      transactionsPerSecond: load.rr.transactionsPerSecond,
    },
    load,
  )
  return {checks, load: figure}
}

export function makeMigrationCase(o: MigrationCaseOptions = {}): VmCase {
  return {
    id: 'migration',
    title: 'live migration with multiqueue enabled and a transfer running',
    source: 'fedora',
    set: 'default',
    boundMs: (p) => 150_000 + MIGRATION_BOUND_MS + p.durationMs,
    async run(ctx: CaseContext): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const bed: VmBed = await ctx.boot()
      const checks: PlanCheck[] = [await sourceQueues(ctx, bed, n)]
      // Where the source's vCPUs run (pinned at boot with --vcpu-cpus): the destination's must match.
      const sourcePlacement = bed.setup.vcpuCpus ? await bed.guest.vcpuPlacement() : undefined
      const inc = await startDestination(ctx, bed, n, o)
      const run = await migrateUnderCopy(ctx, bed, inc, o)
      checks.push(...migrationChecks(run, o.boundMs ?? MIGRATION_BOUND_MS))
      const figures = migrationFigures(run, bed.agent.connections)
      if (!run.mig.moved) {
        const why = `the migration did not complete (${run.mig.figures.status})`
        for (const [id, t] of Object.entries(destinationTitles(n)))
          checks.push(notApplicable(`dest-${id}`, t, `not reached: ${why}`))
        const health = await guestKernelProblems(bed)
        checks.push(healthCheck(health))
        return {checks, figures: {...figures, kernelLog: health.problems}}
      }
      checks.push(...(await destinationChecks(ctx, bed, inc, run, sourcePlacement, figures)))
      const dest = await destinationLoad(ctx, bed)
      checks.push(...dest.checks)
      const health = await guestKernelProblems(bed)
      checks.push(healthCheck(health))
      return {checks, figures: {...figures, loads: [dest.load], kernelLog: health.problems}}
    },
  }
}

export const migrationCase = makeMigrationCase()
