// Fedora plan, "enable multiqueue": `ethtool -L eth0 combined N` in the guest, read back by three
// witnesses (the guest's channels, its sysfs rx-*/tx-* and the host tap's attached queues);
// --sessions concurrent TCP_RR sessions host<->guest, after which every virtioX-input.K/output.K
// line and every per-queue ethtool -S counter rose and the queues' interrupts were served by
// different vCPUs. Then `combined 1`: one queue active, the tap's other queues detached, the
// load again with 4 sessions (the page's figure) beside the first. The guest is left at N.
// With --repeats each of the two loads runs that many times: they are the plan's main
// performance figures, which --baseline compares.
import {evaluateChecks, type LoadRun} from '../../checks.js'
import {GUEST_DEV, type VmBed} from '../../../testbed/vm.js'
import {loadFigure} from '../figures.js'
import {acrossRepeats, loadRepeats, verdict as check} from '../judge.js'
import {median} from '../../../results/estimate.js'
import {readGuestFacts, type GuestFacts} from '../guest-facts.js'
import {rrLoad, sessionsCheck} from '../rr-load.js'
import {nicFeatureCheck, variantOf} from '../nic-features.js'
import type {CaseContext, CaseOutcome, GuestVariant, LoadFigure, PlanCheck, VmCase} from '../types.js'

/** The page's "4 concurrent" sessions of the single-queue run. */
export const ONE_QUEUE_SESSIONS = 4

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

/**
 * Sets `n` queue pairs through the testbed (which reads them back) and judges each witness on
 * its own, so that a refusal names who disagreed: the guest's channels, its sysfs, the host tap.
 */
export async function queueWitnessChecks(
  bed: VmBed,
  n: number,
  prefix: string,
): Promise<{checks: PlanCheck[]; facts: GuestFacts}> {
  const max = bed.maxQueues
  let setError: string | undefined
  try {
    await bed.setQueueCount(n)
  } catch (err) {
    setError = message(err)
  }
  const f = await readGuestFacts(bed)
  const {rx, tx} = f.snapshot.queueCounts
  const tapOk = max === 1 || (f.tap.numqueues === n && f.tap.numdisabled === max - n)
  const checks = [
    check(
      `${prefix}channels`,
      `ethtool -L ${GUEST_DEV} combined ${n}: the guest's channels read back ${n}`,
      f.channels.combined === n,
      `combined ${f.channels.combined} (max ${f.channels.maxCombined})${setError ? `; ${setError}` : ''}`,
    ),
    check(
      `${prefix}sysfs-queues`,
      `/sys/class/net/${GUEST_DEV}/queues in the guest has ${n} rx-* and ${n} tx-*`,
      rx === n && tx === n,
      `${rx} rx-*, ${tx} tx-*`,
    ),
    check(
      `${prefix}tap-queues`,
      `the host tap has ${n} queue(s) attached and ${max - n} detached`,
      tapOk,
      `tap ${bed.tap}: ${f.tap.numqueues} attached, ${f.tap.numdisabled} detached of ${max}`,
    ),
  ]
  return {checks, facts: f}
}

/** The host check's judges of a load at `queues` pairs (evaluateChecks), by id. */
function judged(bed: VmBed, queues: number, load: LoadRun, ids: string[]): PlanCheck[] {
  const all = evaluateChecks({
    dev: GUEST_DEV,
    queues,
    onlineCpus: Array.from({length: bed.setup.vcpus}, (_, i) => i),
    loadN: load,
  })
  return ids.map((id) => all.find((c) => c.id === id)!)
}

/** At one queue pair: no line or counter of a queue beyond 0 moved (the others are disabled). */
export function onlyQueueZeroCheck(load: LoadRun): PlanCheck {
  const moved = load.interrupts.filter((d) => d.queue !== undefined && d.queue > 0 && d.total > 0)
  const counted = load.after.ethtoolQueues.filter((q) => q.queue > 0).map((q) => q.queue)
  const q0 = load.interrupts.filter((d) => d.queue === 0)
  const q0Rose = q0.length > 0 && q0.every((d) => d.total > 0)
  const parts = load.interrupts.filter((d) => d.queue !== undefined).map((d) => `${d.name} +${d.total}`)
  const problems = [
    ...moved.map((d) => `${d.name} rose by ${d.total}`),
    ...(counted.length ? [`ethtool -S still counts queue(s) ${counted.join(', ')}`] : []),
    ...(q0Rose ? [] : ['queue 0 lines did not all rise']),
  ]
  return check(
    'one-queue-only',
    'at 1 queue pair only queue 0 carried the load',
    problems.length === 0,
    problems.length ? `${problems.join('; ')} (${parts.join(', ')})` : parts.join(', '),
  )
}

export interface MqOptions {
  /**
   * Run on a guest of the case's own instead of the shared one (e.g. {vectors: 3}: too few
   * MSI-X vectors, one shared interrupt: the per-queue checks must FAIL; the tests use it).
   */
  guest?: GuestVariant
}

