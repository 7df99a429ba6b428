// tp-qemu boot_with_different_vectors: the NIC's MSI-X table size (from the capability in its
// config space) is the `vectors` qemu was given, 2N+2, and the guest allocated 2N+1 of them (a
// vector per queue and direction plus config; the control queue takes none). With scarce vectors
// (N+1) virtio falls back to one shared `virtioX-virtqueues` line, and mqbench's per-queue
// interrupt check must FAIL on it: that FAIL is this case's PASS. vectors=0 gives INTx.
import {GUEST_DEV, type VmBed} from '../../../testbed/vm.js'
import {vectorsFor, vectorsInUse} from '../../../vm/qemu-args.js'
import {intxLines, readVectorFacts, type VectorFacts} from '../guest-irq.js'
import {missingQueueLines, readGuestFacts} from '../guest-facts.js'
import {loadFigure} from '../figures.js'
import {detects, verdict} from '../judge.js'
import {perQueueChecks, rrLoad} from '../rr-load.js'
import type {CaseContext, CaseOutcome, PlanCheck, VmCase} from '../types.js'

const msixText = (f: VectorFacts) =>
  'error' in f.msix
    ? f.msix.error
    : `MSI-X table size ${f.msix.tableSize} (cap at 0x${f.msix.offset.toString(16)}, ${f.msix.enabled ? 'enabled' : 'disabled'})`

/** The vectors a device was given against what its config space offers and the guest took. */
export function judgeVectors(f: VectorFacts, given: number, n: number, prefix = ''): PlanCheck[] {
  const table = 'error' in f.msix ? undefined : f.msix.tableSize
  const want = vectorsInUse(n)
  return [
    verdict(
      `${prefix}msix-table`,
      `the MSI-X table in config space offers the ${given} vectors given`,
      table === given,
      `${f.pci}: ${msixText(f)}`,
    ),
    verdict(
      `${prefix}msi-allocated`,
      `the guest allocated ${want} vectors (one per queue and direction, plus config)`,
      f.msiIrqs.length === want,
      `${f.msiIrqs.length} entries in msi_irqs (${f.msiIrqs.join(', ') || 'none'})`,
    ),
  ]
}

/** Scarce vectors: one shared `virtioX-virtqueues` line and no per-queue one. */
export function judgeShared(f: VectorFacts, virtio: string, given: number): PlanCheck {
  const names = f.interrupts.lines.filter((l) => l.name.startsWith(`${virtio}-`)).map((l) => l.name)
  const shared = names.filter((n) => n === `${virtio}-virtqueues`)
  const perQueue = names.filter((n) => /-(input|output)\.\d+$/.test(n))
  return verdict(
    'scarce-shared',
    `vectors=${given}: the queues share one ${virtio}-virtqueues interrupt`,
    shared.length === 1 && perQueue.length === 0,
    `${virtio} lines: ${names.join(', ') || 'none'}; ${f.msiIrqs.length} vectors allocated`,
  )
}

/** vectors=0: no MSI-X, nothing in msi_irqs, the NIC on an IO-APIC line. */
export function judgeIntx(
  f: VectorFacts,
  virtio: string,
  id = 'intx',
  title = 'vectors=0: the NIC interrupts through INTx (no MSI vectors, an IO-APIC line)',
): PlanCheck {
  const lines = intxLines(f.interrupts, virtio)
  const msixOn = !('error' in f.msix) && f.msix.enabled
  return verdict(
    id,
    title,
    !msixOn && f.msiIrqs.length === 0 && lines.length > 0,
    `${msixText(f)}; ${f.msiIrqs.length} entries in msi_irqs; IO-APIC lines: ${
      lines.map((l) => `${l.irq} ${l.hwirq} ${l.name}`.replace(/\s+/g, ' ')).join('; ') ||
      `none carries ${virtio}`
    }`,
  )
}

export interface VectorsOptions {
  /** vectors of the checked guest; unset: the shared guest with qemu-args' 2N+2 */
  vectors?: (n: number) => number
  /** vectors of the scarce guest (default N+1) */
  scarce?: (n: number) => number
  /** boot the vectors=0 guest (default true) */
  intx?: boolean
}

async function ownOrShared(ctx: CaseContext, vectors?: number): Promise<VmBed> {
  return vectors === undefined ? ctx.shared() : ctx.boot({vectors})
}

export function makeVectorsCase(o: VectorsOptions = {}): VmCase {
  return {
    id: 'vectors',
    title: 'MSI-X vectors: 2N+2 given, 2N+1 used; scarce vectors share one line; vectors=0 is INTx',
    source: 'tp-qemu',
    set: 'default',
    boundMs: (p) => 150_000 + 3 * p.durationMs,
    async run(ctx): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const checks: PlanCheck[] = []
      const given = o.vectors?.(n) ?? vectorsFor(n)
      ctx.phase(`reading config space and msi_irqs (vectors ${given})`)
      const bed = await ownOrShared(ctx, o.vectors?.(n))
      const facts = await readVectorFacts(bed, GUEST_DEV)
      checks.push(...judgeVectors(facts, given, n))
      const lines = (await readGuestFacts(bed)).snapshot
      const missing = missingQueueLines(lines, n)
      checks.push(
        verdict(
          'irq-lines',
          'one interrupt line per queue and direction',
          missing.length === 0,
          missing.length
            ? `missing ${missing.join(', ')}`
            : lines.queueInterrupts.map((q) => q.name).join(', '),
        ),
      )
      const figures: Record<string, unknown> = {
        given,
        tableSize: 'error' in facts.msix ? null : facts.msix.tableSize,
      }
      figures.allocated = facts.msiIrqs.length

      const scarce = o.scarce?.(n) ?? n + 1
      ctx.phase(`booting a guest with vectors=${scarce}`)
      const sb = await ctx.boot({vectors: scarce})
      const sf = await readVectorFacts(sb, GUEST_DEV)
      checks.push(judgeShared(sf, sb.virtio, scarce))
      ctx.phase(`${ctx.params.sessions} TCP_RR sessions on the scarce-vector guest`)
      await sb.testbed.setQueueCount(Math.min(n, sb.guest.setup.vcpus))
      const load = await rrLoad(sb, GUEST_DEV, {
        sessions: ctx.params.sessions,
        durationMs: ctx.params.durationMs,
        signal: ctx.signal,
      })
      const irq = perQueueChecks(GUEST_DEV, n, sb.guest.setup.vcpus, load).find(
        (c) => c.id === 'irq-per-queue',
      )
      checks.push(
        detects(
          'scarce-detected',
          'mqbench notices the shared interrupt (its per-queue interrupt check FAILs)',
          irq,
          `vectors=${scarce}`,
        ),
      )
      figures.scarce = {vectors: scarce, allocated: sf.msiIrqs.length}
      figures.loads = [
        loadFigure(
          {
            label: `${ctx.params.sessions} TCP_RR sessions, vectors=${scarce} (one shared interrupt)`,
            workloads: ['tcp_rr'],
            sessions: ctx.params.sessions,
            queues: load.queueCount,
            durationMs: ctx.params.durationMs,
            transactionsPerSecond: load.transactionsPerSecond,
          },
          load,
        ),
      ]
      await sb.testbed.close()

      if (o.intx ?? true) {
        ctx.phase('booting a guest with vectors=0')
        const ib = await ctx.boot({vectors: 0})
        checks.push(judgeIntx(await readVectorFacts(ib, GUEST_DEV), ib.virtio))
        await ib.testbed.close()
      }
      return {checks, figures}
    },
  }
}

export const vectorsCase = makeVectorsCase()
