// Fedora plan, "hotplug": device_del + netdev_del of the guest NIC (DEVICE_DELETED within a
// bound), the guest's interface and qemu's PCI device and netdev gone; then netdev_add of a new
// multiqueue tap (on the same pinned-MAC bridge, in qemu's namespace) + device_add
// virtio-net-pci,mq=on,vectors=2N+2: a new interface in the guest, `ethtool -L combined N` on it,
// its address, TCP_RR sessions host<->guest, and every queue's interrupt lines of the new device rise.
import {queueMismatch, type VmBed} from '../../../testbed/vm.js'
import {guestSysfsQueues} from '../../../vm/guest-observe.js'
import {vectorsFor} from '../../../vm/qemu-args.js'
import {
  guestVirtioName,
  networkClients,
  pciDevices,
  plugNic,
  unplugNic,
  waitInterfaces,
  type NicSpec,
} from '../../../vm/hotplug.js'
import {guestKernelProblems, healthCheck} from '../health.js'
import {judgedRrLoad} from '../rr-load.js'
import type {CaseContext, CaseOutcome, PlanCheck, VmCase} from '../types.js'

/** DEVICE_DELETED came after ~0.25-0.8 s here under TCG; a guest that never releases the device FAILs here. */
export const UNPLUG_BOUND_MS = 20_000
/** The guest's interface goes or comes within this of the device's event. */
const GUEST_IF_BOUND_MS = 10_000

const check = (id: string, title: string, ok: boolean, evidence: string): PlanCheck => ({
  id,
  title,
  status: ok ? 'PASS' : 'FAIL',
  evidence,
})

const notReached = (id: string, title: string, why: string): PlanCheck => ({
  id,
  title,
  status: 'N/A',
  evidence: `not reached: ${why}`,
})

/** The NIC a vm testbed boots with (qemu-args.ts: netdev net0, device nic0 on the testbed's tap). */
export function bootNic(bed: VmBed): NicSpec {
  return {
    netdevId: 'net0',
    deviceId: 'nic0',
    tap: bed.tap,
    queues: bed.maxQueues,
    mac: bed.setup.mac,
  }
}

export interface ReplugResult {
  checks: PlanCheck[]
  /** the guest's interface of the new NIC, when it came */
  dev?: string
  virtio?: string
  /** timings (ms) and what the guest showed, for the case's figures */
  numbers: Record<string, number | string>
}

type ReplugTitles = ReturnType<typeof replugTitles>
type Note = (k: string, v: number | string | undefined) => void

const replugTitles = (from: NicSpec, to: NicSpec) => ({
  deleted: `device_del ${from.deviceId}: qemu reports DEVICE_DELETED`,
  gone: "the guest's interface disappears",
  hostGone: `query-pci and info network no longer show ${from.deviceId}/${from.netdevId}`,
  appeared: `device_add ${to.deviceId} (virtio-net-pci, mq=on, vectors=${vectorsFor(to.queues)}): a new interface in the guest`,
  hostShown: `query-pci and info network show ${to.deviceId} on tap ${to.tap}`,
  queues: `ethtool -L combined ${to.queues} on the new interface: guest channels, sysfs queues and the host tap agree`,
})

/**
 * Unplugs `from` and plugs `to` (same MAC), judging each stage; the new NIC ends with
 * `combined` queue pairs enabled in the guest and the testbed's guest address on its interface.
 */
export async function replug(
  bed: VmBed,
  from: NicSpec,
  to: NicSpec,
  opts: {combined: number; signal: AbortSignal; phase: (l: string) => void; unplugBoundMs?: number},
): Promise<ReplugResult> {
  const numbers: ReplugResult['numbers'] = {}
  const note: Note = (k, v) => {
    if (v !== undefined) numbers[k] = v
  }
  const titles = replugTitles(from, to)
  opts.phase(`device_del ${from.deviceId}`)
  const unplugged = await unplugPhase(bed, from, titles, note, opts.unplugBoundMs ?? UNPLUG_BOUND_MS)
  if (unplugged.error) return {checks: unplugged.checks, numbers}
  opts.phase(`netdev_add ${to.netdevId} (tap ${to.tap}, ${to.queues} queues) + device_add ${to.deviceId}`)
  const plugged = await plugPhase(bed, to, titles, note)
  const checks = [...unplugged.checks, ...plugged.checks]
  if (!plugged.dev) return {checks, numbers}
  const {dev, virtio} = plugged
  opts.phase(`ethtool -L ${dev} combined ${opts.combined}`)
  checks.push(await plugQueuesCheck(bed, to, dev, opts.combined, titles))
  await bed.agent.exec(['ip', 'link', 'set', dev, 'up'])
  const addr = await bed.agent.exec(['ip', 'addr', 'replace', `${bed.ipGuest}/${bed.prefix}`, 'dev', dev])
  if (addr.status !== 0) throw new Error(`ip addr on the guest's ${dev}: ${addr.stderr.trim()}`)
  return {checks, dev, virtio, numbers}
}

