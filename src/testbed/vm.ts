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
import {Guest, type GuestSetup, type RebootObservation} from '../vm/guest.js'
import type {AgentClient} from '../vm/agent-client.js'
import {QmpError, type QmpClient} from '../vm/qmp.js'
import {guestSnapshot, guestSysfsQueues} from '../vm/guest-observe.js'
import {guestVirtioName} from '../vm/hotplug.js'
import {withGuestDefaults} from '../vm/defaults.js'
import {guestMac, vectorsInUse} from '../vm/qemu-args.js'
import {
  describeFinding,
  featureFindings,
  fromQmpStatus,
  nicProperties,
  sysfsFeatureNames,
  type QmpVirtioStatus,
} from '../vm/virtio-features.js'
import type {VirtioRecord} from '../results/schema.js'
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

/** The host side of a vm testbed: its namespace, bridge and taps, named and addressed. */
interface HostSide {
  name: string
  ns: string
  tap: string
  bridge: string
  dir: string
  ipHost: string
  ipGuest: string
  prefix: number
  hash: Buffer
  /** the NICs beyond the first (VmOptions.extraNics): their taps on the bridge and guest MACs */
  extraNics: Array<{tap: string; mac: string}>
}

/**
 * A booted vm testbed: its namespace, bridge and taps, and the guest on them, owned by one object
 * that offers what the plan's cases need (the agent, QMP, the queue count and its witnesses, the
 * guest's setup, a reboot that keeps the queue count). `testbed` is the same object
 * `createVmTestbed` returns (what scale, gen and the sessions drive); closing either removes
 * everything. Built in phases by VmBed.boot: the host side, the guest, then its NIC's checks.
 */
export class VmBed {
  readonly testbed: Testbed
  readonly name: string
  /** the host namespace qemu runs in and the bridge that holds the host address */
  readonly ns: string
  readonly bridge: string
  /** host (bridge) and guest addresses, without prefix */
  readonly ipHost: string
  readonly ipGuest: string
  readonly prefix: number
  /** the NICs beyond the first (VmOptions.extraNics): their taps on the bridge and guest MACs */
  readonly extraNics: Array<{tap: string; mac: string}>
  private count: number
  /** the guest's tap: after a live migration the destination qemu's */
  private curTap: string

  private constructor(
    host: HostSide,
    readonly guest: Guest,
    /** the guest NIC's virtio device name ("virtio1"): its interrupt lines are virtio1-input.N */
    readonly virtio: string,
    count: number,
    private readonly max: number,
    private readonly undos: Array<() => void>,
    warnings: string[],
  ) {
    this.name = host.name
    this.ns = host.ns
    this.bridge = host.bridge
    this.ipHost = host.ipHost
    this.ipGuest = host.ipGuest
    this.prefix = host.prefix
    this.extraNics = host.extraNics
    this.curTap = host.tap
    this.count = count
    this.testbed = this.face(warnings)
  }

  /** Boots a vm testbed: the host side, the guest on it, then the checks of the guest's NIC. */
  static async boot(spec: TestbedSpec, opts: TestbedOptions): Promise<VmBed> {
    const vm = opts.vm ?? {}
    const undos: Array<() => void> = []
    let guest: Guest | undefined
    try {
      const host = makeHostSide(spec.name, opts, undos)
      guest = await startGuest(spec.name, host, opts)
      const g = guest
      const warnings = guestWarnings(g, opts)
      undos.push(registerGuestAddress(spec.name, host.ipGuest, g.ref, opts.cleanup))
      const {virtio, combined} = await checkGuestNic(g, opts.maxQueues, vm)
      warnings.push(...(await recordVirtioFeatures(g, virtio)))
      const bed = new VmBed(host, g, virtio, combined, opts.maxQueues, undos, warnings)
      // After a live migration the guest runs in the destination qemu on its own tap: the address
      // record names the new process (it counts as local only while that one runs), the tap
      // witness and gen's tap follow.
      g.onMoved((m) => {
        bed.curTap = m.tap
        undos.push(registerGuestAddress(spec.name, host.ipGuest, m.ref, opts.cleanup))
      })
      return bed
    } catch (err) {
      if (!vm.keep) {
        await guest?.stop()
        for (const u of undos.reverse()) u()
      }
      throw err
    }
  }

