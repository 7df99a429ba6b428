// tp-qemu's mq=off variants: a device with mq=off has one queue pair whatever `queues` the netdev
// says (qemu attaches one tap queue and detaches the rest), `ethtool -L` beyond 1 is refused,
// the load runs on queue 0; the checks that compare queues (spread, affinity, churn) have nothing
// to compare and say so. The load repeats --repeats times (the baseline comparison's noise).
import {GUEST_DEV} from '../../../testbed/vm.js'
import {readGuestFacts, type GuestFacts} from '../guest-facts.js'
import {acrossRepeats, loadRepeats, notApplicable, verdict} from '../judge.js'
import {judgedRrLoad} from '../rr-load.js'
import type {CaseOutcome, LoadFigure, PlanCheck, VmCase} from '../types.js'

/** The queue facts of a guest whose NIC was given `queues` on the netdev and mq=off. */
export function judgeMqOff(f: GuestFacts, queues: number, setStatus: number): PlanCheck[] {
  const {rx, tx} = f.snapshot.queueCounts
  return [
    verdict(
      'one-pair',
      `mq=off with queues=${queues}: max combined 1, current 1`,
      f.channels.maxCombined === 1 && f.channels.combined === 1,
      `max combined ${f.channels.maxCombined}, current ${f.channels.combined}`,
    ),
    verdict('sysfs-one', 'one rx-* and one tx-* in sysfs', rx === 1 && tx === 1, `${rx} rx-*, ${tx} tx-*`),
    verdict(
      'tap-one',
      `the host tap has 1 queue attached, ${queues - 1} detached`,
      f.tap.numqueues === 1 && f.tap.numdisabled === queues - 1,
      `${f.tap.numqueues} attached, ${f.tap.numdisabled} detached`,
    ),
    verdict(
      'set-refused',
      `ethtool -L combined ${queues} is refused and changes nothing`,
      setStatus !== 0,
      `exit ${setStatus}`,
    ),
  ]
}

export const MQ_OFF_NA: Array<[string, string]> = [
  ['irq-spread', 'queue interrupts spread over vCPUs'],
  ['affinity', 'per-queue affinity and XPS'],
  ['churn', 'queue-count changes under load'],
]

export function makeMqOffCase(o: {mq?: boolean} = {}): VmCase {
  return {
    id: 'mq_off',
    title: 'mq=off: one queue pair whatever queues says; the checks adapt',
    source: 'tp-qemu',
    set: 'default',
    boundMs: (p) => 90_000 + loadRepeats(p) * (p.durationMs + 10_000),
    async run(ctx): Promise<CaseOutcome> {
      const queues = Math.max(2, ctx.params.queues)
      ctx.phase(`booting a guest with queues=${queues}, mq=${o.mq ? 'on' : 'off'}`)
      const bed = await ctx.boot({queues, mq: o.mq ?? false})
      const set = await bed.agent.exec(['ethtool', '-L', GUEST_DEV, 'combined', String(queues)])
      const facts = await readGuestFacts(bed)
      const checks = judgeMqOff(facts, queues, set.status)
      const loads: LoadFigure[] = []
      const judged: PlanCheck[][] = []
      const repeats = loadRepeats(ctx.params)
      for (let i = 0; i < repeats; i++) {
        ctx.phase(`${ctx.params.sessions} TCP_RR sessions on one queue pair (${i + 1}/${repeats})`)
        const load = await judgedRrLoad(bed, GUEST_DEV, {
          sessions: ctx.params.sessions,
          durationMs: ctx.params.durationMs,
          signal: ctx.signal,
          queues: 1,
          prefix: 'mq=off',
          label: `${ctx.params.sessions} TCP_RR sessions at 1 queue (mq=off)`,
        })
        loads.push(load.figure)
        judged.push(load.checks)
      }
      checks.push(...acrossRepeats(judged))
      for (const [id, title] of MQ_OFF_NA)
        checks.push(notApplicable(id, title, 'one queue pair (mq=off): nothing to compare between queues'))
      return {checks, figures: {queues, mq: o.mq ?? false, loads}}
    },
  }
}

export const mqOffCase = makeMqOffCase()
