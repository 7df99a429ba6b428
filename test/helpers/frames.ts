// The frame options tests hand the native frame builder and senders: IPv4 from 198.18.0.1 to
// 198.18.0.2 (RFC 2544 benchmarking range), UDP to the discard port, the smallest frame.
export const FRAME_V4 = {
  ipv6: false,
  srcMac: [2, 0, 0, 0, 0, 1],
  dstMac: [2, 0, 0, 0, 0, 2],
  srcIp: [198, 18, 0, 1],
  dstIp: [198, 18, 0, 2],
  dstPort: 9,
  frameSize: 60,
}
