// Per-thread frame senders behind one small interface, so that the generator's loop (gen.cc) is
// the same for an AF_PACKET socket and a tap queue fd. A sender only moves a batch: it never
// builds, counts or times frames.
#pragma once
#include <sys/socket.h>

#include <memory>
#include <string>

namespace mqb {

class TxQueue {
 public:
  virtual ~TxQueue() = default;
  // Sends msgs[0..n) in order and returns how many the device took from the start. 0 means
  // back-pressure (the device or socket is full: EAGAIN/ENOBUFS), never an error: the caller
  // retries the rest. Anything else throws SysError.
  virtual unsigned send(struct mmsghdr* msgs, unsigned n) = 0;
  // Called once at the end: pushes out what the sender still holds (a TX ring) for up to
  // `budget_ns`, and returns how many frames send() accepted that never left.
  virtual unsigned long finish(unsigned long long /*budget_ns*/) { return 0; }
};

// An AF_PACKET raw socket bound to `dev` in the calling thread's network namespace. With
// qdisc_bypass (PACKET_QDISC_BYPASS) frames go straight to the driver, and the kernel picks the
// TX queue from the sending CPU (packet_pick_tx_queue: cpu % real_num_tx_queues, unless XPS or
// the driver's ndo_select_queue decides); without it they pass the qdisc like any socket's.
// With tx_ring, frames are copied into a PACKET_TX_RING (TPACKET_V2) and one send() hands a whole
// batch to the kernel, which walks the ring itself: no per-frame msghdr, iovec import or LSM hook,
// as trafgen does. A frame the driver refuses stays in the ring and goes out with the next kick.
std::unique_ptr<TxQueue> open_packet_tx(const std::string& dev, bool qdisc_bypass, bool tx_ring = false,
                                        unsigned max_frame = 0);

// Opens an AF_PACKET socket for `dev` and closes it again: the cheap check that a sender could
// start (CAP_NET_RAW, the interface exists), made before any thread starts.
void probe_packet_tx(const std::string& dev, const std::string& netns);

}  // namespace mqb
