// Every bound mqbench enforces, in one place. Flags declare them (so --help shows the range and
// oclif refuses a value outside it with exit 2), plans, the session protocol and the server check
// them again for library callers, and native/ refuses the same numbers on its side, from its own one
// home (native/mqb_limits.h: queues, flows, burst, frame size, the agent's frame), which the addon
// exports; test/unit/limits.test.ts holds the two sides to the same figures.

export const LIMITS = {
  /** queues of one device or testbed: tun's MAX_TAP_QUEUES, and what the native senders, receiver and tap take */
  maxQueues: 256,
  /** concurrent sessions of one rr/stream test: the client, `scale`, `check` and a server's --max-sessions */
  maxSessions: 100_000,
  /** sessions per test a server accepts when not told otherwise (`mqbench server --max-sessions`) */
  defaultServerSessions: 1000,
  /** tests one server runs at once, and its default */
  maxServerTests: 1024,
  defaultServerTests: 16,
  /** native client threads of one test */
  maxThreads: 1024,
  /** rr: transactions in flight per session */
  maxBurst: 1024,
  /** rr/stream message sizes over TCP, and what one UDP datagram carries */
  maxMessageBytes: 1 << 20,
  maxUdpPayloadBytes: 65_507,
  /** gen: frames per sendmmsg batch */
  maxGenBurst: 1024,
  /** gen: UDP flows (source ports) per queue */
  maxFlowsPerQueue: 65535,
  /** gen: Ethernet frame without FCS (jumbo) */
  maxFrameBytes: 9000,
  /** one guest agent frame (docs/agent.md), either way */
  maxAgentFrameBytes: 1 << 20,
  /** check vm --repeats: runs of each performance load (each repeat costs one --duration per load) */
  maxRepeats: 10,
} as const

/**
 * The largest queue count each testbed kind is created with (veth: a sane bound, not a kernel
 * limit; vm: a guest wants a vCPU per queue pair, and qemu's pc machine allows 255 vCPUs).
 */
export const KIND_MAX_QUEUES = {tap: LIMITS.maxQueues, veth: 128, dev: LIMITS.maxQueues, vm: 64} as const
