// Multiqueue tap devices (IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE): one fd per queue, as qemu's
// tap backend opens them for a multiqueue virtio-net device. A tap that mqbench creates is not
// persistent, so the kernel removes it when the last fd closes, even after a crash.
#pragma once
#include <string>
#include <vector>

namespace mqb {

struct TapOpenOptions {
  std::string name;       // interface name; created if absent
  int queues = 1;         // fds to open, one per queue
  bool vnet_hdr = false;  // IFF_VNET_HDR: every frame carries a struct virtio_net_hdr
  unsigned offloads = 0;  // TUNSETOFFLOAD flags (TUN_F_CSUM | TUN_F_TSO4 | ...), needs vnet_hdr
  std::string netns;      // namespace in which to open (and create) the tap; "" = current
};

struct TapHandle {
  std::string name;      // the name the kernel gave (same as requested)
  std::vector<int> fds;  // fds[i] serves queue i
  int vnet_hdr_len = 0;  // bytes of virtio_net_hdr in front of each frame (0 without vnet_hdr)
};

TapHandle tap_open(const TapOpenOptions& opts);

// TUNSETQUEUE: IFF_ATTACH_QUEUE / IFF_DETACH_QUEUE, what qemu does when a guest runs
// `ethtool -L combined N`. Detaching a queue renumbers the remaining ones in the kernel's view.
void tap_set_queue_attached(int fd, bool attached);

// TUN_F_* offload bits by name, for the N-API surface.
unsigned tap_offload_flags(bool csum, bool tso4, bool tso6, bool ecn, bool ufo);

}  // namespace mqb
