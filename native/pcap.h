// The first frames of each queue, as sent, as a classic pcap file (nanosecond variant,
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

// The pcap file of the frames, sorted by time; the caller writes it (src/host/files.ts, atomically,
// so that a full disk never leaves a cut-off capture in place of an earlier one).
std::string pcap_bytes(std::vector<CapturedFrame> frames);

}  // namespace mqb
