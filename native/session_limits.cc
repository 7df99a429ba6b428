#include "session_limits.h"

#include <dirent.h>
#include <sys/resource.h>

#include <fstream>

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

}  // namespace mqb
