// What every testbed kind (tap + relay, veth, a real device) offers the sweep: two endpoints
// joined by a multiqueue link whose live queue count mqbench sets and reads back.
import type {CleanupRegistry} from '../host/cleanup.js'
import type {FarCheck} from '../hosts/far-end.js'
import type {DeviceSnapshot} from '../observe/index.js'
import type {ConfigInForce, QueueTraffic} from '../results/schema.js'
import type {AccelChoice} from '../vm/accel.js'
import type {AgentFacade} from '../vm/agent-ops.js'
import type {GuestSetup} from '../vm/guest.js'
import type {NicFeature} from '../vm/qemu-args.js'
import type {AttributionContext} from '../sessions/attribution.js'

export type TestbedKind = 'tap' | 'veth' | 'dev' | 'vm'

export interface TestbedSpec {
  kind: TestbedKind
  /** [a-z0-9]{1,9}: namespaces and devices are mqb-<name>-a / mqb-<name>-b */
  name: string
  /** dev: the host's interface */
  dev?: string
  /** dev: the remote `mqbench server` as host[:port] */
  server?: string
  token?: string
}

export interface TestbedOptions {
  /** where every host change is registered with its undo, as it is made */
  cleanup: CleanupRegistry
  /** queues the link is created with: the largest count a sweep may ask for */
  maxQueues: number
  /** tap: CPUs the relay workers are pinned to (cycled); none = unpinned */
  relayCpus?: number[]
  vm?: VmOptions
  /** dev with --server ssh://HOST: what that host is checked for before its server starts (prereqs.ts) */
  farCheck?: FarCheck
}

export interface VmOptions {
  /** default: the largest queue count (a guest enables min(queues, vCPUs) queue pairs) */
  vcpus?: number
  memoryMiB?: number
  /** default: /boot/vmlinuz-$(uname -r) with modules, else the newest installed image */
  kernel?: string
  accel?: AccelChoice
  /** leave a guest that failed to come up running, for inspection */
  keep?: boolean
  bootTimeoutMs?: number
  /** host CPUs to pin the vCPU threads to (cycled) */
  vcpuCpus?: number[]
  /**
   * Test-plan variants (check vm): mq=off, or an explicit MSI-X vector count. With an
   * explicit count the testbed does not refuse a shared-interrupt guest: the caller judges it.
   */
  mq?: boolean
  vectors?: number
  /** virtio features turned on on the NIC (packed rings, RSS, hash reports): the plan's variants */
  nicFeatures?: NicFeature[]
  /** extra guest kernel parameters (e.g. pci=nomsi) */
  append?: string[]
  /** more multiqueue NICs like the first, each on its own tap on the bridge (no address in the guest) */
  extraNics?: number
}

/** What the kernel reports after a queue-count change. */
export interface QueueReadback {
  queueCount: number
  channels: ConfigInForce['channels']
  sysfsQueues: {rx: number; tx: number}
  /** vm: the host tap's queues as qemu holds them */
  tapQueues?: {attached: number; detached: number}
}

export interface Testbed {
  readonly kind: TestbedKind
  readonly name: string
  /** the client side's namespace ('' = this host's own) */
  readonly nsA: string
  /** the server side's namespace ('' when the server is another host) */
  readonly nsB: string
  readonly devA: string
  readonly devB: string
  /** addresses without prefix length; ipB is where the server listens */
  readonly ipA: string
  readonly ipB: string
  readonly maxQueues: number
  /** a remote `mqbench server` (dev testbeds): sessions connect there instead of starting one */
  readonly remote?: {host: string; port?: number; token?: string}
  /** dev with --server ssh://HOST: the far end runs on that host, reached over SSH (docs/hosts.md) */
  readonly farHost?: string
  /** a far host's failure told in its own words (when, why) instead of the run's symptom */
  explain?(err: unknown): Promise<unknown>
  /**
   * Sets the live queue count on both ends and reads it back (channels and
   * /sys/class/net/IF/queues); throws an MqbError when the kernel did not take it.
   */
  setQueueCount(n: number): Promise<QueueReadback>
  /** the live queue count as last set (kept by the testbed: no kernel call) */
  queueCount(): number
  /**
   * how a session's queue is known on this testbed now (sessions/attribution.ts); absent where
   * nothing names it (the vm guest's side, a remote dev server): sessions are then not attributed
   */
  queueAttribution?(): AttributionContext
  /** cumulative per-queue counters of the relay since the last queue-count change (tap only) */
  relayQueueTraffic?(): Promise<QueueTraffic[]>
  /** the device `gen` sends on when it is not devA (vm: the tap, not the bridge) */
  readonly genDev?: string
  /** vm: the guest's setup, for the results file */
  readonly guest?: GuestSetup
  /** things the person should know (TCG, more queues than vCPUs) */
  readonly warnings?: string[]
  /**
   * vm: starts the session server on the far end (in the guest, through its agent), listening on
   * ipB, requiring `token` and taking up to `maxSessions`; the sessions' client side runs in nsA.
   */
  startFarServer?(token: string, maxSessions: number): Promise<{port: number; close(): Promise<void>}>
  /** vm: the guest agent (docs/agent.md): gen's guest side, the relay for other processes */
  readonly agent?: AgentFacade
  /** vm: a snapshot of the far end's device taken inside the guest (the per-queue evidence) */
  guestSnapshot?(): Promise<DeviceSnapshot>
  /** rejects with an MqbError (ExitCode.partial) when a part of the testbed (relay, guest) has failed */
  checkHealthy(): Promise<void>
  /** removes everything the testbed created and restores what it changed; idempotent */
  close(): Promise<void>
}