  /** the guest's multiqueue tap (after a migration: the destination's) */
  get tap(): string {
    return this.curTap
  }
  /** the guest agent's typed face */
  get agent(): AgentClient {
    return this.guest.agent
  }
  /** QMP of the qemu that runs the guest now */
  get qmp(): QmpClient {
    return this.guest.qmp
  }
  /** what the results file records about the guest */
  get setup(): GuestSetup {
    return this.guest.setup
  }

  /** the queues the guest was booted with: the most a queue count can be */
  get maxQueues(): number {
    return this.max
  }

  /** the host tap's queues as qemu holds them, from netlink */
  tapState(): {numqueues: number; numdisabled: number; multiQueue: boolean} {
    return this.tapQueuesOf(this.curTap)
  }

  /** the queues qemu holds on another tap of this bed (a plugged NIC's, an extra NIC's) */
  tapQueuesOf(tap: string): {numqueues: number; numdisabled: number; multiQueue: boolean} {
    return readTapQueues(this.ns, tap)
  }

  /**
   * A further tap mqb-NAME-SUFFIX on the bridge (hotplug's NIC, a migration's destination), owned
   * by the bed: deleted when it closes, after qemu (which holds the tap) stopped. Returns its name.
   */
  addTap(suffix: string, queues: number, cleanup: CleanupRegistry): string {
    const tap = `mqb-${this.name}-${suffix}`
    // The bridge's MAC is pinned, so the gateway the guest knows does not change as taps come and go.
    addBridgePort(this.ns, this.bridge, tap, queues)
    this.own(cleanup.add(`tap ${tap} in ${this.ns}`, () => run('ip', ['-n', this.ns, 'link', 'del', tap])))
    return tap
  }

  /** the live queue count as last set */
  queueCount(): number {
    return this.count
  }

  /**
   * Sets the guest's live queue count (ETHTOOL_SCHANNELS through the agent) and reads it back
   * from the three witnesses: the guest's channels, its sysfs queues and the host tap.
   */
  async setQueueCount(n: number): Promise<QueueReadback> {
    if (!Number.isInteger(n) || n < 1 || n > this.max)
      throw new MqbError(
        `queue count ${n} is outside 1..${this.max}, the queues this guest was booted with`,
        ExitCode.unsupported,
      )
    this.guest.checkAlive()
    const set = await this.agent.channelsSet({dev: GUEST_DEV, combined: n})
    this.count = set.combined
    const witnesses = {
      combined: (await this.agent.channelsGet(GUEST_DEV)).combined,
      sysfs: await guestSysfsQueues(this.agent, GUEST_DEV),
      tap: this.tapState(),
    }
    const mismatch = queueMismatch(n, this.max, witnesses)
    if (mismatch) throw new MqbError(mismatch, ExitCode.unsupported)
    return {
      queueCount: n,
      channels: {combined: witnesses.combined, maxCombined: set.maxCombined},
      sysfsQueues: witnesses.sysfs,
      tapQueues: {attached: witnesses.tap.numqueues, detached: witnesses.tap.numdisabled},
    }
  }

  /**
   * Guest.reboot(), then the live queue count the testbed had set before is set again (the guest
   * comes back with its boot-time channels), read back from the three witnesses.
   */
  async reboot(opts?: Parameters<Guest['reboot']>[0]): Promise<RebootObservation & {queues: QueueReadback}> {
    const before = this.count
    const seen = await this.guest.reboot(opts)
    this.count = (await this.agent.channelsGet(GUEST_DEV)).combined
    return {...seen, queues: await this.setQueueCount(before)}
  }

