// The host limits a test of many sessions meets before any socket opens: open files
// (RLIMIT_NOFILE) and the local ports one destination offers (net.ipv4.ip_local_port_range, per
// network namespace). Both sides ask before starting an engine, so that a test too large for the
// host is refused with one line naming the limit, instead of failing half-connected.
#pragma once
#include <cstdint>
#include <string>

namespace mqb {

struct FdLimit {
  uint64_t soft = 0, hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard one (an unprivileged process may) and returns both.
FdLimit raise_fd_limit();

// Descriptors this process has open now (/proc/self/fd): a server may hold other tests' sockets.
uint64_t open_files_in_use();

// Descriptors a test needs beyond its sessions' sockets (src/sessions/host-limits.ts RESERVED_FDS).
constexpr uint64_t kReservedFds = 64;

// net.ipv4.ip_local_port_range as seen from `netns` ("" = the caller's): how many connections one
// local address can open to one destination address and port.
struct PortRange {
  int low = 0, high = 0;
  int count() const { return high >= low ? high - low + 1 : 0; }
};
PortRange local_port_range(const std::string& netns);

}  // namespace mqb
