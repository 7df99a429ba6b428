// The receiver at the far end: counts mqbench frames per queue and per flow from their payload
// header, with loss, reordering and duplicates per flow. One thread per receive queue:
//  - AF_PACKET: `sockets` sockets on dev in one PACKET_FANOUT_QM group, so socket j gets the
//    frames the kernel recorded as received on queue j (veth: the sender's TX queue; tap: the
//    queue fd the frame was written to). The matrix of (receive queue, header queue) counts is
//    what proves that thread i's frames travelled on queue i.
//  - tap: one thread per queue fd, reading the frames the kernel sends out of the tap.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "stats.h"

namespace mqb {

struct RxConfig {
  std::string dev, netns;    // AF_PACKET receiver
  int sockets = 1;           // receive queues to tell apart (fanout members)
  std::vector<int> tap_fds;  // tap receiver: one thread per fd instead
  unsigned queues = 1;       // sender queues (header queue ids 0..queues-1)
  unsigned flows_per_queue = 1;
  std::vector<int> cpus;  // thread j pinned to cpus[j % size]; empty: unpinned
};

// Per receive thread, per header queue.
struct RxQueueStats {
  Counter packets, bytes, lost, reordered, duplicates;
};

struct RxThreadStats {
  std::unique_ptr<RxQueueStats[]> by_queue;  // indexed by the queue id in the payload header
  Counter foreign;                           // frames that are not mqbench's (ARP, ND, ...)
  Counter socket_drops;                      // PACKET_STATISTICS tp_drops: the socket overflowed
};

class RxEngine : public Engine {
 public:
  explicit RxEngine(RxConfig cfg);
  const RxConfig& config() const { return cfg_; }
  size_t threads() const { return stats_.size(); }
  const RxThreadStats& stats(size_t j) const { return *stats_[j]; }
  // True once every receive socket is open and bound: frames sent after this are counted.
  bool ready() const { return ready_.load() == static_cast<int>(stats_.size()); }

 protected:
  void launch(std::vector<std::thread>& threads) override;

 private:
  void run_packet(size_t j, int fanout_id);
  void run_tap(size_t j);
  RxConfig cfg_;
  std::vector<std::unique_ptr<RxThreadStats>> stats_;
  std::atomic<int> ready_{0};
};

// Sequence tracking for one flow; serial-number arithmetic so that a 32-bit wrap is not loss.
struct FlowTrack {
  uint32_t next = 0;
  // Returns the change to lost (+gap, or -1 when a late frame fills a gap) and sets the flags.
  int64_t on_frame(uint32_t seq, bool& reordered, bool& duplicate, uint64_t lost_so_far) {
    reordered = duplicate = false;
    const int32_t d = static_cast<int32_t>(seq - next);
    if (d >= 0) {
      next = seq + 1;
      return d;
    }
    if (lost_so_far > 0) {
      reordered = true;
      return -1;
    }
    duplicate = true;
    return 0;
  }
};

}  // namespace mqb
