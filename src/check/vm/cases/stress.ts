// Fedora plan, "other stress": a mixed load for a bounded time, TCP_RR + TCP_STREAM + TCP_CRR at
// once on one guest server (one engine thread pinned per vCPU), many sessions; then the guest must
// be healthy: every workload moved data without session errors, every queue's interrupt line and
// ethtool -S counter rose (no queue stuck), and its kernel log since the load began has no call
// trace, lockup, stall, NETDEV WATCHDOG/TX timeout or failed allocation (health.ts; lines quoted).
import {observeDelta} from '../../../observe/index.js'
import {runRr, runStream} from '../../../sessions/index.js'
import {GUEST_DEV, type VmBed} from '../../../testbed/vm.js'
import {guestSnapshot} from '../../../vm/guest-observe.js'
import {loadFigure} from '../figures.js'
import {guestKernelProblems, healthCheck, kernelLogMark} from '../health.js'
import {guestServer, perQueueChecks} from '../rr-load.js'
import {acrossRepeats, loadRepeats, numbersAcrossRepeats} from '../judge.js'
import {nicFeatureCheck, variantOf} from '../nic-features.js'
import type {
  CaseContext,
  CaseOutcome,
  GuestVariant,
  LoadFigure,
  PlanCheck,
  PlanParams,
  VmCase,
} from '../types.js'

