// Frame sizes as mqbench counts them: `--frame-size` is the Ethernet frame from the destination MAC to
// the end of the payload, without the 4-byte FCS, which is also what the kernel's byte counters
// count. The wire adds FCS, preamble and inter-frame gap, which matters only for line rate.

export const FCS_BYTES = 4
/** The smallest IPv4 frame, 64 bytes on a wire with its FCS (pktgen's default too): gen and scale's gen workload. */
export const DEFAULT_FRAME_SIZE = 60
/** Preamble (7) + start of frame delimiter (1) + minimum inter-frame gap (12). */
export const WIRE_OVERHEAD_BYTES = 20
/** mqbench's payload header: magic, version, queue, flow, sequence number, send time. */
export const PAYLOAD_HEADER_BYTES = 18

/** Ethernet + IP + UDP header bytes in front of the payload header. */
export function headerBytes(ipVersion: 4 | 6): number {
  return 14 + (ipVersion === 6 ? 40 : 20) + 8
}

/** The smallest frame that carries the payload header: 60 for IPv4 (a 64-byte frame with FCS), 80 for IPv6. */
export function minFrameSize(ipVersion: 4 | 6): number {
  return Math.max(60, headerBytes(ipVersion) + PAYLOAD_HEADER_BYTES)
}

/** Bytes one frame occupies on an Ethernet wire, for line-rate arithmetic. */
export function wireBytes(frameSize: number): number {
  return frameSize + FCS_BYTES + WIRE_OVERHEAD_BYTES
}

/** The MTU a device needs to carry frames of this size (the IP packet inside the frame). */
export function mtuFor(frameSize: number): number {
  return frameSize - 14
}
