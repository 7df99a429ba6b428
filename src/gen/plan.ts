// Turns generator options into a per-queue plan: which CPU each sender thread runs on, its share
// of the rate and of the frame count, its flows' UDP source ports, and the frame's addresses as
// bytes. Pure: the device facts it needs (TX queue count, MAC, online CPUs) are passed in.
import {badInput, ExitCode, MqbError} from '../errors.js'
import {minFrameSize} from './frame.js'
import {splitCount, splitRate} from './rate.js'
import {LIMITS} from '../limits.js'

export interface PlanInput {
  queues: number
  cpus?: number[]
  frameSize: number
  flowsPerQueue: number
  ipVersion?: 4 | 6
  srcMac?: string
  dstMac?: string
  srcIp?: string
  dstIp?: string
  srcPort?: number
  dstPort?: number
  ratePps?: number
  count?: number
  burst?: number
}

export interface QueuePlan {
  queue: number
  cpu: number
  ratePps: number
  /** 0: bounded by the duration only */
  count: number
  /** flow f of this queue sends from srcPort + f */
  srcPort: number
}

export interface FramePlan {
  ipVersion: 4 | 6
  srcMac: number[]
  dstMac: number[]
  srcIp: number[]
  dstIp: number[]
  dstPort: number
  frameSize: number
}

export interface GenPlan {
  frame: FramePlan
  flowsPerQueue: number
  burst: number
  queues: QueuePlan[]
}

export const DEFAULT_BURST = 32
const DEFAULTS = {
  srcIp4: '198.18.0.1',
  dstIp4: '198.18.0.2',
  srcIp6: 'fd00:198:18::1',
  dstIp6: 'fd00:198:18::2',
  srcPort: 1024,
  dstPort: 9,
}

export function parseMac(text: string, what = 'MAC address'): number[] {
  const m =
    /^([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})$/i.exec(
      text.trim(),
    )
  if (!m) throw badInput(`${what} '${text}' is not a MAC address; write it like 02:00:00:00:00:01`)
  return m.slice(1).map((h) => parseInt(h, 16))
}

export function parseIpv4(text: string, what = 'IPv4 address'): number[] {
  const parts = text.trim().split('.')
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw badInput(`${what} '${text}' is not an IPv4 address`)
  return parts.map(Number)
}

export function parseIpv6(text: string, what = 'IPv6 address'): number[] {
  const t = text.trim()
  const halves = t.split('::')
  const bad = () => badInput(`${what} '${text}' is not an IPv6 address`)
  if (halves.length > 2) throw bad()
  const groups = (s: string) => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0
  if (fill < 0 || (halves.length === 1 && head.length !== 8) || (halves.length === 2 && fill < 1)) throw bad()
  const all = [...head, ...Array(fill).fill('0'), ...tail]
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw bad()
  return all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])
}

/**
 * Sender thread i runs on cpus[i % cpus.length]. With PACKET_QDISC_BYPASS and no XPS map, the
 * kernel sends a frame on TX queue (sending CPU % real TX queues) (packet_pick_tx_queue), so the
 * default placement puts thread i on the i-th online CPU: thread i then leaves on queue i as long
 * as there are at least as many CPUs as queues.
 */
export function placeCpus(queues: number, online: number[], cpus?: number[]): number[] {
  const pool = cpus && cpus.length > 0 ? cpus : online
  if (pool.length === 0) throw new MqbError('no online CPU to run the senders on', ExitCode.failure)
  return Array.from({length: queues}, (_, i) => pool[i % pool.length])
}

/** The TX queue the kernel picks for a frame sent from `cpu` under PACKET_QDISC_BYPASS (no XPS). */
export function bypassTxQueue(cpu: number, realTxQueues: number): number {
  return cpu % realTxQueues
}

