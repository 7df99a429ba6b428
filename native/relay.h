// The multiqueue tap relay: a userspace virtio-net backend between two multiqueue taps. Queue i
// of tap A is joined to queue i of tap B by one worker thread, the way qemu (without vhost) or a
// vhost worker serves one virtqueue pair: frames keep their virtio_net_hdr, so GSO super-frames
// and partial checksums pass untouched (FACTS.md: without vnet_hdr + offloads a relay moves
// ~2 Gbit/s with retransmits). One worker per queue pair means one queue is served serially,
// exactly the bottleneck of single-queue virtio-net.
//
// The relay borrows the queue fds (the caller opened them and closes them); it serves the fds
// it is given, so a queue-count change is: stop, TUNSETQUEUE attach/detach, start with the
// attached fds. No N-API type here.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine.h"
#include "stats.h"

namespace mqb {

struct RelayOptions {
  std::vector<int> fds_a;  // queue fds of tap A, index = queue
  std::vector<int> fds_b;  // queue fds of tap B, same length
  std::vector<int> cpus;   // CPU per worker (cycled); empty = unpinned
  int vnet_hdr_len = 0;    // bytes of virtio_net_hdr in front of each frame on both taps
};

// Counters of one direction of one queue; each written by its worker only.
struct RelayDirection {
  Counter frames;  // frames written to the other tap
  Counter bytes;   // bytes of those frames, virtio_net_hdr excluded
  Counter drops;   // frames read but refused by the other tap (write error)
};

struct RelayQueue {
  RelayDirection a_to_b;
  RelayDirection b_to_a;
};

class Relay : public Engine {
 public:
  explicit Relay(RelayOptions opts);
  size_t queue_count() const { return opts_.fds_a.size(); }
  const RelayQueue& queue(size_t i) const { return *queues_[i]; }

 protected:
  void launch(std::vector<std::thread>& threads) override;

 private:
  void serve(size_t q);
  RelayOptions opts_;
  std::vector<std::unique_ptr<RelayQueue>> queues_;
};

}  // namespace mqb
