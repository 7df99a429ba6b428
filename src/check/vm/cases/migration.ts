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
import {notApplicable, verdict as check} from '../judge.js'
import {loadFigure} from '../figures.js'
import {readGuestFacts} from '../guest-facts.js'
import {guestKernelProblems, healthCheck} from '../health.js'
import {perQueueChecks, rrLoad, sessionsCheck} from '../rr-load.js'
import type {CaseContext, CaseFigures, CaseOutcome, PlanCheck, VmCase} from '../types.js'
import {addBridgedTap} from '../../../testbed/vm.js'

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

function copyCheck(c: CopyOutcome | undefined, atMigrate: number, why: string | undefined): PlanCheck {
  const title = `a ${mib(COPY_BYTES)} copy host->guest running across the migration arrived whole, same checksum at both ends`
  if (!c) return check('transfer', title, false, why ?? 'the copy did not end')
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

export function makeMigrationCase(o: MigrationCaseOptions = {}): VmCase {
  return {
    id: 'migration',
    title: 'live migration with multiqueue enabled and a transfer running',
    source: 'fedora',
    set: 'default',
    boundMs: (p) => 150_000 + MIGRATION_BOUND_MS + p.durationMs,
    async run(ctx: CaseContext): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const migrationBoundMs = o.boundMs ?? MIGRATION_BOUND_MS
      const bed: VmBed = await ctx.boot()
      const {guest} = bed
      const checks: PlanCheck[] = []

      ctx.phase(`ethtool -L ${GUEST_DEV} combined ${n} in the source`)
      const rb = await bed.setQueueCount(n)
      checks.push(
        check(
          'source-queues',
          `multiqueue enabled in the source: ${n} queue pairs`,
          true,
          `combined ${rb.channels?.combined}, sysfs rx ${rb.sysfsQueues?.rx} / tx ${rb.sysfsQueues?.tx}, ` +
            `tap ${bed.tap} ${rb.tapQueues?.attached} attached`,
        ),
      )

      // Where the source's vCPUs run (pinned at boot with --vcpu-cpus): the destination's must match.
      const sourcePlacement = guest.setup.vcpuCpus ? await guest.vcpuPlacement() : undefined

      const destTap = `mqb-${bed.testbed.name}-m`
      ctx.phase(`destination qemu on tap ${destTap}, -incoming`)
      bed.own(addBridgedTap(bed, destTap, n, ctx.cleanup))
      const inc = await guest.startIncoming({
        tap: destTap,
        dir: `${guest.dir.replace(/\.vm$/, '')}-mig.vm`,
        undo: ctx.cleanup,
        config: o.destination,
      })

      ctx.phase(`copy of ${mib(COPY_BYTES)} host->guest at ${mib(COPY_RATE)}/s`)
      const copyT0 = performance.now()
      const sinceCopy = () => Math.round(performance.now() - copyT0)
      const copy = await startGuestCopy(guest.agent, {
        guestAddress: bed.ipGuest,
        netns: bed.ns,
        bytes: COPY_BYTES,
        seed: randomBytes(4).readUInt32BE(),
        rateBytesPerSec: COPY_RATE,
        timeoutMs: 120_000,
      })
      let copied: CopyOutcome | undefined
      let copyError: string | undefined
      let mig: MigrationOutcome
      let atMigrate = 0
      let onceAnswer: {status: number} | undefined
      let onceError: string | undefined
      let onceAfterMove = false
      let onceAtMs: number | undefined
      let copyDoneMs: number | undefined
      const connsBefore = guest.agent.connections
      try {
        const t0 = performance.now()
        while ((atMigrate = (await copy.received()).bytes) < COPY_STARTED_BYTES) {
          if (performance.now() - t0 > 20_000)
            throw new Error(`the copy did not start: ${atMigrate} B in 20 s`)
          if (ctx.signal.aborted) throw new Error('aborted')
          await sleep(20)
        }
        await guest.agent.exec(['rm', '-f', ONCE_FILE, GO_FILE])
        const once = guest.agent
          .exec(['sh', '-c', ONCE_SCRIPT], 70_000, {timeoutMs: 80_000, retries: 0})
          .then(
            (r) => {
              onceAnswer = r
              onceAtMs = sinceCopy()
              onceAfterMove = guest.migrations > 0
            },
            (err: Error) => (onceError = err.message),
          )
        ctx.phase(`QMP migrate to ${inc.uri}`)
        mig = await migrateGuest(guest, inc, {
          boundMs: migrationBoundMs,
          signal: ctx.signal,
          maxBandwidthBytesPerSec: o.maxBandwidthBytesPerSec,
        })
        await guest.agent.writeFile(GO_FILE, 'go')
        await once
        ctx.phase('waiting for the copy to end')
        copied = await copy.finish()
        copyDoneMs = sinceCopy()
      } catch (err) {
        copyError = (err as Error).message
        await copy.abort()
        throw err
      }

      const f = mig.figures
      checks.push(
        check(
          'migrate-completed',
          `QMP migrate completed within ${migrationBoundMs / 1000} s and the destination runs`,
          mig.moved,
          `${describeMigration(f)}${mig.timedOut ? ` (cancelled at the bound after ${mig.polls} polls)` : ''}` +
            `${mig.destStatus && mig.destStatus !== 'unknown' ? `; destination ${mig.destStatus}` : ''}${mig.destExit ? `; destination ${mig.destExit}` : ''}`,
        ),
      )
      checks.push(copyCheck(copied, atMigrate, copyError))
      // One timeline from the copy's start: the copy, the migration's steps, the request's answer.
      const shift = Math.round(mig.startedAt - copyT0)
      const events = [
        {atMs: 0, label: `copy of ${mib(COPY_BYTES)} host->guest started`},
        ...mig.events.map((e) => ({atMs: e.atMs + shift, label: e.label})),
        ...(onceAtMs !== undefined ? [{atMs: onceAtMs, label: 'agent request in flight answered'}] : []),
        ...(copyDoneMs !== undefined ? [{atMs: copyDoneMs, label: 'copy ended'}] : []),
      ].sort((a, b) => a.atMs - b.atMs)
      const figures: CaseFigures = {
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
          copyBytesAtMigrate: atMigrate,
          ...(copied
            ? {copyChecksumSent: copied.sent.checksum, copyChecksumReceived: copied.received.checksum}
            : {}),
          agentConnections: guest.agent.connections,
        },
      }
      const titles = {
        gone: 'the source qemu is gone; the guest runs in the destination',
        once: 'an agent request in flight across the switch-over was answered once and ran once',
        pinned: PINNED_TITLE,
        queues: `on the destination: ${n} queue pairs still enabled (guest channels, sysfs, destination tap)`,
      }
      if (!mig.moved) {
        const why = `the migration did not complete (${f.status})`
        for (const [id, t] of Object.entries(titles))
          checks.push(notApplicable(`dest-${id}`, t, `not reached: ${why}`))
        const health = await guestKernelProblems(bed)
        checks.push(healthCheck(health))
        return {checks, figures: {...figures, kernelLog: health.problems}}
      }

      const sourceAlive = sameProcess(mig.source)
      checks.push(
        check(
          'dest-gone',
          titles.gone,
          !sourceAlive && guest.ref.pid === inc.ref.pid,
          `source qemu pid ${mig.source.pid} ${sourceAlive ? 'still runs' : 'gone'}; the guest's qemu is pid ${guest.ref.pid}` +
            ` (destination ${inc.ref.pid}), tap ${bed.tap}`,
        ),
      )
      const lines = await guest.agent
        .readFile(ONCE_FILE)
        .then((r) => r.data.split('\n').filter(Boolean).length)
        .catch(() => 0)
      checks.push(
        check(
          'dest-once',
          titles.once,
          onceAnswer?.status === 0 && onceAfterMove && lines === 1,
          `${onceAnswer ? `answered (status ${onceAnswer.status}) ${onceAfterMove ? 'after' : 'before'} the move` : `no answer (${onceError})`}, ` +
            `${lines} line(s) in ${ONCE_FILE}; agent connections ${connsBefore} -> ${guest.agent.connections}`,
        ),
      )

      const destPlacement = sourcePlacement && {pid: guest.ref.pid, placement: await guest.vcpuPlacement()}
      checks.push(judgePinning(guest.setup.vcpuCpus, sourcePlacement, destPlacement))
      if (sourcePlacement && destPlacement) {
        figures.numbers!.vcpuPlacementSource = describePlacement(sourcePlacement)
        figures.numbers!.vcpuPlacementDestination = describePlacement(destPlacement.placement)
      }

      ctx.phase('reading the destination')
      const facts = await readGuestFacts(bed)
      const sysfs = {rx: facts.snapshot.queueCounts.rx, tx: facts.snapshot.queueCounts.tx}
      const mismatch = queueMismatch(n, bed.testbed.maxQueues, {
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

      ctx.phase(`${ctx.params.sessions} TCP_RR sessions on the destination`)
      const load = await rrLoad(bed, GUEST_DEV, {
        sessions: ctx.params.sessions,
        durationMs: ctx.params.durationMs,
        signal: ctx.signal,
      })
      checks.push(
        sessionsCheck(load.rr, ctx.params.sessions),
        ...perQueueChecks(GUEST_DEV, n, guest.setup.vcpus, load).map((c) => ({
          ...c,
          title: `on the destination: ${c.title}`,
        })),
      )
      const health = await guestKernelProblems(bed)
      checks.push(healthCheck(health))
      figures.loads = [
        loadFigure(
          {
            label: `${ctx.params.sessions} TCP_RR sessions at ${n} queues on the destination`,
            workloads: ['tcp_rr'],
            sessions: ctx.params.sessions,
            queues: n,
            durationMs: ctx.params.durationMs,
            transactionsPerSecond: load.rr.transactionsPerSecond,
          },
          load,
        ),
      ]
      figures.kernelLog = health.problems
      return {checks, figures}
    },
  }
}

export const migrationCase = makeMigrationCase()
