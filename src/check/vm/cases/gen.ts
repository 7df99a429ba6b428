// Fedora plan, "pktgen stress": load on every guest queue both ways, counted per queue at both
// ends (gen/vm.ts does the moving: the agent's pinned senders in the guest and a receiver on the
// host tap; AF_PACKET senders on the tap with enough flows that tun's hash reaches every queue
// and the agent's receiver per guest RX queue), then the kernel's pktgen in the guest, one
// kernel thread per TX queue, counted by the driver per queue and by the host tap. With --repeats
// the three run that many times in turn.
import type {GenResult} from '../../../results/schema.js'
import {vmGenTarget} from '../../../gen/testbed.js'
import {runVmGen} from '../../../gen/vm.js'
import {linkInfo} from '../../../host/netns.js'
import {runOk} from '../../../util/exec.js'
import {GUEST_DEV, type VmBed} from '../../../testbed/vm.js'
import {guestSnapshot} from '../../../vm/guest-observe.js'
import {runPktgen, type PktgenRun} from '../../../vm/pktgen.js'
import {guestKernelProblems, healthCheck, kernelLogMark} from '../health.js'
import {acrossRepeats, loadRepeats, numbersAcrossRepeats} from '../judge.js'
import type {CaseContext, CaseOutcome, PlanCheck, QueueRateFigure, VmCase} from '../types.js'

const FRAME = 64
/** pktgen's count per queue: the run ends at the duration or here, whichever is first. */
const PKTGEN_COUNT = 50_000_000

const pps = (x: number) => `${Math.round(x)} pps`

/** Sent, received and lost of a gen run, and the rate on each guest queue, for the evidence and the figures. */
export function genFigures(r: GenResult) {
  const received = r.rx?.packets ?? 0
  // The guest queue carries the run's direction: its RX queues into the guest, its TX queues out.
  const direction = r.guest?.direction === 'to-guest' ? ('rx' as const) : ('tx' as const)
  const queueRates: QueueRateFigure[] = (r.guest?.queues ?? []).map((q) => ({
    queue: q.queue,
    direction,
    pps: Math.round(q.pps),
  }))
  return {
    sent: r.packets,
    received,
    lost: Math.max(0, r.packets - received),
    queueRates,
    perQueuePps: queueRates.map((q) => q.pps),
  }
}

/** From the guest: each guest TX queue carried its sender's frames, and the host counted them per tap queue. */
export function fromGuestChecks(r: GenResult, n: number): PlanCheck[] {
  const g = r.guest?.queues ?? []
  const f = genFigures(r)
  const idle = Array.from({length: n}, (_, k) => k).filter((k) => !(g[k]?.txPackets > 0))
  const tapIdle = Array.from({length: n}, (_, k) => k).filter((k) => !(r.rx?.queues[k]?.packets ?? 0))
  return [
    {
      id: 'from-guest-queues',
      title: `the agent's senders loaded every guest TX queue (tx_queue_K_packets of ${n})`,
      status: idle.length === 0 ? 'PASS' : 'FAIL',
      evidence:
        (idle.length ? `no frames on TX queue ${idle.join(', ')}; ` : '') +
        g.map((q) => `tx${q.queue} +${q.txPackets} (${pps(q.pps)})`).join(', '),
    },
    {
      id: 'from-guest-host',
      title: 'the host counted the frames of every guest queue on the tap',
      status: tapIdle.length === 0 && r.placement?.verified === true ? 'PASS' : 'FAIL',
      evidence:
        (tapIdle.length ? `nothing on tap queue ${tapIdle.join(', ')}; ` : '') +
        `${f.received} of ${f.sent} sent (lost ${f.lost}), ` +
        (r.rx?.queues ?? []).map((q) => `tap q${q.queue} ${q.packets}`).join(', ') +
        `; each on the tap queue of its guest queue: ${r.placement?.verified ? 'yes' : 'no'}`,
    },
  ]
}

