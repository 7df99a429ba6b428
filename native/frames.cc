#include "frames.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace mqb {

static void put16(uint8_t* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}
static void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}
static void put64(uint8_t* p, uint64_t v) {
  put32(p, v >> 32);
  put32(p + 4, v & 0xffffffffu);
}
static uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
static uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(get16(p)) << 16 | get16(p + 2);
}

uint32_t csum_add(uint32_t sum, const uint8_t* data, size_t len) {
  uint64_t s = sum;
  size_t i = 0;
  for (; i + 1 < len; i += 2) s += get16(data + i);
  if (i < len) s += static_cast<uint32_t>(data[i]) << 8;
  while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
  return static_cast<uint32_t>(s);
}

uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

void build_template(FrameTemplate& t, const FrameSpec& s, uint8_t queue, uint16_t flow) {
  const size_t min = min_frame_size(s.ipv6);
  if (s.frame_size < min || s.frame_size > kMaxFrame)
    throw std::invalid_argument("frame size " + std::to_string(s.frame_size) + " is out of range (" +
                                std::to_string(min) + " to " + std::to_string(kMaxFrame) + " bytes for " +
                                (s.ipv6 ? "IPv6" : "IPv4") + ")");
  uint8_t* f = t.bytes;
  std::memset(f, 0, sizeof(t.bytes));
  t.len = s.frame_size;
  t.hdr_len = static_cast<uint32_t>(min);
  std::memcpy(f, s.dst_mac, 6);
  std::memcpy(f + 6, s.src_mac, 6);
  put16(f + 12, s.ipv6 ? 0x86DD : 0x0800);
  uint8_t* ip = f + kEthLen;
  const size_t ip_len = s.frame_size - kEthLen;
  const size_t udp_len = ip_len - (s.ipv6 ? kIpv6Len : kIpv4Len);
  uint32_t pseudo = 0;
  if (s.ipv6) {
    put32(ip, 0x60000000u);  // version 6, traffic class 0, flow label 0
    put16(ip + 4, static_cast<uint16_t>(udp_len));
    ip[6] = 17;
    ip[7] = s.ttl;
    std::memcpy(ip + 8, s.src_ip, 16);
    std::memcpy(ip + 24, s.dst_ip, 16);
    pseudo = csum_add(0, ip + 8, 32);
    uint8_t tail[8] = {0};
    put32(tail, static_cast<uint32_t>(udp_len));
    tail[7] = 17;
    pseudo = csum_add(pseudo, tail, 8);
  } else {
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(ip_len));
    put16(ip + 6, 0x4000);  // DF: these frames are never fragmented
    ip[8] = s.ttl;
    ip[9] = 17;
    std::memcpy(ip + 12, s.src_ip, 4);
    std::memcpy(ip + 16, s.dst_ip, 4);
    put16(ip + 10, static_cast<uint16_t>(~csum_fold(csum_add(0, ip, kIpv4Len))));
    pseudo = csum_add(0, ip + 12, 8);
    uint8_t tail[4] = {0, 17, 0, 0};
    put16(tail + 2, static_cast<uint16_t>(udp_len));
    pseudo = csum_add(pseudo, tail, 4);
  }
  t.udp_off = static_cast<uint32_t>(kEthLen + (s.ipv6 ? kIpv6Len : kIpv4Len));
  t.payload_off = t.udp_off + kUdpLen;
  uint8_t* udp = f + t.udp_off;
  put16(udp, s.src_port);
  put16(udp + 2, s.dst_port);
  put16(udp + 4, static_cast<uint16_t>(udp_len));
  uint8_t* ph = f + t.payload_off;
  put16(ph, kPayloadMagic);
  ph[2] = kPayloadVersion;
  ph[3] = queue;
  put16(ph + 4, flow);
  // The rest of the payload is zero, like pktgen's padding: it adds nothing to the sum.
  t.partial_sum = csum_add(pseudo, udp, t.hdr_len - t.udp_off);
}

void stamp_frame(uint8_t* f, const FrameTemplate& t, uint32_t seq, uint64_t time_ns) {
  uint8_t* ph = f + t.payload_off;
  put32(ph + 6, seq);
  put64(ph + 10, time_ns);
  // The payload header starts at an even offset from the UDP header, so its 16-bit words line
  // up with the checksum's and can simply be added to the precomputed sum.
  uint64_t s = t.partial_sum;
  s += (seq >> 16) + (seq & 0xffff);
  s += (time_ns >> 48) + ((time_ns >> 32) & 0xffff) + ((time_ns >> 16) & 0xffff) + (time_ns & 0xffff);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  uint16_t c = static_cast<uint16_t>(~s);
  put16(f + t.udp_off + 6, c == 0 ? 0xffff : c);  // 0 means "no checksum" in UDP over IPv4
}

const uint8_t* zero_tail() {
  static const uint8_t zeros[kMaxFrame] = {0};
  return zeros;
}

bool parse_frame(const uint8_t* f, size_t len, PayloadHeader& out) {
  if (len < kEthLen) return false;
  const uint16_t type = get16(f + 12);
  size_t off;
  if (type == 0x0800) {
    if (len < kEthLen + kIpv4Len || (f[kEthLen] >> 4) != 4 || f[kEthLen + 9] != 17) return false;
    off = kEthLen + (f[kEthLen] & 0xf) * 4u + kUdpLen;
  } else if (type == 0x86DD) {
    if (len < kEthLen + kIpv6Len || f[kEthLen + 6] != 17) return false;
    off = kEthLen + kIpv6Len + kUdpLen;
  } else {
    return false;
  }
  if (len < off + kPayloadHeaderLen) return false;
  const uint8_t* ph = f + off;
  if (get16(ph) != kPayloadMagic || ph[2] != kPayloadVersion) return false;
  out.queue = ph[3];
  out.flow = get16(ph + 4);
  out.seq = get32(ph + 6);
  out.time_ns = static_cast<uint64_t>(get32(ph + 10)) << 32 | get32(ph + 14);
  return true;
}

}  // namespace mqb