  /**
   * Hands the bed an undo (a tap a case added, a migration's destination tap): run when the
   * testbed closes, after its guest's qemu(s) stopped, whoever closes it.
   */
  own(undo: () => void): void {
    this.undos.push(undo)
  }

  /** Removes everything (through `testbed`, so that its record goes too when it has one). */
  close(): Promise<void> {
    return this.testbed.close()
  }

  /** The Testbed face that scale, gen and the sessions drive. */
  private face(warnings: string[]): Testbed {
    // Read on each use: a live migration moves the guest to another tap.
    const tap = () => this.curTap
    const {agent} = this.guest
    return {
      kind: 'vm',
      name: this.name,
      nsA: this.ns,
      nsB: '',
      devA: this.bridge,
      devB: GUEST_DEV,
      ipA: this.ipHost,
      ipB: this.ipGuest,
      maxQueues: this.max,
      guest: this.guest.setup,
      get genDev() {
        return tap()
      },
      agent,
      warnings,
      setQueueCount: (n) => this.setQueueCount(n),
      queueCount: () => this.count,
      guestSnapshot: (): Promise<DeviceSnapshot> => guestSnapshot(agent, GUEST_DEV),
      startFarServer: async (token: string, maxSessions: number) => {
        const r = await agent.serverStart({bind: this.ipGuest, port: 0, token, maxSessions})
        return {
          port: r.port,
          close: () =>
            agent.serverStop().then(
              () => {},
              () => {},
            ),
        }
      },
      checkHealthy: async () => this.guest.checkAlive(),
      close: async () => {
        await this.guest.stop()
        for (const u of this.undos.splice(0).reverse()) u()
      },
    }
  }
}

export async function createVmTestbed(spec: TestbedSpec, opts: TestbedOptions): Promise<Testbed> {
  return (await VmBed.boot(spec, opts)).testbed
}

/**
 * The host side: namespace mqb-NAME-h, a bridge with a pinned MAC holding the host address, and
 * the guest's taps on it (the first NIC's, then one per extra NIC: mqb-NAME-t1, -t2, ...).
 */
function makeHostSide(name: string, opts: TestbedOptions, undos: Array<() => void>): HostSide {
  const {ns, tap, bridge, dir} = vmNames(name)
  const {ipA, ipB, prefix} = endpointAddresses(name)
  const hash = createHash('sha256').update(name).digest()
  undos.push(createNetns(ns, opts.cleanup))
  quietNamespace(ns)
  const ip = (...args: string[]) => runOk('ip', ['-n', ns, ...args])
  ip('link', 'add', bridge, 'type', 'bridge')
  // Pinned: locally administered, from the name, so it never follows the ports.
  const mac = [hash[1], hash[2], hash[3]].map((b) => b.toString(16).padStart(2, '0')).join(':')
  ip('link', 'set', bridge, 'address', `02:6d:71:${mac}`)
  const extraNics = Array.from({length: opts.vm?.extraNics ?? 0}, (_, i) => ({
    tap: `${tap}${i + 1}`,
    mac: guestMac(hash[0] ^ (i + 1), `${name}.${i + 1}`),
  }))
  for (const t of [tap, ...extraNics.map((x) => x.tap)]) addBridgePort(ns, bridge, t, opts.maxQueues)
  ip('addr', 'add', `${ipA}/${prefix}`, 'dev', bridge)
  ip('link', 'set', bridge, 'up')
  return {name, ns, tap, bridge, dir, ipHost: ipA, ipGuest: ipB, prefix, hash, extraNics}
}

