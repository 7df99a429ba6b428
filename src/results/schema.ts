// The results file, versions 1 and 2 (versions.ts): the contract between runs (gen, rr, stream, scale) and everything
// that reads them (report, tune --from, resume). It keeps raw figures: per-queue, per-session and
// per-iteration counts, and every session's latency histogram encoded with hdr-histogram-js
// (encodeIntoCompressedBase64). Derived figures (speed-up, efficiency, verdicts, percentiles of
// merged histograms) are recomputed from these by src/results/stats.ts; docs/results.md documents
// the fields and results.schema.json (next to this file's package root, under docs/) validates them.
import type {HostInfo} from '../host/info.js'

export const RESULTS_SCHEMA = 'mqbench/results'
// 2: a UDP_STREAM result's gbps is the rate received (1: sent); see versions.ts.
// 3: every rr session says which queue carried it, and how that was known (`queue`); see versions.ts.
export const RESULTS_VERSION = 3

/** Latency figures in microseconds, summarised from a histogram. */
export interface LatencySummaryUs {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** CPU time consumed over a measurement window, as percent of all online CPUs (0-100). */
export interface CpuUtilisation {
  userPct: number
  sysPct: number
  softirqPct: number
  irqPct: number
  /** user+sys+softirq+irq (+nice, steal excluded) */
  totalPct: number
  /** number of CPUs the percentages are relative to */
  cpus: number
}

/** One CPU's time over a window, from /proc/stat deltas, in milliseconds. */
export interface PerCpuTime {
  cpu: number
  userMs: number
  niceMs: number
  sysMs: number
  idleMs: number
  iowaitMs: number
  irqMs: number
  softirqMs: number
  stealMs: number
}

// ---- request/response (netperf TCP_RR, UDP_RR, TCP_CRR) -------------------------------------

export type RrType = 'tcp_rr' | 'udp_rr' | 'tcp_crr'

export interface RrSession {
  id: number
  /** native client thread that ran the session, and the CPU it was pinned to (-1: unpinned) */
  thread: number
  cpu: number
  transactions: number
  /** transactions completed within the common measurement window */
  windowMs: number
  transactionsPerSecond: number
  errors: number
  /** true when the session completed no transaction in some interval of 1 s or more */
  stalled: boolean
  latency: LatencySummaryUs
  /** HdrHistogram of per-transaction latency in nanoseconds, encodeIntoCompressedBase64 */
  latencyHistogram: string
  /** which queue carried the session and how that was known (version 3; docs/sessions.md, Queues) */
  queue: SessionQueue
  /** TCP_INFO sampled at each interval and at the end (TCP workloads with sampling on) */
  tcpInfo?: TcpInfoSummary
}

/**
 * How a session's queue was known, per testbed (src/sessions/attribution.ts):
 *   veth-xps   the client's sending thread is pinned and XPS maps its CPU to one tx queue of the
 *              client's veth, whose packets arrive on the peer's rx queue of the same index
 *   relay-cpu  tap testbed: the relay's worker of each queue pair is pinned to its own CPU, which
 *              SO_INCOMING_CPU on the client's socket names (the queue that carried the responses)
 *   none       not attributed; `reason` says why (loopback, unpinned, sampling off, older file)
 */
export type AttributionMethod = 'veth-xps' | 'relay-cpu' | 'none'

export interface SessionQueue {
  method: AttributionMethod
  /** the one queue that carried the session; absent when it moved between queues or was not attributed */
  queue?: number
  /** every queue it was seen on, ascending; more than one: it moved mid-run (`moved`) */
  queues: number[]
  moved: boolean
  /** method none: why */
  reason?: string
  /** SO_INCOMING_CPU values seen on the client's socket (the CPUs that received its packets) */
  rxCpus: number[]
  /** the CPUs the session's sends left from (sched_getcpu of its thread at each sample) */
  txCpus: number[]
  /** SO_INCOMING_NAPI_ID last seen, when the receive path has one (0 on loopback, tap, veth without GRO) */
  napiId?: number
  /** attribution samples taken */
  samples: number
}

/** A session's TCP_INFO samples, folded (native/session_probe.h): never a per-sample list. */
export interface TcpInfoSummary {
  samples: number
  rttMinUs: number
  rttMeanUs: number
  rttMaxUs: number
  rttvarMaxUs: number
  cwndMin: number
  cwndMax: number
  cwndLast: number
  /** tcpi_total_retrans at the last sample (the end of the run) */
  totalRetrans: number
  deliveryRateMaxBps: number
  deliveryRateLastBps: number
}

/** The sessions one queue carried, and their figures together (src/results/queues.ts). */
export interface QueueGroup {
  queue: number
  /** ids of the sessions attributed to this queue alone (moved sessions are in no group) */
  sessions: number[]
  transactions: number
  transactionsPerSecond: number
  latency: LatencySummaryUs
  /** the group's sessions' histograms merged */
  latencyHistogram: string
  /** Jain's index over the group's sessions' rates */
  jainIndex: number
  /** mean of the sessions' mean rtt and their retransmissions, when TCP_INFO was sampled */
  rttMeanUs?: number
  totalRetrans?: number
}

export interface RrResult {
  workload: 'rr'
  type: RrType
  requestSize: number
  responseSize: number
  burst: number
  server: {host: string; port: number}
  windowMs: number
  /** always the sum of sessions[].transactionsPerSecond over the same window */
  transactionsPerSecond: number
  sessions: RrSession[]
  latency: LatencySummaryUs
  /**
   * Every session's histogram merged (what merging sessions[].latencyHistogram gives), so that a
   * report merges once per run instead of once per session; absent in files written before it.
   */
  latencyHistogram?: string
  localCpu: CpuUtilisation
  remoteCpu?: CpuUtilisation
  /** microseconds of CPU time (all CPUs) per transaction */
  serviceDemandUsPerTx: {local: number; remote?: number}
  fairness: {jainIndex: number; slowestTps: number; fastestTps: number}
  /** ms from starting the data connections until every session was connected (the ramp) */
  connectMs?: number
  /**
   * What one latency sample covers (LATENCY_COVERS in sessions/rr.ts; docs/sessions.md). Absent in
   * files written before it, where tcp_crr's samples began after socket() and ended before close().
   */
  latencyCovers?: string
  /** where both ends' engine threads ran; absent in files written before it */
  pinnedCpus?: SessionPinning
  /** per queue: every queue the testbed had, including idle ones; absent when no session was attributed */
  queues?: QueueGroup[]
  /** sessions that moved between queues mid-run (in no group) */
  movedSessions?: number[]
}

/**
 * The CPUs each end's engine threads were pinned to (thread i on list[i mod n]); [] when that end
 * was not pinned. `server` is what the server said in its welcome (docs/protocol.md), absent when
 * it did not say (a server older than the field): then its placement is unknown.
 */
export interface SessionPinning {
  client: number[]
  server?: number[]
}

// ---- bulk transfer (netperf TCP_STREAM, TCP_MAERTS, UDP_STREAM) -----------------------------

export type StreamType = 'tcp_stream' | 'tcp_maerts' | 'udp_stream'

export interface StreamSession {
  id: number
  thread: number
  cpu: number
  direction: 'send' | 'receive'
  bytes: number
  windowMs: number
  gbps: number
  /** TCP_INFO tcpi_total_retrans of the session's socket */
  retransmits?: number
  /** UDP: datagrams sent in the window minus those the receiver counted over the same window */
  lostDatagrams?: number
  /** UDP: datagrams sent in the window */
  datagrams?: number
  /** UDP: the rate sent (gbps is the rate received) */
  sentGbps?: number
  /** UDP: bytes the server received over the window */
  receivedBytes?: number
}

export interface StreamResult {
  workload: 'stream'
  type: StreamType
  bidir: boolean
  messageSize: number
  server: {host: string; port: number}
  windowMs: number
  /** always the sum of sessions[].gbps; UDP: the rate received (version 1: the rate sent) */
  gbps: number
  /** UDP: the rate sent, sum of sessions[].sentGbps */
  sentGbps?: number
  /** UDP: datagrams lost in percent of those sent */
  lossPct?: number
  /**
   * UDP: over what the server counted: `window` (the client's window, shared through the control
   * protocol), or `server-span` (an older server's totals over its own span)
   */
  receivedOver?: 'window' | 'server-span'
  sessions: StreamSession[]
  localCpu: CpuUtilisation
  remoteCpu?: CpuUtilisation
  /** microseconds of CPU time per KB (1024 bytes) moved */
  serviceDemandUsPerKB: {local: number; remote?: number}
  /** ms from starting the data connections until every session was connected (the ramp) */
  connectMs?: number
  /** where both ends' engine threads ran; absent in files written before it */
  pinnedCpus?: SessionPinning
}

// ---- packet generation (pktgen-style) ---------------------------------------------------------

export interface GenQueue {
  queue: number
  cpu: number
  packets: number
  bytes: number
  errors: number
  pps: number
  mbps: number
}

export interface GenRxQueue {
  /** receive queue (tap fd index, or the AF_PACKET receiver's view of the queue the frame was sent on) */
  queue: number
  packets: number
  bytes: number
  /** frames missing by sequence number, summed over the queue's flows */
  lost: number
  reordered: number
  duplicates: number
}

export interface GenResult {
  workload: 'gen'
  backend: 'packet' | 'tap' | 'xdp'
  /** xdp backend: the mode the kernel ran the AF_XDP sockets in */
  xdpMode?: 'copy' | 'zerocopy'
  /** --backend auto: which backend ran and why */
  backendChoice?: string
  dev: string
  frameSize: number
  flowsPerQueue: number
  durationMs: number
  packets: number
  bytes: number
  pps: number
  mbps: number
  queues: GenQueue[]
  rx?: {
    dev: string
    packets: number
    lost: number
    reordered: number
    duplicates: number
    queues: GenRxQueue[]
    /** frames the receive socket(s) dropped because the receiver fell behind (PACKET_STATISTICS) */
    socketDrops?: number
    /** frames seen that were not mqbench's (ARP, ND, ...) */
    foreign?: number
  }
  /** true when Ctrl-C/SIGTERM ended the run early */
  interrupted?: boolean
  /** requested total rate; absent: as fast as possible */
  ratePps?: number
  qdiscBypass?: boolean
  /** which TX queue each sender thread's frames took, and the evidence */
  placement?: GenPlacement
  /** vm testbeds: which way the frames went and what each guest queue carried */
  guest?: GenGuest
}

export interface GenGuest {
  /** to-guest: host senders on the tap, the receiver in the guest; from-guest: the guest's senders, the receiver on the host tap */
  direction: 'to-guest' | 'from-guest'
  /** the guest's NIC */
  dev: string
  queues: GenGuestQueue[]
}

export interface GenGuestQueue {
  queue: number
  /** to-guest: frames mqbench's receiver in the guest counted on this RX queue */
  received?: number
  /** the guest driver's rx_queue_N_packets / tx_queue_N_packets over the run (ethtool -S), all traffic */
  rxPackets: number
  txPackets: number
  /** this direction's frames on the queue per second of the run (received, else the driver's count) */
  pps: number
}

export interface GenPlacement {
  /** the TX queue the kernel is expected to pick for thread i (tap: fd i; packet+bypass: cpu % TX queues; -1: the driver picks, e.g. tun's flow hash) */
  expectedTxQueue: number[]
  /** matrix[rxQueue][senderQueue]: frames the receiver got on each receive queue, by the sender queue in their header */
  matrix?: number[][]
  /** every received frame arrived on the receive queue numbered like its sender's queue */
  verified?: boolean
}

export type WorkloadResult = RrResult | StreamResult | GenResult

// ---- per-queue observation ----------------------------------------------------------------------

/** Traffic one queue carried during an iteration, from the best source the testbed has. */
export interface QueueTraffic {
  queue: number
  source: 'relay' | 'ethtool' | 'sysfs' | 'interrupts'
  txPackets: number
  txBytes: number
  rxPackets: number
  rxBytes: number
  drops: number
}

export interface InterruptDelta {
  irq: string
  name: string
  /** queue index parsed from the name (virtio0-input.3 -> 3), if any */
  queue?: number
  direction?: 'rx' | 'tx' | 'combined'
  perCpu: number[]
  total: number
}

export interface SoftnetDelta {
  cpu: number
  processed: number
  dropped: number
  timeSqueeze: number
  receivedRps: number
  flowLimit: number
}

// ---- the run -------------------------------------------------------------------------------------

export type QueueVerdict = 'ok' | 'imbalanced' | 'unused'

export interface Iteration {
  index: number
  startedAt: string
  durationMs: number
  result: WorkloadResult
  cpu: PerCpuTime[]
  queues: QueueTraffic[]
  interrupts: InterruptDelta[]
  softnet: SoftnetDelta[]
  /**
   * Drops each testbed device counted over the iteration (/sys/class/net/DEV/statistics). A tap
   * whose reader (the relay) falls behind drops in tun_net_xmit: only its tx_dropped shows it.
   */
  deviceDrops?: DeviceDrops[]
}

export interface DeviceDrops {
  dev: string
  netns: string
  txDropped: number
  rxDropped: number
}

export interface ConfigInForce {
  /** ethtool channels as read back after the change (tap: live queue count) */
  channels: {
    rx?: number
    tx?: number
    combined?: number
    maxCombined?: number
    maxRx?: number
    maxTx?: number
  }
  /** counts of rx-* and tx-* in /sys/class/net/IF/queues */
  sysfsQueues: {rx: number; tx: number}
  rpsCpus: string[]
  xpsCpus: string[]
  irqAffinity: Record<string, string>
  offloads: Record<string, boolean>
}

export interface Step {
  queueCount: number
  startedAt: string
  finishedAt: string
  config: ConfigInForce
  iterations: Iteration[]
}

export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed'

/** The machine a run ran on: host/info.ts reads it, so it is defined there. */
export type {HostInfo}

/** A vm testbed's guest, recorded so that a report can say (and a person reproduce) what ran. */
export interface GuestRecord {
  qemuVersion: string
  commandLine: string
  kernel: {path: string; release: string}
  /** tcg: timings are functional only */
  accel: 'kvm' | 'tcg'
  accelReason: string
  vhost: boolean
  mac: string
  vcpus: number
  /** host CPUs vCPU i was pinned to (--vcpu-cpus); absent: unpinned */
  vcpuCpus?: number[]
  memoryMiB: number
  queues: number
  vectors: number
  initramfs: {key: string; modules: string[]; sizeBytes: number; cached: boolean}
  agent: {agent: string; version: string; protocol: number; kernel: string; cpus: number; build: string}
  bootMs: number
  bootMarks: Record<string, number>
  /** the first NIC's virtio features from both sides (vm/virtio-features.ts); absent in older files */
  virtio?: VirtioRecord
}

/**
 * What the guest's NIC offered and negotiated, by feature name: qemu's x-query-virtio-status and
 * the guest's own sysfs, the properties the command line asked for, and each one asked for whose
 * feature is missing on a side (a finding, also among the run's warnings).
 */
export interface VirtioRecord {
  /** virtio-net-pci's properties on the command line (mq, vectors, packed, rss, ...) */
  properties: Record<string, string>
  offered: string[]
  negotiated: string[]
  backend: string[]
  /** /sys/bus/virtio/devices/virtioN/features in the guest */
  guest: string[]
  /** descriptors per ring (queue 0), from x-query-virtio-queue-status */
  ringSize?: number
  findings: string[]
  /** why the features could not be read (a qemu without x-query-virtio-status); the rest is then empty */
  unavailable?: string
}

export interface RunConfig {
  testbed: {
    kind: 'tap' | 'veth' | 'dev' | 'vm'
    name: string
    dev?: string
    server?: string
    /** vm: the guest as it ran (qemu version and command line, kernel, accel, vhost, vCPUs, ...) */
    guest?: GuestRecord
  }
  workload: 'rr' | 'crr' | 'udp_rr' | 'stream' | 'gen'
  queues: number[]
  sessions: number
  durationMs: number
  warmupMs: number
  iterations: number
  /**
   * steps (also when absent: files written before the field): all iterations of a queue count,
   * then the next; alternate: rounds, each measuring one iteration of every queue count
   */
  order?: 'steps' | 'alternate'
  /** workload-specific settings (request/response sizes, message size, frame size, rate) */
  params: Record<string, number | string | boolean>
  /**
   * CPUs the run's threads were pinned to (absent: not pinned, every online CPU may run them):
   * the tap relay's workers (--relay-cpus) and the workload's own threads.
   */
  pinnedCpus?: RunPinning
}

/**
 * relay: --relay-cpus; server/client: scale --server-cpus/--client-cpus (the engine threads of the
 * server a sweep starts, and of its clients); workload: every CPU the workload's threads could run
 * on, set only when all of them were pinned.
 */
export interface RunPinning {
  relay?: number[]
  workload?: number[]
  server?: number[]
  client?: number[]
}

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA
  version: typeof RESULTS_VERSION
  run: {
    id: string
    startedAt: string
    finishedAt?: string
    status: RunStatus
    error?: string
    /**
     * Why the run ended, in words: "all 4 steps measured", "interrupted by SIGINT after 2 of 4
     * steps", "failed: ...". Absent in files written before the field.
     */
    endReason?: string
    /** the argv after `mqbench`, as given */
    argv: string[]
    /** a shell command that reproduces the run */
    command: string
  }
  host: HostInfo
  config: RunConfig
  steps: Step[]
}
