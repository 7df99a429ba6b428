// Fedora plan, "boot & reboot": a guest booted with N queue pairs sees a virtio-net device whose
// channels allow N, with one interrupt line per queue and direction (2N+1 vectors given: 2N+2).
import {GUEST_DEV, type VmBed} from '../../../testbed/vm.js'
import {missingQueueLines, readGuestFacts} from '../guest-facts.js'
import type {CaseOutcome, PlanCheck, VmCase} from '../types.js'

/** The checks any freshly (re)booted default guest must pass; `when` prefixes the titles. */
export async function bootChecks(bed: VmBed, n: number, when: string): Promise<PlanCheck[]> {
  const f = await readGuestFacts(bed)
  const driver = f.snapshot.driver?.driver ?? 'unknown'
  const missing = missingQueueLines(f.snapshot, n)
  const shared = f.snapshot.queueInterrupts.filter((q) => q.queue === undefined).map((q) => q.name)
  return [
    {
      id: `${when}-driver`,
      title: `${when}: the guest NIC is a virtio-net device`,
      status: driver === 'virtio_net' ? 'PASS' : 'FAIL',
      evidence: `driver ${driver}${f.snapshot.virtioName ? ` (${f.snapshot.virtioName})` : ''}`,
    },
    {
      id: `${when}-max-combined`,
      title: `${when}: max combined channels = ${n}`,
      status: f.channels.maxCombined === n ? 'PASS' : 'FAIL',
      evidence: `max combined ${f.channels.maxCombined}, current ${f.channels.combined}`,
    },
    {
      id: `${when}-irq-lines`,
      title: `${when}: one interrupt line per queue and direction`,
      status: missing.length === 0 ? 'PASS' : 'FAIL',
      evidence:
        missing.length === 0
          ? `${f.snapshot.queueInterrupts.length} lines: ${f.snapshot.queueInterrupts.map((q) => q.name).join(', ')}`
          : `missing ${missing.join(', ')}${shared.length ? `; shared line ${shared.join(', ')}` : ''}`,
    },
  ]
}

export const bootCase: VmCase = {
  id: 'boot',
  title: 'boot & reboot with N queue pairs',
  source: 'fedora',
  set: 'default',
  boundMs: () => 180_000,
  async run(ctx): Promise<CaseOutcome> {
    const n = ctx.params.queues
    const bed = await ctx.shared()
    ctx.phase('reading the booted guest')
    const checks = await bootChecks(bed, n, 'boot')
    ctx.phase('rebooting the guest (its own reboot -f)')
    const seen = await bed.guest.reboot({how: 'guest'})
    checks.push({
      id: 'reboot',
      title: "the guest's reboot: qemu reports RESET and the agent answers again",
      status: 'PASS',
      evidence: `RESET after ${seen.resetMs} ms, agent back after ${seen.backMs} ms (${seen.resets} RESET events, connection ${seen.agentConnections})`,
    })
    checks.push(...(await bootChecks(bed, n, 'reboot')))
    // The shared guest is left as found: N queue pairs (a guest enables min(N, vCPUs) at probe).
    const ch = await bed.agent.channelsGet(GUEST_DEV)
    if (ch.combined !== n) await bed.setQueueCount(n)
    return {
      checks,
      figures: {
        numbers: {bootMs: bed.setup.bootMs, rebootMs: seen.backMs, rebootResetMs: seen.resetMs},
        accel: bed.setup.accel,
      },
    }
  },
}