/** How many sessions of each workload the mixed load runs. */
export function stressMix(p: Pick<PlanParams, 'sessions' | 'queues'>): {
  rr: number
  stream: number
  crr: number
} {
  return {rr: p.sessions, stream: 2 * p.queues, crr: 2 * p.queues}
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

async function mixedLoad(bed: VmBed, p: PlanParams, signal: AbortSignal) {
  const mix = stressMix(p)
  const srv = await guestServer(bed, mix.rr + mix.stream + mix.crr)
  const common = {
    server: bed.ipGuest,
    port: srv.port,
    netns: bed.ns,
    token: srv.token,
    durationMs: p.durationMs,
  }
  const rr = (type: 'tcp_rr' | 'tcp_crr', sessions: number) =>
    runRr({...common, type, sessions, requestSize: 1, responseSize: 1}, {signal})
  try {
    const before = await guestSnapshot(bed.agent, GUEST_DEV)
    const [r, s, c] = await Promise.allSettled([
      rr('tcp_rr', mix.rr),
      runStream({...common, type: 'tcp_stream', sessions: mix.stream, messageSize: 16384}, {signal}),
      rr('tcp_crr', mix.crr),
    ])
    const after = await guestSnapshot(bed.agent, GUEST_DEV)
    return {mix, before, after, interrupts: observeDelta(before, after).interrupts, r, s, c}
  } finally {
    await srv.stop()
  }
}

/** The checks of one mixed load (every workload ran, no queue stuck), its figure and its rates. */
function judgeMixed(load: Awaited<ReturnType<typeof mixedLoad>>, n: number, vcpus: number, p: PlanParams) {
  const checks: PlanCheck[] = []
  const rr = load.r.status === 'fulfilled' ? load.r.value : undefined
  const stream = load.s.status === 'fulfilled' ? load.s.value : undefined
  const crr = load.c.status === 'fulfilled' ? load.c.value : undefined
  const rrLike = (
    label: string,
    res: PromiseSettledResult<{
      sessions: Array<{errors: number; transactions: number; stalled: boolean}>
      transactionsPerSecond: number
    }>,
    sessions: number,
  ): PlanCheck => {
    const id = `${label.toLowerCase().replace('tcp_', '')}-ran`
    const title = `${sessions} ${label} sessions ran without errors and all carried transactions`
    if (res.status === 'rejected') return {id, title, status: 'FAIL', evidence: message(res.reason)}
    const v = res.value
    const errors = v.sessions.reduce((a, x) => a + x.errors, 0)
    const idle = v.sessions.filter((x) => x.transactions === 0).length
    const stalled = v.sessions.filter((x) => x.stalled).length
    return {
      id,
      title,
      status: errors === 0 && idle === 0 && v.sessions.length === sessions ? 'PASS' : 'FAIL',
      evidence: `${v.sessions.length} sessions, ${Math.round(v.transactionsPerSecond)} transactions/s, ${errors} errors, ${idle} without a transaction, ${stalled} stalled for 1 s or more`,
    }
  }
  checks.push(rrLike('TCP_RR', load.r, load.mix.rr), rrLike('TCP_CRR', load.c, load.mix.crr))
  checks.push(
    load.s.status === 'rejected'
      ? {
          id: 'stream-ran',
          title: `${load.mix.stream} TCP_STREAM sessions moved data`,
          status: 'FAIL',
          evidence: message(load.s.reason),
        }
      : {
          id: 'stream-ran',
          title: `${load.mix.stream} TCP_STREAM sessions moved data`,
          status:
            load.s.value.sessions.length === load.mix.stream &&
            load.s.value.sessions.every((x) => x.bytes > 0)
              ? 'PASS'
              : 'FAIL',
          evidence: `${load.s.value.sessions.length} sessions, ${load.s.value.gbps.toFixed(3)} Gbit/s, ${load.s.value.sessions.filter((x) => x.bytes === 0).length} moved nothing`,
        },
  )
  const run = {
    queueCount: n,
    transactionsPerSecond: rr?.transactionsPerSecond ?? 0,
    before: load.before,
    after: load.after,
    interrupts: load.interrupts,
  }
  checks.push(
    ...perQueueChecks(GUEST_DEV, n, vcpus, run).map((c) => ({
      ...c,
      title: `no queue stuck: ${c.title}`,
    })),
  )
  return {
    checks,
    figure: loadFigure(
      {
        label: `mixed: ${load.mix.rr} TCP_RR + ${load.mix.stream} TCP_STREAM + ${load.mix.crr} TCP_CRR`,
        workloads: ['tcp_rr', 'tcp_stream', 'tcp_crr'],
        sessions: load.mix.rr + load.mix.stream + load.mix.crr,
        queues: n,
        durationMs: p.durationMs,
        transactionsPerSecond: (rr?.transactionsPerSecond ?? 0) + (crr?.transactionsPerSecond ?? 0),
        bitsPerSecond: stream ? stream.gbps * 1e9 : undefined,
      },
      run,
    ),
    numbers: {
      rrTransactionsPerSecond: Math.round(rr?.transactionsPerSecond ?? 0),
      crrTransactionsPerSecond: Math.round(crr?.transactionsPerSecond ?? 0),
      streamGbps: Number((stream?.gbps ?? 0).toFixed(4)),
    },
  }
}

/**
 * The mixed stress on the plan's shared guest, or with `guest` on a NIC variant of its own
 * (`stress_packed`: packed rings), the variant's feature judged first as in cases/mq.ts.
 */
export function makeStressCase(o: {guest?: GuestVariant} = {}): VmCase {
  const features = o.guest?.nicFeatures ?? []
  return {
    ...variantOf(
      {id: 'stress', title: 'mixed stress (TCP_RR + TCP_STREAM + TCP_CRR at once); the guest stays healthy'},
      features,
    ),
    source: 'fedora',
    boundMs: (p) => (features.length ? 90_000 : 60_000) + loadRepeats(p) * (2 * p.durationMs + 10_000),
    run: (ctx) => runStress(ctx, o.guest),
  }
}

async function runStress(ctx: CaseContext, variant: GuestVariant | undefined): Promise<CaseOutcome> {
  const bed = variant ? await ctx.boot(variant) : await ctx.shared()
  const featureChecks = (variant?.nicFeatures ?? []).map((f) => nicFeatureCheck(bed.setup.virtio, f))
  const n = ctx.params.queues
  const mark = await kernelLogMark(bed)
  const mix = stressMix(ctx.params)
  ctx.phase(
    `${mix.rr} TCP_RR + ${mix.stream} TCP_STREAM + ${mix.crr} TCP_CRR sessions for ${ctx.params.durationMs / 1000} s`,
  )
  // The mixed load repeats --repeats times (its rates are performance figures --baseline
  // compares); each repeat is judged, the kernel log once over all of them.
  const repeats = loadRepeats(ctx.params)
  const judged: PlanCheck[][] = []
  const loads: LoadFigure[] = []
  const numbers: Array<Record<string, number>> = []
  for (let i = 0; i < repeats; i++) {
    if (repeats > 1) ctx.phase(`mixed load ${i + 1}/${repeats}`)
    const one = judgeMixed(await mixedLoad(bed, ctx.params, ctx.signal), n, bed.setup.vcpus, ctx.params)
    judged.push(one.checks)
    loads.push(one.figure)
    numbers.push(one.numbers)
  }
  const checks = [...featureChecks, ...acrossRepeats(judged)]
  ctx.phase("reading the guest's kernel log")
  const found = await guestKernelProblems(bed, mark)
  checks.push(healthCheck(found))
  bed.guest.checkAlive()
  // numbers: the median rates of the repeats (every repeat's rates are in its load)
  return {
    checks,
    figures: {loads, kernelLog: found.problems, numbers: numbersAcrossRepeats(numbers, 'median')},
  }
}

export const stressCase = makeStressCase()
/** The mixed stress on packed rings (VIRTIO_F_RING_PACKED), beside the split-ring one. */
export const stressPackedCase = makeStressCase({guest: {nicFeatures: ['packed']}})