/**
 * device_del of `from`: qemu's DEVICE_DELETED, the guest's interface gone, and qemu's lists
 * without it; when the unplug fails the later stages are N/A with its error.
 */
async function unplugPhase(
  bed: VmBed,
  from: NicSpec,
  titles: ReplugTitles,
  note: Note,
  boundMs: number,
): Promise<{checks: PlanCheck[]; error?: string}> {
  const {qmp, agent} = bed
  const before = (await waitInterfaces(agent, () => true, 0)).ifs.find((i) => i.mac === from.mac)
  const un = await unplugNic(qmp, from, boundMs)
  note('deletedMs', un.deletedMs)
  const checks = [
    check(
      'unplug-deleted',
      titles.deleted,
      un.deletedMs !== undefined,
      un.deletedMs !== undefined ? `after ${un.deletedMs} ms` : (un.error ?? 'no event'),
    ),
  ]
  if (un.error) {
    for (const [id, t] of [
      ['unplug-guest', titles.gone],
      ['unplug-host', titles.hostGone],
      ['plug-guest', titles.appeared],
    ])
      checks.push(notReached(id, t, un.error))
    return {checks, error: un.error}
  }
  const gone = await waitInterfaces(agent, (ifs) => !ifs.some((i) => i.mac === from.mac), GUEST_IF_BOUND_MS)
  note('guestGoneMs', gone.ms)
  checks.push(
    check(
      'unplug-guest',
      titles.gone,
      gone.ms !== undefined,
      `${before?.name ?? '(no interface with the MAC before)'} ${gone.ms !== undefined ? `gone after ${gone.ms} ms` : `still there after ${GUEST_IF_BOUND_MS / 1000} s`}; interfaces now ${gone.ifs.map((i) => i.name).join(', ')}`,
    ),
  )
  const pci = await pciDevices(qmp)
  const clients = await networkClients(qmp)
  const stale = [
    ...pci.filter((d) => d.qdevId === from.deviceId).map((d) => `PCI ${d.bus}:${d.slot} ${d.qdevId}`),
    ...clients
      .filter((c) => c.name === from.deviceId || c.name === from.netdevId)
      .map((c) => `${c.name} (${c.type})`),
  ]
  checks.push(
    check(
      'unplug-host',
      titles.hostGone,
      stale.length === 0,
      stale.length
        ? `still listed: ${[...new Set(stale)].join(', ')}`
        : `${pci.length} PCI devices (${pci
            .map((d) => d.qdevId)
            .filter(Boolean)
            .join(', ')}), network clients: ${[...new Set(clients.map((c) => c.name))].join(', ') || 'none'}`,
    ),
  )
  return {checks}
}