export function buildPlan(input: PlanInput, env: {onlineCpus: number[]; devMac?: string}): GenPlan {
  const ipVersion = input.ipVersion ?? 4
  const minSize = minFrameSize(ipVersion)
  if (
    !Number.isInteger(input.frameSize) ||
    input.frameSize < minSize ||
    input.frameSize > LIMITS.maxFrameBytes
  )
    throw badInput(
      `frame size ${input.frameSize} is out of range (${minSize} to ${LIMITS.maxFrameBytes} bytes without FCS for IPv${ipVersion})`,
    )
  if (!Number.isInteger(input.queues) || input.queues < 1 || input.queues > LIMITS.maxQueues)
    throw badInput(`queue count ${input.queues} is out of range (1 to ${LIMITS.maxQueues})`)
  if (
    !Number.isInteger(input.flowsPerQueue) ||
    input.flowsPerQueue < 1 ||
    input.flowsPerQueue > LIMITS.maxFlowsPerQueue
  )
    throw badInput(`flows per queue ${input.flowsPerQueue} is out of range (1 to ${LIMITS.maxFlowsPerQueue})`)
  const burst = input.burst ?? DEFAULT_BURST
  if (!Number.isInteger(burst) || burst < 1 || burst > LIMITS.maxGenBurst)
    throw badInput(`burst ${burst} is out of range (1 to ${LIMITS.maxGenBurst} frames)`)
  const srcPort = input.srcPort ?? DEFAULTS.srcPort
  const dstPort = input.dstPort ?? DEFAULTS.dstPort
  const lastPort = srcPort + input.queues * input.flowsPerQueue - 1
  if (!Number.isInteger(srcPort) || srcPort < 1 || lastPort > 65535)
    throw badInput(
      `source ports ${srcPort}..${lastPort} (${input.queues} queues x ${input.flowsPerQueue} flows) do not fit in 1..65535; lower --src-port or --flows`,
    )
  if (!Number.isInteger(dstPort) || dstPort < 1 || dstPort > 65535)
    throw badInput(`destination port ${dstPort} is out of range (1 to 65535)`)
  if (input.ratePps !== undefined && !(input.ratePps >= 1))
    throw badInput(`rate ${input.ratePps} pps is below the minimum of 1 pps`)
  if (input.count !== undefined && (!Number.isInteger(input.count) || input.count < input.queues))
    throw badInput(
      `frame count ${input.count} must be a whole number of at least one frame per queue (${input.queues})`,
    )

  const srcMacText = input.srcMac ?? env.devMac
  if (!srcMacText) throw badInput('no source MAC: give --src-mac (the device has no address of its own)')
  const ip = ipVersion === 6 ? parseIpv6 : parseIpv4
  const frame: FramePlan = {
    ipVersion,
    srcMac: parseMac(srcMacText, 'source MAC'),
    // Without a destination the frames are broadcast: every receiver on the link sees them.
    dstMac: parseMac(input.dstMac ?? 'ff:ff:ff:ff:ff:ff', 'destination MAC'),
    srcIp: ip(input.srcIp ?? (ipVersion === 6 ? DEFAULTS.srcIp6 : DEFAULTS.srcIp4), 'source IP'),
    dstIp: ip(input.dstIp ?? (ipVersion === 6 ? DEFAULTS.dstIp6 : DEFAULTS.dstIp4), 'destination IP'),
    dstPort,
    frameSize: input.frameSize,
  }
  const cpus = placeCpus(input.queues, env.onlineCpus, input.cpus)
  const rates =
    input.ratePps === undefined ? Array(input.queues).fill(0) : splitRate(input.ratePps, input.queues)
  const counts =
    input.count === undefined ? Array(input.queues).fill(0) : splitCount(input.count, input.queues)
  const queues = cpus.map((cpu, q) => ({
    queue: q,
    cpu,
    ratePps: rates[q],
    count: counts[q],
    srcPort: srcPort + q * input.flowsPerQueue,
  }))
  return {frame, flowsPerQueue: input.flowsPerQueue, burst, queues}
}
