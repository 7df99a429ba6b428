// tp-qemu nic_hotplug, repeated (issue 14 point 6): the NIC unplugged and a new multiqueue one
// plugged, over and over (20 cycles by default, --hotplug-cycles for tp-qemu's 100), the taps
// alternating on the pinned-MAC bridge; after each plug the guest is paused and resumed (QMP
// stop/cont) and must reach the host with pings through the new NIC. After the last cycle the
// plugged NIC carries TCP_RR sessions on every queue, and the guest's kernel log stays clean.
import {median} from '../../../results/estimate.js'
import type {NicSpec} from '../../../vm/hotplug.js'
import {guestKernelProblems, healthCheck} from '../health.js'
import {judgedRrLoad} from '../rr-load.js'
import type {CaseContext, CaseOutcome, PlanCheck, VmCase} from '../types.js'
import {bootNic, replug} from './hotplug.js'

export const DEFAULT_HOTPLUG_CYCLES = 20
const PINGS = 3

/** "3 packets transmitted, 2 packets received" (busybox) or "3 received" (iputils). */
export function pingReceived(out: string): number {
  return Number(/(\d+) (?:packets )?received/.exec(out)?.[1] ?? 0)
}

// 0 ms when no cycle got that far (the figure stays a number in the results file).
const medianMs = (xs: number[]) => (xs.length ? median(xs) : 0)

/** One cycle's record: its timings, or the check that failed it. */
interface Cycle {
  deletedMs?: number
  appearedMs?: number
  pings: number
  failed?: string
}

async function stopCont(
  ctx: CaseContext,
  qmp: {execute<T>(c: string): Promise<T>},
): Promise<string | undefined> {
  await qmp.execute('stop')
  const paused = await qmp.execute<{status: string}>('query-status')
  await qmp.execute('cont')
  const running = await qmp.execute<{status: string}>('query-status')
  if (paused.status !== 'paused' || running.status !== 'running')
    return `QMP stop/cont: status ${paused.status} after stop, ${running.status} after cont`
  ctx.phase('stop/cont done')
  return undefined
}

export const hotplugRepeatCase: VmCase = {
  id: 'hotplug-repeat',
  title: 'NIC hot-unplug/plug repeated, with stop/cont after each plug',
  source: 'tp-qemu',
  set: 'extended',
  boundMs: (p) => 120_000 + (p.hotplugCycles ?? DEFAULT_HOTPLUG_CYCLES) * 15_000 + p.durationMs,
  async run(ctx: CaseContext): Promise<CaseOutcome> {
    const n = ctx.params.queues
    const cycles = ctx.params.hotplugCycles ?? DEFAULT_HOTPLUG_CYCLES
    const bed = await ctx.boot()
    const spare = bed.addTap('p', n, ctx.cleanup)
    let cur: NicSpec = bootNic(bed)
    let dev: string | undefined
    let virtio: string | undefined
    const done: Cycle[] = []
    for (let i = 1; i <= cycles && !ctx.signal.aborted; i++) {
      const next: NicSpec = {...cur, netdevId: `net${i}`, deviceId: `nic${i}`, tap: i % 2 ? spare : bed.tap}
      const r = await replug(bed, cur, next, {
        combined: n,
        signal: ctx.signal,
        phase: (l) => ctx.phase(`cycle ${i}/${cycles}: ${l}`),
      })
      const c: Cycle = {
        deletedMs: r.numbers.deletedMs as number,
        appearedMs: r.numbers.guestAppearedMs as number,
        pings: 0,
      }
      done.push(c)
      const bad = r.checks.find((x) => x.status !== 'PASS')
      if (bad || !r.dev) {
        c.failed = bad ? `${bad.title}: ${bad.evidence}` : 'no interface came'
        break
      }
      cur = next
      dev = r.dev
      virtio = r.virtio
      const sc = await stopCont(ctx, bed.qmp)
      if (sc) {
        c.failed = sc
        break
      }
      // busybox ping in the guest (the host may have none), to the bridge through the new NIC
      const ping = await bed.agent.exec(['ping', '-c', String(PINGS), '-i', '0.2', '-W', '2', bed.ipHost])
      c.pings = pingReceived(ping.stdout)
      if (c.pings === 0) {
        c.failed = `no reply from the host to ${PINGS} pings from the guest after stop/cont`
        break
      }
    }
    const failed = done.find((c) => c.failed)
    const ok = done.filter((c) => !c.failed)
    const deleted = ok.map((c) => c.deletedMs ?? 0)
    const appeared = ok.map((c) => c.appearedMs ?? 0)
    const pings = done.reduce((a, c) => a + c.pings, 0)
    const checks: PlanCheck[] = [
      {
        id: 'cycles',
        title: `${cycles} unplug/plug cycles, each with its checks, stop/cont and pings through the new NIC`,
        status: !failed && ok.length === cycles ? 'PASS' : 'FAIL',
        evidence:
          (failed ? `cycle ${done.indexOf(failed) + 1} failed: ${failed.failed}; ` : '') +
          `${ok.length} of ${cycles} cycles done; DEVICE_DELETED median ${medianMs(deleted)} ms (max ${Math.max(0, ...deleted)}), ` +
          `new interface median ${medianMs(appeared)} ms (max ${Math.max(0, ...appeared)}); ${pings} of ${done.length * PINGS} pings answered`,
      },
    ]
    const figures: CaseOutcome['figures'] = {
      numbers: {
        cycles,
        completed: ok.length,
        pingsAnswered: pings,
        deletedMedianMs: medianMs(deleted),
        appearedMedianMs: medianMs(appeared),
      },
      cycles: done,
    }
    if (!failed && dev) {
      ctx.phase(`${ctx.params.sessions} TCP_RR sessions to ${dev} after the last cycle`)
      const l = await judgedRrLoad(bed, dev, {
        sessions: ctx.params.sessions,
        durationMs: ctx.params.durationMs,
        signal: ctx.signal,
        queues: n,
        prefix: virtio ?? dev,
        label: `${ctx.params.sessions} TCP_RR sessions on ${dev} after ${cycles} cycles`,
      })
      checks.push(...l.checks)
      figures.loads = [l.figure]
    }
    const health = await guestKernelProblems(bed)
    checks.push(healthCheck(health))
    figures.kernelLog = health.problems
    return {checks, figures}
  },
}