/** Into the guest: every guest RX queue received frames of the host's flows. */
export function toGuestCheck(r: GenResult, n: number): PlanCheck {
  const g = r.guest?.queues ?? []
  const f = genFigures(r)
  const idle = Array.from({length: n}, (_, k) => k).filter((k) => !((g[k]?.received ?? 0) > 0))
  return {
    id: 'to-guest-queues',
    title: `frames from the host through the tap reached every guest RX queue (${r.flowsPerQueue} flows per sender)`,
    status: idle.length === 0 ? 'PASS' : 'FAIL',
    evidence:
      (idle.length ? `nothing on RX queue ${idle.join(', ')}; ` : '') +
      g.map((q) => `rx${q.queue} ${q.received ?? 0} (${pps(q.pps)})`).join(', ') +
      `; ${f.received} of ${f.sent} sent (lost ${f.lost})`,
  }
}

/** pktgen: every queue's thread sent and the driver's TX queue counter rose; the host tap's count and the loss. */
export function pktgenCheck(run: PktgenRun, n: number, txDelta: number[], hostRx: number): PlanCheck {
  const title = `the kernel's pktgen in the guest sent on every TX queue (one kpktgend thread per queue)`
  if (!run.ran) return {id: 'pktgen', title, status: 'N/A', evidence: run.reason}
  const sent = run.queues.reduce((a, q) => a + q.packets, 0)
  const bad = Array.from({length: n}, (_, k) => k).filter(
    (k) => !((run.queues.find((q) => q.queue === k)?.packets ?? 0) > 0 && (txDelta[k] ?? 0) > 0),
  )
  return {
    id: 'pktgen',
    title,
    status: bad.length === 0 ? 'PASS' : 'FAIL',
    evidence:
      (bad.length ? `queue ${bad.join(', ')} sent nothing; ` : '') +
      run.queues
        .map((q) => `q${q.queue} ${q.packets} (${pps(q.pps)}, tx_queue +${txDelta[q.queue] ?? 0})`)
        .join(', ') +
      `; host tap received ${hostRx} of ${sent} (lost ${Math.max(0, sent - hostRx)})`,
  }
}

const tapRxPackets = (ns: string, tap: string) =>
  Number(
    (
      JSON.parse(runOk('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', tap])) as Array<{
        stats64: {rx: {packets: number}}
      }>
    )[0].stats64.rx.packets,
  )

export interface GenCaseOptions {
  /**
   * The guest's queue count during the loads (default: all N). Fewer is a broken setup whose
   * per-queue checks must FAIL: the tests use it to show that they do.
   */
  queuesDuringLoad?: (n: number) => number
}

type GenTarget = ReturnType<typeof vmGenTarget>

/** The kernel's pktgen in the guest on `live` TX queues, counted by its TX queues and the host tap. */
async function pktgenPhase(bed: VmBed, live: number, n: number, durationMs: number) {
  const before = await guestSnapshot(bed.agent, GUEST_DEV)
  const rx0 = tapRxPackets(bed.ns, bed.tap)
  const pg = await runPktgen(bed.agent, {
    dev: GUEST_DEV,
    queues: live,
    pktSize: FRAME - 4,
    dstIp: bed.ipHost,
    dstMac: linkInfo(bed.bridge, bed.ns).mac,
    durationMs,
    countPerQueue: PKTGEN_COUNT,
  })
  const hostRx = tapRxPackets(bed.ns, bed.tap) - rx0
  const after = await guestSnapshot(bed.agent, GUEST_DEV)
  const txDelta = Array.from({length: n}, (_, k) => {
    const a = after.ethtoolQueues.find((q) => q.queue === k)?.tx.packets ?? 0
    const b = before.ethtoolQueues.find((q) => q.queue === k)?.tx.packets ?? 0
    return a - b
  })
  return {pg, hostRx, txDelta}
}

