// The vm testbed: a qemu guest with a multiqueue virtio-net NIC (queues=MAX on the tap,
// mq=on,vectors=2*MAX+2) on a tap in the host namespace mqb-NAME-h, bridged to a bridge whose MAC
// is pinned (a bridge otherwise takes its ports' lowest MAC, and the guest's ARP entry goes stale
// when taps come and go). The live queue count changes inside the guest (ETHTOOL_SCHANNELS through
// the agent); qemu then attaches or detaches the tap's queues, so the read-back has three
// witnesses that must agree: the guest's channels, the guest's sysfs queues and the host tap's
// numqueues/numdisabled.
import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {registerGuestAddress} from '../host/guests.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {createNetns} from '../host/netns.js'
import type {DeviceSnapshot} from '../observe/index.js'
import {run, runOk} from '../util/exec.js'
import {Guest, type RebootObservation} from '../vm/guest.js'
import {guestSnapshot, guestSysfsQueues} from '../vm/guest-observe.js'
import {guestVirtioName} from '../vm/hotplug.js'
import {withGuestDefaults} from '../vm/defaults.js'
import {guestMac, vectorsInUse} from '../vm/qemu-args.js'
import {endpointAddresses, quietNamespace} from './common.js'
import {stateDir} from './registry.js'
import type {QueueReadback, Testbed, TestbedOptions, TestbedSpec} from './types.js'

export const GUEST_DEV = 'eth0'

export function vmNames(name: string): {ns: string; tap: string; bridge: string; dir: string} {
  return {
    ns: `mqb-${name}-h`,
    tap: `mqb-${name}-t`,
    bridge: `mqb-${name}-b`,
    dir: join(stateDir(), `${name}.vm`),
  }
}

/** Parses `ip -d -j link show` of a tap: the queues qemu holds attached and detached. */
export function tapQueues(json: string): {numqueues: number; numdisabled: number; multiQueue: boolean} {
  const [l] = JSON.parse(json) as Array<{linkinfo?: {info_data?: Record<string, unknown>}}>
  const d = l?.linkinfo?.info_data ?? {}
  return {
    numqueues: Number(d.numqueues ?? 0),
    numdisabled: Number(d.numdisabled ?? 0),
    multiQueue: d.multi_queue === true,
  }
}

/** The queues qemu holds on `tap` in `ns`, from netlink. */
export const readTapQueues = (ns: string, tap: string) =>
  tapQueues(runOk('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', tap]))

/** A tap (multiqueue when `queues` > 1) in `ns`, a port of `bridge`, up. */
function addBridgePort(ns: string, bridge: string, tap: string, queues: number): void {
  const ip = (...args: string[]) => runOk('ip', ['-n', ns, ...args])
  ip('tuntap', 'add', 'dev', tap, 'mode', 'tap', ...(queues > 1 ? ['multi_queue'] : []))
  ip('link', 'set', tap, 'master', bridge)
  ip('link', 'set', tap, 'up')
}

/**
 * A further tap on a booted testbed's bridge (hotplug, a migration's destination), in qemu's
 * namespace; the bridge's MAC is pinned, so the gateway the guest knows does not change as taps
 * come and go. The undo deletes it if it is still there: hand it to `bed.own` so that it runs
 * after qemu (which holds the tap) stopped.
 */
export function addBridgedTap(bed: VmBed, tap: string, queues: number, cleanup: CleanupRegistry): () => void {
  addBridgePort(bed.ns, bed.bridge, tap, queues)
  return cleanup.add(`tap ${tap} in ${bed.ns}`, () => {
    run('ip', ['-n', bed.ns, 'link', 'del', tap])
  })
}

/**
 * The three witnesses of a queue count; undefined when they agree on `n`, else the sentence that
 * says who saw what. qemu keeps MAX queue fds on the tap and detaches those the guest disabled.
 */
export function queueMismatch(
  n: number,
  max: number,
  w: {combined: number; sysfs: {rx: number; tx: number}; tap: {numqueues: number; numdisabled: number}},
): string | undefined {
  const tapOk = max === 1 ? true : w.tap.numqueues === n && w.tap.numdisabled === max - n
  if (w.combined === n && w.sysfs.rx === n && w.sysfs.tx === n && tapOk) return undefined
  return (
    `asked the guest for ${n} queues, but its channels say ${w.combined}, its sysfs rx ${w.sysfs.rx} / tx ${w.sysfs.tx}` +
    `, and the host tap has ${w.tap.numqueues} queues attached, ${w.tap.numdisabled} detached`
  )
}

