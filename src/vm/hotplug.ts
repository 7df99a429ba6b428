// NIC hot-unplug and hot-plug through QMP, and what the host and the guest show of it:
// device_del waits for DEVICE_DELETED (the guest must release the device: ACPI PCI hotplug, so a
// guest that never answers leaves it in place), then netdev_del; netdev_add tap + device_add
// virtio-net-pci plugs a new one, whose interface the guest names as it likes (found by its MAC).
import {setTimeout as sleep} from 'node:timers/promises'
import type {AgentFacade} from './agent-ops.js'
import type {QmpClient} from './qmp.js'
import {vectorsFor} from './qemu-args.js'

type Qmp = Pick<QmpClient, 'execute' | 'waitEvent'>
type Agent = AgentFacade

/** A NIC as QMP plugs it: a tap netdev and the virtio-net-pci device on it. */
export interface NicSpec {
  netdevId: string
  deviceId: string
  /** a tap that exists in qemu's namespace (multi_queue when queues > 1), already on the bridge */
  tap: string
  queues: number
  mac: string
}

/** The netdev_add and device_add arguments for `nic` (mq=on and 2N+2 vectors for N > 1). */
export function plugArgs(nic: NicSpec): {netdev: Record<string, unknown>; device: Record<string, unknown>} {
  return {
    netdev: {
      type: 'tap',
      id: nic.netdevId,
      ifname: nic.tap,
      script: 'no',
      downscript: 'no',
      queues: nic.queues,
      vhost: false,
    },
    device: {
      driver: 'virtio-net-pci',
      id: nic.deviceId,
      netdev: nic.netdevId,
      mac: nic.mac,
      ...(nic.queues > 1 ? {mq: 'on', vectors: vectorsFor(nic.queues)} : {}),
    },
  }
}

export interface UnplugOutcome {
  /** ms from device_del to DEVICE_DELETED; undefined when it never came within the bound */
  deletedMs?: number
  /** why the unplug did not complete (one line) */
  error?: string
}

/**
 * device_del, then DEVICE_DELETED for it within `boundMs`, then netdev_del. A device that is
 * never deleted is reported (error) and its netdev left alone: qemu still uses it.
 */
export async function unplugNic(
  qmp: Qmp,
  ids: {deviceId: string; netdevId: string},
  boundMs: number,
): Promise<UnplugOutcome> {
  const t0 = performance.now()
  // Listening before the command: the event may come before device_del's own answer.
  const deleted = qmp
    .waitEvent('DEVICE_DELETED', boundMs, (e) => e.data?.device === ids.deviceId)
    .then(
      () => true,
      () => false,
    )
  try {
    await qmp.execute('device_del', {id: ids.deviceId})
  } catch (err) {
    return {error: `device_del ${ids.deviceId}: ${(err as Error).message}`}
  }
  if (!(await deleted))
    return {error: `qemu sent no DEVICE_DELETED for ${ids.deviceId} within ${boundMs / 1000} s of device_del`}
  const deletedMs = Math.round(performance.now() - t0)
  try {
    await qmp.execute('netdev_del', {id: ids.netdevId})
  } catch (err) {
    return {deletedMs, error: `netdev_del ${ids.netdevId}: ${(err as Error).message}`}
  }
  return {deletedMs}
}

/** netdev_add + device_add of `nic`. */
export async function plugNic(qmp: Qmp, nic: NicSpec): Promise<void> {
  const a = plugArgs(nic)
  await qmp.execute('netdev_add', a.netdev)
  try {
    await qmp.execute('device_add', a.device)
  } catch (err) {
    await qmp.execute('netdev_del', {id: nic.netdevId}).catch(() => {})
    throw err
  }
}

export interface PciDevice {
  bus: number
  slot: number
  qdevId: string
  desc: string
}

interface QueryPciBus {
  bus: number
  devices: Array<{
    bus: number
    slot: number
    qdev_id?: string
    class_info?: {desc?: string}
    pci_bridge?: {devices?: QueryPciBus['devices']}
  }>
}

/** query-pci's answer as one flat list (devices behind bridges too). */
export function flattenPci(buses: QueryPciBus[]): PciDevice[] {
  const out: PciDevice[] = []
  const walk = (devs: QueryPciBus['devices']) => {
    for (const d of devs) {
      out.push({bus: d.bus, slot: d.slot, qdevId: d.qdev_id ?? '', desc: d.class_info?.desc ?? ''})
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices)
    }
  }
  for (const b of buses) walk(b.devices)
  return out
}

export async function pciDevices(qmp: Qmp): Promise<PciDevice[]> {
  return flattenPci(await qmp.execute<QueryPciBus[]>('query-pci'))
}

/**
 * The client names in HMP `info network` ("nic0: index=0,type=nic,..." and the backend lines
 * " \ net0: index=0,type=tap,..."): qemu 7.2 has no QMP command that lists netdevs.
 */
export function parseInfoNetwork(text: string): Array<{name: string; type: string}> {
  const out: Array<{name: string; type: string}> = []
  for (const m of text.matchAll(/^[\s\\]*([\w.-]+): index=\d+,type=(\w+)/gm))
    out.push({name: m[1], type: m[2]})
  return out
}

export async function networkClients(qmp: Qmp): Promise<Array<{name: string; type: string}>> {
  return parseInfoNetwork(
    await qmp.execute<string>('human-monitor-command', {'command-line': 'info network'}),
  )
}

/** The guest's network interfaces by name, with their MAC. */
export async function guestInterfaces(agent: Agent): Promise<Array<{name: string; mac: string}>> {
  const r = await agent.listDir('/sys/class/net')
  const out: Array<{name: string; mac: string}> = []
  for (const e of r.entries) {
    const mac = await agent
      .readFile(`/sys/class/net/${e.name}/address`)
      .then((a) => a.data.trim().toLowerCase())
      .catch(() => '')
    out.push({name: e.name, mac})
  }
  return out
}

/**
 * Polls the guest every 100 ms until `done` holds for its interfaces or `boundMs` passes; gives
 * the last list read and the time it took (undefined at the bound).
 */
export async function waitInterfaces(
  agent: Agent,
  done: (ifs: Array<{name: string; mac: string}>) => boolean,
  boundMs: number,
  signal?: AbortSignal,
): Promise<{ifs: Array<{name: string; mac: string}>; ms?: number}> {
  const t0 = performance.now()
  for (;;) {
    const ifs = await guestInterfaces(agent)
    const ms = Math.round(performance.now() - t0)
    if (done(ifs)) return {ifs, ms}
    if (ms > boundMs || signal?.aborted) return {ifs}
    await sleep(100)
  }
}

/** The guest's virtio device name of interface `dev` ("virtio3"), from its sysfs device link. */
export async function guestVirtioName(agent: Agent, dev: string): Promise<string> {
  const r = await agent.exec(['readlink', `/sys/class/net/${dev}/device`])
  return r.stdout.trim().split('/').pop() ?? ''
}
