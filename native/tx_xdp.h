// An AF_XDP TX-only sender behind the generator's TxQueue interface: one socket bound to one queue
// id of a device, with its own UMEM. Frames do not pass AF_PACKET's per-frame path (skb from a
// msghdr, LSM hook, packet_direct_xmit): the kernel takes descriptors from a TX ring that the
// thread fills and kicks with sendto(MSG_DONTWAIT), and returns the chunks on a completion ring.
// No XDP program is loaded: TX needs none. Only the uapi header linux/if_xdp.h is used.
#pragma once
#include <memory>
#include <string>

#include "tx_packet.h"

namespace mqb {

enum class XdpMode { automatic, zerocopy, copy };

struct XdpOptions {
  XdpMode mode = XdpMode::automatic;
  unsigned burst = 32;      // the TX and completion rings hold 4 bursts, at least 64 descriptors
  unsigned frame_len = 60;  // frames above one UMEM chunk (a page) need XDP_USE_SG
};

// Opens the socket bound to (dev, queue_id) in the calling thread's namespace. `zerocopy` says
// which mode the kernel chose. Throws SysError: EAFNOSUPPORT (no AF_XDP), EPERM (CAP_NET_RAW),
// ENOBUFS at UMEM registration (RLIMIT_MEMLOCK), EINVAL at bind (no such queue), EOPNOTSUPP
// (zero-copy asked for and the driver has none), EBUSY (queue bound by another socket), EMSGSIZE
// (frame above a chunk and the kernel has no XDP_USE_SG).
std::unique_ptr<TxQueue> open_xdp_tx(const std::string& dev, unsigned queue_id, const XdpOptions& opts,
                                     bool* zerocopy);

// Opens and closes a socket on queue 0 of dev from a thread in netns: the check that the senders
// could start, made before any thread starts. Returns true when the kernel chose zero-copy.
bool probe_xdp_tx(const std::string& dev, const std::string& netns, const XdpOptions& opts);

}  // namespace mqb