/** Queue interrupts of the guest NIC: per-queue lines, or one shared "virtioN-virtqueues" (too few vectors). */
export function sharedVectors(interrupts: string, virtio: string): boolean {
  return (
    new RegExp(`\\b${virtio}-virtqueues\\b`).test(interrupts) &&
    !new RegExp(`\\b${virtio}-input\\.\\d`).test(interrupts)
  )
}

/**
 * A booted vm testbed with its parts in reach, for callers that drive the hypervisor too
 * (check vm: QMP set_link, hotplug, migration, reboot). `testbed` is the same object
 * `createVmTestbed` returns; closing it removes everything.
 */
export interface VmBed {
  readonly testbed: Testbed
  readonly guest: Guest
  /** the host namespace qemu runs in, its multiqueue tap and the bridge that holds the host address */
  readonly ns: string
  readonly tap: string
  readonly bridge: string
  /** host (bridge) and guest addresses, without prefix */
  readonly ipHost: string
  readonly ipGuest: string
  readonly prefix: number
  /** the guest NIC's virtio device name ("virtio1"): its interrupt lines are virtio1-input.N */
  readonly virtio: string
  /** the NICs beyond the first (VmOptions.extraNics): their taps on the bridge and guest MACs */
  readonly extraNics: Array<{tap: string; mac: string}>
  /** the host tap's queues as qemu holds them, from netlink */
  tapState(): {numqueues: number; numdisabled: number; multiQueue: boolean}
  /**
   * Guest.reboot(), then the live queue count the testbed had set before is set again (the guest
   * comes back with its boot-time channels), read back from the three witnesses.
   */
  reboot(opts?: Parameters<Guest['reboot']>[0]): Promise<RebootObservation & {queues: QueueReadback}>
  /**
   * Hands the bed an undo (a tap a case added, a migration's destination tap): run when the
   * testbed closes, after its guest's qemu(s) stopped, whoever closes it.
   */
  own(undo: () => void): void
}

export async function createVmTestbed(spec: TestbedSpec, opts: TestbedOptions): Promise<Testbed> {
  return (await bootVmBed(spec, opts)).testbed
}

