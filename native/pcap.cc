#include "pcap.h"

#include <algorithm>
#include <cstring>

namespace mqb {

std::string pcap_bytes(std::vector<CapturedFrame> frames) {
  std::stable_sort(frames.begin(), frames.end(), [](const CapturedFrame& a, const CapturedFrame& b) {
    return a.realtime_ns < b.realtime_ns;
  });
  // Native byte order, as libpcap writes; the magic tells readers which, and that times are in ns.
  struct {
    uint32_t magic = 0xa1b23c4d;
    uint16_t major = 2, minor = 4;
    int32_t thiszone = 0;
    uint32_t sigfigs = 0, snaplen = kMaxFrame, linktype = 1;
  } file_hdr;
  std::string out;
  size_t size = sizeof(file_hdr);
  for (const CapturedFrame& c : frames) size += 16 + c.len;
  out.reserve(size);
  out.append(reinterpret_cast<const char*>(&file_hdr), sizeof(file_hdr));
  for (const CapturedFrame& c : frames) {
    uint32_t rec[4] = {static_cast<uint32_t>(c.realtime_ns / 1000000000ull),
                       static_cast<uint32_t>(c.realtime_ns % 1000000000ull), c.len, c.len};
    out.append(reinterpret_cast<const char*>(rec), sizeof(rec));
    out.append(reinterpret_cast<const char*>(c.hdr), c.hdr_len);
    if (c.len > c.hdr_len) out.append(reinterpret_cast<const char*>(zero_tail()), c.len - c.hdr_len);
  }
  return out;
}

}  // namespace mqb
