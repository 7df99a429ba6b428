// The first frames of each queue, as sent, written to a classic pcap file (nanosecond variant,
// LINKTYPE_ETHERNET) for Wireshark/tshark. Senders capture into space reserved before their loop,
// so capturing costs the hot path one comparison per batch once the quota is full.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "frames.h"

namespace mqb {

struct CapturedFrame {
  uint64_t realtime_ns;  // CLOCK_REALTIME when the batch was sent
  uint32_t len;          // whole frame; bytes past hdr_len are zero
  uint16_t hdr_len;
  uint16_t queue;
  uint8_t hdr[kMaxHeaderLen];
};

// Writes the frames sorted by time; throws SysError when the file cannot be written.
void write_pcap(const std::string& path, std::vector<CapturedFrame> frames);

}  // namespace mqb