export async function bootVmBed(spec: TestbedSpec, opts: TestbedOptions): Promise<VmBed> {
  const {ns, tap, bridge, dir} = vmNames(spec.name)
  const {ipA, ipB, prefix} = endpointAddresses(spec.name)
  const max = opts.maxQueues
  const vm = opts.vm ?? {}
  const hash = createHash('sha256').update(spec.name).digest()
  const undos: Array<() => void> = []
  const warnings: string[] = []
  let guest: Guest | undefined
  try {
    undos.push(createNetns(ns, opts.cleanup))
    quietNamespace(ns)
    const ip = (...args: string[]) => runOk('ip', ['-n', ns, ...args])
    ip('link', 'add', bridge, 'type', 'bridge')
    // Pinned: locally administered, from the name, so it never follows the ports.
    ip(
      'link',
      'set',
      bridge,
      'address',
      `02:6d:71:${[hash[1], hash[2], hash[3]].map((b) => b.toString(16).padStart(2, '0')).join(':')}`,
    )
    // The first NIC's tap, then one per extra NIC (mqb-NAME-t1, -t2, ...): the namespace takes them along.
    const extraNics = Array.from({length: vm.extraNics ?? 0}, (_, i) => ({
      tap: `${tap}${i + 1}`,
      mac: guestMac(hash[0] ^ (i + 1), `${spec.name}.${i + 1}`),
    }))
    for (const t of [tap, ...extraNics.map((x) => x.tap)]) addBridgePort(ns, bridge, t, max)
    ip('addr', 'add', `${ipA}/${prefix}`, 'dev', bridge)
    ip('link', 'set', bridge, 'up')
    guest = await Guest.boot(
      {
        name: spec.name,
        netns: ns,
        tap,
        mac: guestMac(hash[0], spec.name),
        guestCidr: `${ipB}/${prefix}`,
        queues: max,
        vcpus: vm.vcpus,
        ...withGuestDefaults({memoryMiB: vm.memoryMiB, accel: vm.accel}),
        kernel: vm.kernel,
        dir,
        bootTimeoutMs: vm.bootTimeoutMs,
        vcpuCpus: vm.vcpuCpus,
        mq: vm.mq,
        vectors: vm.vectors,
        append: vm.append,
        extraNics,
      },
      opts.cleanup,
      {keep: vm.keep},
    )
    const g = guest
    warnings.push(...g.notes)
    const vcpus = g.setup.vcpus
    // Said once: the default under TCG says it in its note already.
    if (max > vcpus && vm.vcpus !== undefined)
      warnings.push(
        `${max} queues on ${vcpus} vCPUs: the guest enables min(queues, vCPUs) at boot, and queues beyond ${vcpus} share vCPUs`,
      )
    undos.push(registerGuestAddress(spec.name, ipB, g.ref, opts.cleanup))
    // After a live migration the guest runs in the destination qemu on its own tap: the address
    // record names the new process (it counts as local only while that one runs), the tap
    // witness and gen's tap follow.
    let curTap = tap
    g.onMoved((m) => {
      curTap = m.tap
      undos.push(registerGuestAddress(spec.name, ipB, m.ref, opts.cleanup))
    })
    if (g.setup.accel === 'tcg')
      warnings.push(`the guest runs under TCG (${g.setup.accelReason}): its figures are functional only`)
    const agent = g.agent
    const tapState = () => readTapQueues(ns, curTap)
    const channels = async () => agent.channelsGet(GUEST_DEV)
    const sysfs = () => guestSysfsQueues(agent, GUEST_DEV)
    // The guest's virtio name for its NIC ("virtio1"), for the interrupt lines.
    const virtio = await guestVirtioName(agent, GUEST_DEV)
    if (max > 1 && vm.vectors === undefined && vm.mq !== false) {
      const irq = await agent.readFile('/proc/interrupts')
      if (sharedVectors(irq.data, virtio))
        throw new MqbError(
          `the guest's ${virtio} shares one interrupt for all queues (${virtio}-virtqueues): qemu gave it fewer than ${vectorsInUse(max)} vectors`,
          ExitCode.unsupported,
        )
    }
    let count = (await channels()).combined
    const setQueueCount = async (n: number): Promise<QueueReadback> => {
      if (!Number.isInteger(n) || n < 1 || n > max)
        throw new MqbError(
          `queue count ${n} is outside 1..${max}, the queues this guest was booted with`,
          ExitCode.unsupported,
        )
      g.checkAlive()
      const set = await agent.channelsSet({dev: GUEST_DEV, combined: n})
      count = set.combined
      const witnesses = {combined: (await channels()).combined, sysfs: await sysfs(), tap: tapState()}
      const mismatch = queueMismatch(n, max, witnesses)
      if (mismatch) throw new MqbError(mismatch, ExitCode.unsupported)
      return {
        queueCount: n,
        channels: {combined: witnesses.combined, maxCombined: set.maxCombined},
        sysfsQueues: witnesses.sysfs,
        tapQueues: {attached: witnesses.tap.numqueues, detached: witnesses.tap.numdisabled},
      }
    }
    const testbed: Testbed = {
      kind: 'vm',
      name: spec.name,
      nsA: ns,
      nsB: '',
      devA: bridge,
      devB: GUEST_DEV,
      ipA,
      ipB,
      maxQueues: max,
      guest: g.setup,
      get genDev() {
        return curTap
      },
      agent,
      warnings,
      setQueueCount,
      queueCount: () => count,
      guestSnapshot: (): Promise<DeviceSnapshot> => guestSnapshot(agent, GUEST_DEV),
      async startFarServer(token: string, maxSessions: number) {
        const r = await agent.serverStart({bind: ipB, port: 0, token, maxSessions})
        return {
          port: r.port,
          close: async () => {
            await agent.serverStop().catch(() => {})
          },
        }
      },
      checkHealthy: async () => g.checkAlive(),
      async close() {
        g.stop()
        for (const u of undos.splice(0).reverse()) u()
      },
    }
    return {
      testbed,
      guest: g,
      ns,
      get tap() {
        return curTap
      },
      bridge,
      ipHost: ipA,
      ipGuest: ipB,
      prefix,
      virtio,
      tapState,
      async reboot(o) {
        const before = count
        const seen = await g.reboot(o)
        count = (await channels()).combined
        return {...seen, queues: await setQueueCount(before)}
      },
      own: (undo) => undos.push(undo),
      extraNics,
    }
  } catch (err) {
    if (!vm.keep) {
      guest?.stop()
      for (const u of undos.reverse()) u()
    }
    throw err
  }
}
