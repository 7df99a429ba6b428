// The host limits a test of many sessions meets before any socket opens: open files
// (RLIMIT_NOFILE) and the local ports one destination offers (net.ipv4.ip_local_port_range, per
// network namespace). Both sides ask before starting an engine, so that a test too large for the
// host is refused with one line naming the limit, instead of failing half-connected.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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

// Local ports for a client's persistent TCP connections (TCP_RR, the streams), each bound before its
// connect(). Why not the kernel's choice: once half of ip_local_port_range is in use towards one
// destination, connect() (__inet_hash_connect) walks every port of one parity before each success,
// so the ramp grows with the square of the session count. Measured on loopback (kernel 6.18, 2
// vCPUs): 10,000 sessions connected in 0.4 s, 19,900 in 3.2-7 s, with 42% of the CPU in
// __inet_hash_connect and __inet_check_established. Here the range is walked once, in order from a
// random start shared by the test's threads, skipping ip_local_reserved_ports and ports in use
// (bind's EADDRINUSE, which also covers TIME_WAIT): one bind() per session.
class LocalPorts {
 public:
  // Reads the range and the reserved ports as `netns` ("" = the caller's) sees them.
  explicit LocalPorts(const std::string& netns);
  // Binds fd (a TCP socket of `family`, not yet bound) to a free port of the range. False once the
  // walk has gone round the whole range: the caller then lets connect() choose, as it would have.
  bool bind_next(int fd, int family);

 private:
  bool reserved(int port) const;

  PortRange range_;
  std::vector<std::pair<int, int>> reserved_;  // inclusive ranges
  uint32_t start_ = 0;
  std::atomic<uint32_t> taken_{0};  // ports of the range tried so far
};

}  // namespace mqb