export function makeMqCase(o: MqOptions = {}): VmCase {
  const features = o.guest?.nicFeatures ?? []
  return {
    ...variantOf(
      {id: 'mq', title: 'enable multiqueue: N queue pairs under concurrent TCP_RR, then 1'},
      features,
    ),
    source: 'fedora',
    // two loads per repeat, each its duration plus ~5 s of server start and snapshots under TCG
    boundMs: (p) => 90_000 + 2 * loadRepeats(p) * (p.durationMs + 5_000),
    async run(ctx: CaseContext): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const sessions = ctx.params.sessions
      const repeats = loadRepeats(ctx.params)
      const of = (i: number) => (repeats > 1 ? ` (${i + 1}/${repeats})` : '')
      const bed = o.guest ? await ctx.boot(o.guest) : await ctx.shared()
      const checks: PlanCheck[] = []
      const loads: LoadFigure[] = []
      const head = (s: number, q: number) => ({
        label: `${s} TCP_RR sessions at ${q} queue pair${q > 1 ? 's' : ''}`,
        workloads: ['tcp_rr' as const],
        sessions: s,
        queues: q,
        durationMs: ctx.params.durationMs,
      })
      try {
        checks.push(...features.map((f) => nicFeatureCheck(bed.setup.virtio, f)))
        ctx.phase(`ethtool -L ${GUEST_DEV} combined ${n}`)
        checks.push(...(await queueWitnessChecks(bed, n, '')).checks)

        // Each load runs `repeats` times back to back at its queue count (changing the count
        // between repeats would measure the change too); every repeat is judged (acrossRepeats).
        const perN: PlanCheck[][] = []
        const tpsN: number[] = []
        for (let i = 0; i < repeats; i++) {
          ctx.phase(`${sessions} TCP_RR sessions host<->guest for ${ctx.params.durationMs / 1000} s${of(i)}`)
          const loadN = await rrLoad(bed, GUEST_DEV, {
            sessions,
            durationMs: ctx.params.durationMs,
            signal: ctx.signal,
          })
          perN.push([
            sessionsCheck(loadN.rr, sessions),
            ...judged(bed, n, loadN, ['irq-per-queue', 'ethtool-per-queue', 'irq-spread']),
          ])
          tpsN.push(loadN.rr.transactionsPerSecond)
          loads.push(
            loadFigure({...head(sessions, n), transactionsPerSecond: loadN.rr.transactionsPerSecond}, loadN),
          )
        }
        checks.push(...acrossRepeats(perN))

        ctx.phase(`ethtool -L ${GUEST_DEV} combined 1`)
        checks.push(...(await queueWitnessChecks(bed, 1, 'one-')).checks)
        const per1: PlanCheck[][] = []
        const tps1: number[] = []
        for (let i = 0; i < repeats; i++) {
          ctx.phase(`${ONE_QUEUE_SESSIONS} TCP_RR sessions at 1 queue pair${of(i)}`)
          const load1 = await rrLoad(bed, GUEST_DEV, {
            sessions: ONE_QUEUE_SESSIONS,
            durationMs: ctx.params.durationMs,
            signal: ctx.signal,
          })
          per1.push([
            {...sessionsCheck(load1.rr, ONE_QUEUE_SESSIONS), id: 'one-rr-sessions'},
            onlyQueueZeroCheck(load1),
          ])
          tps1.push(load1.rr.transactionsPerSecond)
          loads.push(
            loadFigure(
              {...head(ONE_QUEUE_SESSIONS, 1), transactionsPerSecond: load1.rr.transactionsPerSecond},
              load1,
            ),
          )
        }
        checks.push(...acrossRepeats(per1))
        const [a, b] = [median(tpsN), median(tps1)]
        checks.push(
          check(
            'side-by-side',
            `both loads ran: ${n} queue pairs with ${sessions} sessions beside 1 with ${ONE_QUEUE_SESSIONS}`,
            a > 0 && b > 0,
            `${Math.round(a)} vs ${Math.round(b)} transactions/s` +
              (repeats > 1 ? ` (medians of ${repeats} repeats)` : '') +
              (bed.setup.accel === 'tcg' ? ' (TCG: functional only)' : ''),
          ),
        )
        return {checks, figures: {loads}}
      } finally {
        // The shared guest goes back to N; a failure here throws, and the runner drops the guest.
        if (bed.queueCount() !== n) {
          ctx.phase(`ethtool -L ${GUEST_DEV} combined ${n} (leaving the guest as found)`)
          await bed.setQueueCount(n)
        }
      }
    },
  }
}

export const mqCase = makeMqCase()
/**
 * The Fedora mq case on the device's newer features, the same per-queue judges: packed rings
 * (VIRTIO_F_RING_PACKED), device RSS (VIRTIO_NET_F_RSS: qemu steers with its eBPF program on the
 * tap, or its own code), and both. With `mq` itself they are the variant matrix split/packed ×
 * rss off/on, each at N queue pairs and at 1, that the plan page shows side by side.
 */
export const mqPackedCase = makeMqCase({guest: {nicFeatures: ['packed']}})
export const mqRssCase = makeMqCase({guest: {nicFeatures: ['rss']}})
export const mqPackedRssCase = makeMqCase({guest: {nicFeatures: ['packed', 'rss']}})
