#include "pcap.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sys.h"

namespace mqb {

namespace {
struct FileGuard {
  FILE* f;
  ~FileGuard() {
    if (f) fclose(f);
  }
};
}  // namespace

void write_pcap(const std::string& path, std::vector<CapturedFrame> frames) {
  std::stable_sort(frames.begin(), frames.end(), [](const CapturedFrame& a, const CapturedFrame& b) {
    return a.realtime_ns < b.realtime_ns;
  });
  FileGuard g{fopen(path.c_str(), "wb")};
  if (!g.f) throw SysError("cannot write pcap file " + path, errno);
  // Native byte order, as libpcap writes; the magic tells readers which, and that times are in ns.
  struct {
    uint32_t magic = 0xa1b23c4d;
    uint16_t major = 2, minor = 4;
    int32_t thiszone = 0;
    uint32_t sigfigs = 0, snaplen = kMaxFrame, linktype = 1;
  } file_hdr;
  bool ok = fwrite(&file_hdr, sizeof(file_hdr), 1, g.f) == 1;
  for (const CapturedFrame& c : frames) {
    uint32_t rec[4] = {static_cast<uint32_t>(c.realtime_ns / 1000000000ull),
                       static_cast<uint32_t>(c.realtime_ns % 1000000000ull), c.len, c.len};
    ok = ok && fwrite(rec, sizeof(rec), 1, g.f) == 1 && fwrite(c.hdr, 1, c.hdr_len, g.f) == c.hdr_len;
    if (c.len > c.hdr_len) ok = ok && fwrite(zero_tail(), 1, c.len - c.hdr_len, g.f) == c.len - c.hdr_len;
  }
  if (!ok) throw SysError("cannot write pcap file " + path, errno ? errno : EIO);
  if (fclose(g.f) != 0) {
    g.f = nullptr;
    throw SysError("cannot write pcap file " + path, errno);
  }
  g.f = nullptr;
}

}  // namespace mqb