/** netdev_add + device_add of `to`: a new interface in the guest with N queue pairs, and qemu's lists showing it. */
async function plugPhase(
  bed: VmBed,
  to: NicSpec,
  titles: ReplugTitles,
  note: Note,
): Promise<{checks: PlanCheck[]; dev?: string; virtio?: string}> {
  const {qmp, agent} = bed
  const n = to.queues
  await plugNic(qmp, to)
  const came = await waitInterfaces(agent, (ifs) => ifs.some((i) => i.mac === to.mac), GUEST_IF_BOUND_MS)
  note('guestAppearedMs', came.ms)
  const dev = came.ifs.find((i) => i.mac === to.mac)?.name
  if (!dev) {
    const evidence = `no interface with ${to.mac} after ${GUEST_IF_BOUND_MS / 1000} s`
    return {checks: [check('plug-guest', titles.appeared, false, evidence)]}
  }
  const virtio = await guestVirtioName(agent, dev)
  const probe = await agent.channelsGet(dev)
  note('device', `${dev} (${virtio})`)
  note('combinedAtProbe', probe.combined)
  const pci = await pciDevices(qmp)
  const clients = await networkClients(qmp)
  const shown = {
    pci: pci.find((d) => d.qdevId === to.deviceId),
    nic: clients.some((c) => c.name === to.deviceId && c.type === 'nic'),
    netdev: clients.filter((c) => c.name === to.netdevId && c.type === 'tap').length,
  }
  const checks = [
    check(
      'plug-guest',
      titles.appeared,
      probe.maxCombined === n,
      `${dev} (${virtio}) after ${came.ms} ms, max combined ${probe.maxCombined}, ${probe.combined} enabled at probe`,
    ),
    check(
      'plug-host',
      titles.hostShown,
      !!shown.pci && shown.nic && shown.netdev === n,
      `PCI ${shown.pci ? `${shown.pci.bus}:${shown.pci.slot} ${shown.pci.desc}` : 'absent'}, nic ${shown.nic ? 'listed' : 'absent'}, ${shown.netdev} tap queue clients of ${to.netdevId}`,
    ),
  ]
  return {checks, dev, virtio}
}

/** `combined` queue pairs set on the plugged NIC and read back by its three witnesses. */
async function plugQueuesCheck(
  bed: VmBed,
  to: NicSpec,
  dev: string,
  combined: number,
  titles: ReplugTitles,
): Promise<PlanCheck> {
  const {agent} = bed
  const n = to.queues
  await agent.channelsSet({dev, combined})
  const ch = await agent.channelsGet(dev)
  const sysfs = await guestSysfsQueues(agent, dev)
  const tap = bed.tapQueuesOf(to.tap)
  const mismatch = queueMismatch(n, n, {combined: ch.combined, sysfs, tap})
  return check(
    'plug-queues',
    titles.queues,
    mismatch === undefined,
    mismatch !== undefined
      ? `${combined !== n ? `set combined ${combined}: ` : ''}${mismatch}`
      : `combined ${ch.combined}, sysfs rx ${sysfs.rx} / tx ${sysfs.tx}, tap ${to.tap} ${tap.numqueues} attached, ${tap.numdisabled} detached`,
  )
}

export interface HotplugOptions {
  /**
   * The queue pairs enabled on the plugged NIC (default: all N). Fewer is a broken setup the
   * per-queue checks must catch: the tests use it to show that they fail.
   */
  combinedAfterPlug?: (n: number) => number
}

export function makeHotplugCase(o: HotplugOptions = {}): VmCase {
  return {
    id: 'hotplug',
    title: 'NIC hot-unplug and hot-plug of a multiqueue virtio-net device',
    source: 'fedora',
    set: 'default',
    boundMs: (p) => 150_000 + p.durationMs,
    async run(ctx: CaseContext): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const bed = await ctx.boot()
      const from = bootNic(bed)
      const to: NicSpec = {...from, netdevId: 'net1', deviceId: 'nic1', tap: bed.addTap('p', n, ctx.cleanup)}
      const combined = o.combinedAfterPlug?.(n) ?? n
      const r = await replug(bed, from, to, {
        combined,
        signal: ctx.signal,
        phase: (l) => ctx.phase(l),
      })
      if (!r.dev)
        return {
          checks: [...r.checks, healthCheck(await guestKernelProblems(bed))],
          figures: {numbers: r.numbers},
        }
      ctx.phase(`${ctx.params.sessions} TCP_RR sessions to ${r.dev}`)
      const l = await judgedRrLoad(bed, r.dev, {
        sessions: ctx.params.sessions,
        durationMs: ctx.params.durationMs,
        signal: ctx.signal,
        queues: n,
        enabled: combined,
        prefix: r.virtio ?? r.dev,
        label: `${ctx.params.sessions} TCP_RR sessions at ${combined} queues on the plugged ${r.dev}`,
      })
      const health = await guestKernelProblems(bed)
      return {
        checks: [...r.checks, ...l.checks, healthCheck(health)],
        figures: {
          numbers: r.numbers,
          loads: [l.figure],
          kernelLog: health.problems,
        },
      }
    },
  }
}

export const hotplugCase = makeHotplugCase()