/** One round of the three loads (from the guest, into it, pktgen), judged and as figures. */
async function genRound(ctx: CaseContext, bed: VmBed, target: GenTarget, live: number, of: string) {
  const n = ctx.params.queues
  const durationMs = ctx.params.durationMs
  ctx.phase(`gen from the guest: ${live} pinned senders, counted on the host tap${of}`)
  const from = await runVmGen(
    target,
    {direction: 'from-guest', frameSize: FRAME, durationMs},
    {signal: ctx.signal},
  )
  ctx.phase(`gen into the guest through the tap, counted per guest RX queue${of}`)
  const to = await runVmGen(
    target,
    {direction: 'to-guest', frameSize: FRAME, durationMs},
    {signal: ctx.signal},
  )
  ctx.phase(`pktgen in the guest on ${live} TX queues${of}`)
  const {pg, hostRx, txDelta} = await pktgenPhase(bed, live, n, durationMs)
  const load = (label: string, r: {pps: number; lost: number; queueRates: QueueRateFigure[]}) => ({
    label,
    workloads: ['gen' as const],
    sessions: live,
    queues: live,
    durationMs,
    packetsPerSecond: Math.round(r.pps),
    errors: r.lost,
    queueRates: r.queueRates,
  })
  const pgSent = pg.ran ? pg.queues.reduce((a, q) => a + q.packets, 0) : 0
  return {
    checks: [...fromGuestChecks(from, n), toGuestCheck(to, n), pktgenCheck(pg, n, txDelta, hostRx)],
    loads: [
      load(`gen from the guest: ${live} pinned senders, one per TX queue`, {
        pps: from.pps,
        ...genFigures(from),
      }),
      load(`gen into the guest through the tap (${to.flowsPerQueue} flows per sender)`, {
        pps: to.pps,
        ...genFigures(to),
      }),
      ...(pg.ran
        ? [
            load(`kernel pktgen in the guest, ${live} kpktgend threads`, {
              pps: pg.queues.reduce((a, q) => a + q.pps, 0),
              lost: Math.max(0, pgSent - hostRx),
              queueRates: pg.queues.map((q) => ({queue: q.queue, direction: 'tx' as const, pps: q.pps})),
            }),
          ]
        : []),
    ],
    numbers: {
      fromGuestSent: from.packets,
      fromGuestReceived: from.rx?.packets ?? 0,
      toGuestSent: to.packets,
      toGuestReceived: to.rx?.packets ?? 0,
      ...(pg.ran ? {pktgenSent: pgSent, pktgenHostReceived: hostRx} : {pktgen: pg.reason}),
    },
  }
}

export function makeGenCase(o: GenCaseOptions = {}): VmCase {
  return {
    id: 'gen',
    title: 'pktgen stress: load on every guest queue both ways, and the kernel pktgen',
    source: 'fedora',
    set: 'default',
    // each round: three loads of --duration and ~30 s of setting up senders and pktgen under TCG
    boundMs: (p) => 120_000 + loadRepeats(p) * (30_000 + 3 * p.durationMs),
    async run(ctx: CaseContext): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const bed = await ctx.shared()
      const live = o.queuesDuringLoad?.(n) ?? n
      if (live !== n) await bed.setQueueCount(live)
      try {
        const mark = await kernelLogMark(bed)
        const target = vmGenTarget(bed.testbed)
        // The three loads repeat --repeats times in turn (their rates are performance figures
        // --baseline compares); each round is judged, the kernel log once over all of them.
        const repeats = loadRepeats(ctx.params)
        const rounds = []
        for (let i = 0; i < repeats; i++)
          rounds.push(await genRound(ctx, bed, target, live, repeats > 1 ? ` (${i + 1}/${repeats})` : ''))
        const health = await guestKernelProblems(bed, mark)
        return {
          checks: [...acrossRepeats(rounds.map((r) => r.checks)), healthCheck(health)],
          figures: {
            loads: rounds.flatMap((r) => r.loads),
            // packets over every round (each round's rates are in its loads)
            numbers: numbersAcrossRepeats(
              rounds.map((r) => r.numbers),
              'sum',
            ),
            kernelLog: health.problems,
          },
        }
      } finally {
        if (live !== n) await bed.setQueueCount(n)
      }
    },
  }
}

export const genCase = makeGenCase()
