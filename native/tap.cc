#include "tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include "vnet_hdr.h"
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "mqb_limits.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {

static TapHandle open_here(const TapOpenOptions& o) {
  if (o.name.empty() || o.name.size() >= IFNAMSIZ)
    throw std::runtime_error("tap name must be 1-15 characters: '" + o.name + "'");
  if (o.queues < 1 || o.queues > static_cast<int>(limits::kMaxQueues))
    throw std::runtime_error("tap queue count must be 1-" + std::to_string(limits::kMaxQueues));
  TapHandle h;
  std::vector<FdGuard> fds;  // closed again if a later queue fails
  for (int q = 0; q < o.queues; q++) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) throw SysError("cannot open /dev/net/tun", errno);
    fds.emplace_back(fd);
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | (o.vnet_hdr ? IFF_VNET_HDR : 0);
    std::strncpy(ifr.ifr_name, o.name.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      // EINVAL here most often means the tap exists without IFF_MULTI_QUEUE or with other flags.
      throw SysError("cannot attach queue " + std::to_string(q) + " of tap " + o.name +
                         (err == EINVAL ? " (does it exist as a single-queue tap or with other flags?)" : ""),
                     err);
    }
    h.name = ifr.ifr_name;
    if (o.vnet_hdr) {
      int len = sizeof(VnetHdr);
      check(ioctl(fd, TUNSETVNETHDRSZ, &len), "TUNSETVNETHDRSZ on " + o.name);
      h.vnet_hdr_len = len;
      if (o.offloads) check(ioctl(fd, TUNSETOFFLOAD, o.offloads), "TUNSETOFFLOAD on " + o.name);
    }
  }
  for (FdGuard& g : fds) h.fds.push_back(g.release());
  return h;
}

// The fds stay valid for the whole process and keep pointing at the tap inside that namespace.
TapHandle tap_open(const TapOpenOptions& o) {
  TapHandle h;
  in_netns(o.netns, [&] { h = open_here(o); });
  return h;
}

void tap_set_queue_attached(int fd, bool attached) {
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = attached ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
  check(ioctl(fd, TUNSETQUEUE, &ifr), attached ? "TUNSETQUEUE attach" : "TUNSETQUEUE detach");
}

unsigned tap_offload_flags(bool csum, bool tso4, bool tso6, bool ecn, bool ufo) {
  unsigned f = 0;
  if (csum) f |= TUN_F_CSUM;
  if (tso4) f |= TUN_F_TSO4;
  if (tso6) f |= TUN_F_TSO6;
  if (ecn) f |= TUN_F_TSO_ECN;
  if (ufo) f |= TUN_F_UFO;
  return f;
}

}  // namespace mqb
