// tp-qemu boot_with_different_vectors' `pci=nomsi` variant (--extended): a guest kernel told not
// to use MSI puts the NIC on one INTx line, and multiqueue must still carry traffic on every
// queue: each queue's ethtool -S counter rises under TCP_RR sessions (the interrupt check has no
// per-queue line to read and says so).
import {GUEST_DEV} from '../../../testbed/vm.js'
import {readVectorFacts} from '../guest-irq.js'
import {judgedRrLoad} from '../rr-load.js'
import type {CaseOutcome, VmCase} from '../types.js'
import {judgeIntx} from './vectors.js'

export const vectorsNomsiCase: VmCase = {
  id: 'vectors_nomsi',
  title: 'pci=nomsi: the NIC on INTx still carries traffic on every queue',
  source: 'tp-qemu',
  set: 'extended',
  boundMs: (p) => 90_000 + p.durationMs,
  async run(ctx): Promise<CaseOutcome> {
    const n = ctx.params.queues
    ctx.phase('booting a guest with pci=nomsi')
    const bed = await ctx.boot({append: ['pci=nomsi']})
    const queues = Math.min(n, bed.setup.vcpus)
    await bed.setQueueCount(queues)
    const facts = await readVectorFacts(bed, GUEST_DEV)
    const checks = [
      judgeIntx(facts, bed.virtio, 'nomsi-intx', 'pci=nomsi: no MSI vectors, the NIC on an IO-APIC line'),
    ]
    ctx.phase(`${ctx.params.sessions} TCP_RR sessions on ${queues} queues over INTx`)
    const load = await judgedRrLoad(bed, GUEST_DEV, {
      sessions: ctx.params.sessions,
      durationMs: ctx.params.durationMs,
      signal: ctx.signal,
      queues,
      prefix: 'pci=nomsi',
      label: `${ctx.params.sessions} TCP_RR sessions, pci=nomsi`,
    })
    return {checks: [...checks, ...load.checks], figures: {loads: [load.figure]}}
  },
}
