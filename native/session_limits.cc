#include "session_limits.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

FdLimit raise_fd_limit() {
  rlimit r{};
  check(getrlimit(RLIMIT_NOFILE, &r), "getrlimit RLIMIT_NOFILE");
  if (r.rlim_cur < r.rlim_max) {
    rlimit up = r;
    up.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) r = up;
  }
  auto finite = [](rlim_t v) { return v == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(v); };
  return {finite(r.rlim_cur), finite(r.rlim_max)};
}

uint64_t open_files_in_use() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) throw SysError("cannot list /proc/self/fd", errno);
  uint64_t n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

PortRange local_port_range(const std::string& netns) {
  PortRange p;
  // /proc/sys/net shows the namespace of the thread that opens it.
  in_netns(netns, [&] {
    std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
    if (!(f >> p.low >> p.high)) throw SysError("cannot read /proc/sys/net/ipv4/ip_local_port_range", EIO);
  });
  return p;
}

LocalPorts::LocalPorts(const std::string& netns) {
  std::string reserved;
  in_netns(netns, [&] {
    std::ifstream r("/proc/sys/net/ipv4/ip_local_port_range");
    if (!(r >> range_.low >> range_.high))
      throw SysError("cannot read /proc/sys/net/ipv4/ip_local_port_range", EIO);
    std::ifstream f("/proc/sys/net/ipv4/ip_local_reserved_ports");
    std::getline(f, reserved);  // "" or "8080,9000-9100"
  });
  std::stringstream list(reserved);
  for (std::string item; std::getline(list, item, ',');) {
    if (item.empty()) continue;
    size_t dash = item.find('-');
    int lo = std::stoi(item.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
    reserved_.emplace_back(lo, hi);
  }
  // A random start, as the kernel's own choice has, so that tests started together do not all
  // begin at the same port and walk over each other's.
  if (range_.count() > 0) start_ = std::random_device{}() % static_cast<uint32_t>(range_.count());
}

bool LocalPorts::reserved(int port) const {
  for (auto& [lo, hi] : reserved_)
    if (port >= lo && port <= hi) return true;
  return false;
}

bool LocalPorts::bind_next(int fd, int family) {
  auto count = static_cast<uint32_t>(range_.count());
  for (uint32_t i; (i = taken_.fetch_add(1, std::memory_order_relaxed)) < count;) {
    int port = range_.low + static_cast<int>((start_ + i) % count);
    if (reserved(port)) continue;
    sockaddr_storage a{};
    socklen_t len;
    if (family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
      v6->sin6_family = AF_INET6;
      v6->sin6_addr = in6addr_any;
      v6->sin6_port = htons(static_cast<uint16_t>(port));
      len = sizeof(sockaddr_in6);
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
      v4->sin_family = AF_INET;
      v4->sin_addr.s_addr = htonl(INADDR_ANY);
      v4->sin_port = htons(static_cast<uint16_t>(port));
      len = sizeof(sockaddr_in);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0) return true;
    if (errno != EADDRINUSE && errno != EACCES)
      throw SysError("cannot bind a data session's local port", errno);
  }
  return false;
}

}  // namespace mqb