/** The guest on the host side's first tap, with the testbed's queues and the options' guest. */
function startGuest(name: string, host: HostSide, opts: TestbedOptions): Promise<Guest> {
  const vm = opts.vm ?? {}
  return Guest.start(
    {
      name,
      netns: host.ns,
      tap: host.tap,
      mac: guestMac(host.hash[0], name),
      guestCidr: `${host.ipGuest}/${host.prefix}`,
      queues: opts.maxQueues,
      vcpus: vm.vcpus,
      ...withGuestDefaults({memoryMiB: vm.memoryMiB, accel: vm.accel}),
      kernel: vm.kernel,
      dir: host.dir,
      bootTimeoutMs: vm.bootTimeoutMs,
      vcpuCpus: vm.vcpuCpus,
      mq: vm.mq,
      vectors: vm.vectors,
      nicFeatures: vm.nicFeatures,
      append: vm.append,
      extraNics: host.extraNics,
    },
    opts.cleanup,
    {keep: vm.keep},
  )
}

/** What the person should know about the guest: its notes, more queues than vCPUs, TCG. */
function guestWarnings(g: Guest, opts: TestbedOptions): string[] {
  const warnings = [...g.notes]
  const {vcpus} = g.setup
  const max = opts.maxQueues
  // Said once: the default under TCG says it in its note already.
  if (max > vcpus && opts.vm?.vcpus !== undefined)
    warnings.push(
      `${max} queues on ${vcpus} vCPUs: the guest enables min(queues, vCPUs) at boot, and queues beyond ${vcpus} share vCPUs`,
    )
  if (g.setup.accel === 'tcg')
    warnings.push(`the guest runs under TCG (${g.setup.accelReason}): its figures are functional only`)
  return warnings
}

/**
 * The guest's NIC: its virtio name (for the interrupt lines), a refusal when its queues share one
 * interrupt although the testbed asked qemu for enough vectors, and its boot-time queue count.
 */
async function checkGuestNic(
  g: Guest,
  max: number,
  vm: NonNullable<TestbedOptions['vm']>,
): Promise<{virtio: string; combined: number}> {
  const virtio = await guestVirtioName(g.agent, GUEST_DEV)
  if (max > 1 && vm.vectors === undefined && vm.mq !== false) {
    const irq = await g.agent.readFile('/proc/interrupts')
    if (sharedVectors(irq.data, virtio))
      throw new MqbError(
        `the guest's ${virtio} shares one interrupt for all queues (${virtio}-virtqueues): qemu gave it fewer than ${vectorsInUse(max)} vectors`,
        ExitCode.unsupported,
      )
  }
  return {virtio, combined: (await g.agent.channelsGet(GUEST_DEV)).combined}
}

/**
 * The first NIC's features from both sides, kept in the guest's setup (so in every scale and plan
 * file); each property asked for whose feature a side lacks is returned as a warning, never
 * silent. A qemu without x-query-virtio-status (before 7.2) is recorded as such.
 */
async function recordVirtioFeatures(g: Guest, virtio: string): Promise<string[]> {
  const properties = nicProperties(g.setup.commandLine)
  const path = `/machine/peripheral/${properties.id ?? 'nic0'}/virtio-backend`
  let record: VirtioRecord
  try {
    const status = await g.qmp.execute<QmpVirtioStatus>('x-query-virtio-status', {path})
    const ring = await g.qmp.execute<{'vring-num'?: number}>('x-query-virtio-queue-status', {path, queue: 0})
    const features = await g.agent.readFile(`/sys/bus/virtio/devices/${virtio}/features`)
    const sides = fromQmpStatus(status)
    const guest = sysfsFeatureNames(features.data)
    const findings = featureFindings(properties, sides, guest).map(describeFinding)
    record = {properties, ...sides, guest, ringSize: ring['vring-num'], findings}
  } catch (err) {
    if (!(err instanceof QmpError)) throw err
    const none = {offered: [], negotiated: [], backend: [], guest: [], findings: []}
    record = {properties, ...none, unavailable: err.message}
  }
  g.setup.virtio = record
  return record.findings
}
