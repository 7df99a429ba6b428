// What tp-qemu's vector and affinity checks read in a guest, through the agent (no lspci, no
// ssh): the NIC's PCI config space and the vectors the guest allocated (msi_irqs), the interrupt
// table, each queue interrupt's affinity_hint and smp_affinity, and each TX queue's XPS mask.
import {parseInterrupts, type InterruptTable} from '../../observe/interrupts.js'
import {parseCpuMask} from '../../observe/sysfs.js'
import type {VmBed} from '../../testbed/vm.js'
import {msixCapability, type MsixCapability} from '../../vm/pci-config.js'
import type {AgentExecResult} from '../../vm/agent-ops.js'

async function sh(bed: VmBed, script: string, ...args: string[]): Promise<AgentExecResult> {
  return bed.agent.exec(['sh', '-c', script, 'sh', ...args], 10_000)
}

export interface VectorFacts {
  /** the NIC's PCI address in the guest ("0000:00:04.0") */
  pci: string
  msix: MsixCapability | {error: string}
  /** the entries of /sys/bus/pci/devices/PCI/msi_irqs: the vectors the guest allocated */
  msiIrqs: number[]
  interrupts: InterruptTable
}

export async function readVectorFacts(bed: VmBed, dev: string): Promise<VectorFacts> {
  const link = await sh(bed, 'readlink -f "/sys/class/net/$1/device/.."', dev)
  const pci = link.stdout.trim().split('/').pop() ?? ''
  if (!/^[\da-f]{4}:[\da-f]{2}:[\da-f]{2}\.\d$/.test(pci))
    throw new Error(
      `cannot find the PCI device of ${dev} in the guest: ${link.stdout.trim() || link.stderr.trim()}`,
    )
  const {agent} = bed.guest
  const cfg = await agent.readFile(`/sys/bus/pci/devices/${pci}/config`)
  const bytes = Buffer.from(cfg.data, cfg.encoding === 'base64' ? 'base64' : 'utf8')
  // No msi_irqs directory at all is a device on INTx.
  const msi = await agent.listDir(`/sys/bus/pci/devices/${pci}/msi_irqs`).catch((err: {errno?: number}) => {
    if (err.errno === 2) return {entries: []}
    throw err
  })
  const irq = await agent.readFile('/proc/interrupts')
  return {
    pci,
    msix: msixCapability(bytes),
    msiIrqs: msi.entries.map((e) => Number(e.name)).sort((a, b) => a - b),
    interrupts: parseInterrupts(irq.data),
  }
}

/** The interrupt lines whose chip is the IO-APIC (INTx) and whose actions name `virtio`. */
export function intxLines(t: InterruptTable, virtio: string) {
  return t.lines.filter((l) => /IO-APIC/.test(l.chip) && l.name.split(/,\s*/).includes(virtio))
}

export interface IrqAffinity {
  irq: string
  /** affinity_hint: [] when the driver gave none (an all-zero mask) */
  hint: number[]
  affinity: number[]
}

/** affinity_hint and smp_affinity of each irq, one agent call. */
export async function readIrqAffinity(bed: VmBed, irqs: string[]): Promise<IrqAffinity[]> {
  const r = await sh(
    bed,
    'for i in "$@"; do echo "$i $(cat /proc/irq/$i/affinity_hint) $(cat /proc/irq/$i/smp_affinity)"; done',
    ...irqs,
  )
  return parseIrqAffinity(r.stdout)
}

/** Lines "IRQ HINTMASK AFFINITYMASK" (the script above). */
export function parseIrqAffinity(text: string): IrqAffinity[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length === 3 && /^\d+$/.test(w[0]))
    .map(([irq, hint, aff]) => ({irq, hint: parseCpuMask(hint), affinity: parseCpuMask(aff)}))
}

/** Each TX queue's XPS CPUs: index = queue. */
export async function readXps(bed: VmBed, dev: string): Promise<number[][]> {
  const r = await sh(
    bed,
    'for q in /sys/class/net/$1/queues/tx-*; do echo "${q##*/tx-} $(cat $q/xps_cpus)"; done',
    dev,
  )
  return parseXps(r.stdout)
}

/** Lines "QUEUE MASK" -> CPUs per queue (a queue without a line gets []). */
export function parseXps(text: string): number[][] {
  const out: number[][] = []
  for (const l of text.split('\n')) {
    const m = /^(\d+)\s+([\da-f,]+)$/i.exec(l.trim())
    if (m) out[Number(m[1])] = parseCpuMask(m[2])
  }
  return Array.from(out, (c) => c ?? [])
}

/** Writes XPS masks per TX queue (sysfs acts on each write); the previous masks are the undo. */
export async function writeXps(bed: VmBed, dev: string, masks: string[]): Promise<void> {
  for (const [q, mask] of masks.entries())
    await bed.agent.writeFile(`/sys/class/net/${dev}/queues/tx-${q}/xps_cpus`, mask)
}
