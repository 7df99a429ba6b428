// Test frames: Ethernet + IPv4/IPv6 + UDP with valid checksums and an 18-byte payload header
// (magic, queue, flow, sequence number, send time) that fits a minimum 60-byte IPv4 frame.
// A template is built once per flow; per frame only the sequence number, the send time and the
// UDP checksum change, and the checksum is updated from a precomputed partial sum, so the hot
// loop never sums the frame again.
#pragma once
#include <cstddef>
#include <cstdint>

#include "mqb_limits.h"

namespace mqb {

// Payload header, big-endian, at the start of the UDP payload:
//   0 u16 magic 0x4D51 ("MQ")  2 u8 version  3 u8 queue  4 u16 flow  6 u32 seq  10 u64 send time (ns)
constexpr uint16_t kPayloadMagic = 0x4D51;
constexpr uint8_t kPayloadVersion = 1;
constexpr size_t kPayloadHeaderLen = 18;
constexpr size_t kEthLen = 14, kIpv4Len = 20, kIpv6Len = 40, kUdpLen = 8;
constexpr size_t kMaxFrame = limits::kMaxFrameBytes;

struct FrameSpec {
  uint8_t src_mac[6], dst_mac[6];
  bool ipv6 = false;
  uint8_t src_ip[16], dst_ip[16];  // IPv4 uses the first 4 bytes
  uint16_t src_port = 9, dst_port = 9;
  uint32_t frame_size = 60;  // Ethernet header to the end of the payload, without FCS
  uint8_t ttl = 64;
};

// Bytes in front of the payload header (Ethernet + IP + UDP).
inline size_t l2_to_payload(bool ipv6) {
  return kEthLen + (ipv6 ? kIpv6Len : kIpv4Len) + kUdpLen;
}
inline size_t min_frame_size(bool ipv6) {
  return l2_to_payload(ipv6) + kPayloadHeaderLen;
}

// One flow's frame, ready to be stamped. Only the headers are kept: the rest of the payload is
// zero, and senders send it from one shared zero buffer (a second iovec), so a 9000-byte frame
// costs no copy and a thousand flows no memory.
constexpr size_t kMaxHeaderLen = 96;
struct FrameTemplate {
  uint8_t bytes[kMaxHeaderLen];
  uint32_t len = 0;          // whole frame
  uint32_t hdr_len = 0;      // bytes[0..hdr_len) = headers + payload header; the rest is zeros
  uint32_t udp_off = 0;      // offset of the UDP header
  uint32_t payload_off = 0;  // offset of the payload header
  uint32_t partial_sum = 0;  // ones'-complement sum of pseudo-header + UDP with seq/time zero
};

// Builds the frame for (queue, flow) with seq 0 and time 0; throws std::invalid_argument when
// the size is out of range for the IP version.
void build_template(FrameTemplate& t, const FrameSpec& spec, uint8_t queue, uint16_t flow);

// Writes seq, time and the matching UDP checksum into a copy of the template's header bytes.
// `hdr` holds hdr_len bytes copied from the template.
void stamp_frame(uint8_t* hdr, const FrameTemplate& t, uint32_t seq, uint64_t time_ns);

// Ones'-complement helpers, exposed for tests and for the receiver.
uint32_t csum_add(uint32_t sum, const uint8_t* data, size_t len);  // len may be odd
uint16_t csum_fold(uint32_t sum);                                  // folded, not inverted

struct PayloadHeader {
  uint8_t queue;
  uint16_t flow;
  uint32_t seq;
  uint64_t time_ns;
};

// Parses the payload header of a received Ethernet frame (IPv4 or IPv6, UDP, no VLAN tag);
// false when the frame is not one of ours.
bool parse_frame(const uint8_t* frame, size_t len, PayloadHeader& out);

// A shared buffer of zeros at least kMaxFrame bytes long: the payload tail of every frame.
const uint8_t* zero_tail();

}  // namespace mqb
