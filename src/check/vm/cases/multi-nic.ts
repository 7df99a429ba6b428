// tp-qemu's extremes, several NICs (issue 14 point 6): one guest with several multiqueue
// virtio-net NICs (4 queue pairs each, each on its own tap on the bridge). Every NIC: max
// combined 4, one interrupt line per queue, `ethtool -L combined 4` read back from the guest and
// its tap, and frames from the host through its tap on every one of its RX queues.
import {runVmGen} from '../../../gen/vm.js'
import type {VmBed} from '../../../testbed/vm.js'
import {guestInterfaces} from '../../../vm/hotplug.js'
import {missingQueueLines, readGuestFacts} from '../guest-facts.js'
import {guestKernelProblems, healthCheck} from '../health.js'
import type {CaseContext, CaseOutcome, PlanCheck, VmCase} from '../types.js'
import {genFigures, toGuestCheck} from './gen.js'

export interface MultiNicOptions {
  /** NICs in the guest (default 3) */
  nics?: number
  /** queue pairs per NIC (default 4) */
  queues?: number
}

async function nicChecks(
  ctx: CaseContext,
  bed: VmBed,
  nic: {tap: string; mac: string; dev: string},
  q: number,
): Promise<{checks: PlanCheck[]; pps: number[]}> {
  const {agent} = bed.guest
  const p = (c: PlanCheck): PlanCheck => ({...c, id: `${nic.dev}-${c.id}`, title: `${nic.dev}: ${c.title}`})
  await agent.exec(['ip', 'link', 'set', nic.dev, 'up'])
  const f = await readGuestFacts(bed, nic.dev)
  const missing = missingQueueLines(f.snapshot, q)
  await agent.channelsSet({dev: nic.dev, combined: q})
  const ch = await agent.channelsGet(nic.dev)
  const tap = bed.tapQueuesOf(nic.tap)
  ctx.phase(`gen into ${nic.dev} through ${nic.tap}`)
  const to = await runVmGen(
    {
      agent,
      netns: bed.ns,
      tap: nic.tap,
      bridge: bed.bridge,
      guestDev: nic.dev,
      guestMac: nic.mac,
      ipA: bed.ipHost,
      ipB: bed.ipGuest,
    },
    {direction: 'to-guest', frameSize: 64, durationMs: ctx.params.durationMs},
    {signal: ctx.signal},
  )
  return {
    checks: [
      p({
        id: 'max-combined',
        title: `max combined ${q}, one interrupt line per queue and direction`,
        status: f.channels.maxCombined === q && missing.length === 0 ? 'PASS' : 'FAIL',
        evidence: `max combined ${f.channels.maxCombined} (${f.snapshot.virtioName ?? '?'}); ${missing.length ? `missing ${missing.join(', ')}` : `${f.snapshot.queueInterrupts.length} queue lines`}`,
      }),
      p({
        id: 'set',
        title: `ethtool -L combined ${q}: the guest and the tap agree`,
        status: ch.combined === q && tap.numqueues === q && tap.numdisabled === 0 ? 'PASS' : 'FAIL',
        evidence: `combined ${ch.combined}; tap ${nic.tap} ${tap.numqueues} attached, ${tap.numdisabled} detached`,
      }),
      p(toGuestCheck(to, q)),
    ],
    pps: genFigures(to).perQueuePps,
  }
}

export function makeMultiNicCase(o: MultiNicOptions = {}): VmCase {
  const nics = o.nics ?? 3
  const q = o.queues ?? 4
  return {
    id: 'multi-nic',
    title: `${nics} multiqueue NICs in one guest, ${q} queue pairs each`,
    source: 'tp-qemu',
    set: 'extended',
    boundMs: (p) => 120_000 + nics * (p.durationMs + 15_000),
    async run(ctx): Promise<CaseOutcome> {
      ctx.phase(`booting ${nics} NICs with ${q} queue pairs each`)
      const bed = await ctx.boot({queues: q, extraNics: nics - 1})
      const ifs = await guestInterfaces(bed.agent)
      const wanted = [{tap: bed.tap, mac: bed.setup.mac}, ...bed.extraNics]
      const found = wanted.map((w) => ({...w, dev: ifs.find((i) => i.mac === w.mac)?.name}))
      const checks: PlanCheck[] = [
        {
          id: 'nics',
          title: `the guest has ${nics} virtio-net interfaces, one per NIC`,
          status: found.every((f) => f.dev) ? 'PASS' : 'FAIL',
          evidence: found.map((f) => `${f.mac} ${f.dev ?? 'absent'} (tap ${f.tap})`).join(', '),
        },
      ]
      const pps: Record<string, number[]> = {}
      for (const f of found) {
        if (!f.dev) continue
        const r = await nicChecks(ctx, bed, {...f, dev: f.dev}, q)
        checks.push(...r.checks)
        pps[f.dev] = r.pps
      }
      const health = await guestKernelProblems(bed)
      checks.push(healthCheck(health))
      return {
        checks,
        figures: {perQueuePps: pps, numbers: {nics, queues: q}, kernelLog: health.problems},
      }
    },
  }
}

export const multiNicCase = makeMultiNicCase()
