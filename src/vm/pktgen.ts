// The kernel's own packet generator in the guest (pktgen, /proc/net/pktgen): one device per
// queue, `DEV@K` on kernel thread kpktgend_K (bound to CPU K) with queue_map_min/max K, so
// thread K sends on TX queue K. Run from one shell script through the agent's exec: modprobe,
// configure, start in the background, stop after the duration, print each device's file, reset
// and rmmod, so that the guest ends as it began.
import type {AgentFacade} from './agent-ops.js'

export interface PktgenOptions {
  dev: string
  queues: number
  /** frame size without the FCS (pktgen's pkt_size) */
  pktSize: number
  dstIp: string
  dstMac: string
  durationMs: number
  /** per queue: the run also ends here (a bound on the count, not only on the time) */
  countPerQueue: number
}

/** Marks the script prints so the parser can split its output. */
const MARK = '@@mqb-pktgen'

export function pktgenScript(o: PktgenOptions): string {
  const devs = Array.from({length: o.queues}, (_, k) => k)
  const set = (k: number) =>
    [
      `count ${o.countPerQueue}`,
      `pkt_size ${o.pktSize}`,
      `dst ${o.dstIp}`,
      `dst_mac ${o.dstMac}`,
      `queue_map_min ${k}`,
      `queue_map_max ${k}`,
      'delay 0',
    ]
      .map((c) => `echo "${c}" > $P/${o.dev}@${k}`)
      .join('\n')
  return `P=/proc/net/pktgen
modprobe pktgen || exit 3
trap 'echo reset > $P/pgctrl 2>/dev/null; rmmod pktgen' EXIT
${devs.map((k) => `echo rem_device_all > $P/kpktgend_${k} && echo "add_device ${o.dev}@${k}" > $P/kpktgend_${k} || exit 4\n${set(k)}`).join('\n')}
(echo start > $P/pgctrl) &
sleep ${(o.durationMs / 1000).toFixed(3)}
echo stop > $P/pgctrl
wait
${devs.map((k) => `echo "${MARK} ${k}"; cat $P/${o.dev}@${k}`).join('\n')}
`
}

export interface PktgenQueue {
  queue: number
  packets: number
  errors: number
  /** pktgen's own rate over its run */
  pps: number
}

/** Each device's "pkts-sofar N errors: E" and "Result: OK: ... NNNpps". */
export function parsePktgenOutput(text: string): PktgenQueue[] {
  const out: PktgenQueue[] = []
  for (const part of text.split(MARK).slice(1)) {
    const queue = Number(/^\s*(\d+)/.exec(part)?.[1])
    const sofar = /pkts-sofar:\s*(\d+)\s+errors:\s*(\d+)/.exec(part)
    const pps = /Result: OK:[\s\S]*?(\d+)pps/.exec(part)
    if (!Number.isInteger(queue) || !sofar) continue
    out.push({queue, packets: Number(sofar[1]), errors: Number(sofar[2]), pps: pps ? Number(pps[1]) : 0})
  }
  return out
}

export type PktgenRun = {ran: true; queues: PktgenQueue[]} | {ran: false; reason: string}

/**
 * Runs pktgen in the guest; `ran: false` with the reason when the guest kernel has no pktgen
 * (modprobe failed: neither built in nor in the image, which carries it when the kernel has it).
 */
export async function runPktgen(agent: AgentFacade, o: PktgenOptions): Promise<PktgenRun> {
  const timeoutMs = o.durationMs + 15_000
  const r = await agent.exec(['sh', '-c', pktgenScript(o)], timeoutMs, {timeoutMs: timeoutMs + 5000})
  if (r.status === 3)
    return {ran: false, reason: `modprobe pktgen failed in the guest: ${r.stderr.trim() || 'no module'}`}
  if (r.status !== 0 || r.timedOut)
    throw new Error(
      `pktgen in the guest: ${r.timedOut ? `did not end within ${timeoutMs / 1000} s` : `status ${r.status}`}: ${r.stderr.trim()}`,
    )
  return {ran: true, queues: parsePktgenOutput(r.stdout)}
}
