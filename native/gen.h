// The packet generator: one thread per queue, pinned to its CPU, with its own sender (socket or
// tap fd), its own flows and its own counters, as pktgen's flow-per-thread sample and trafgen
// do. Every run is bounded by its duration, and also by its frame count when one is given.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "frames.h"
#include "pcap.h"
#include "stats.h"
#include "tx_xdp.h"

namespace mqb {

struct GenQueueConfig {
  int cpu = -1;           // -1: unpinned
  double rate_pps = 0;    // 0: as fast as the device takes them
  uint64_t count = 0;     // 0: bounded by the duration only
  uint16_t src_port = 9;  // flow f of this queue uses src_port + f
  int tap_fd = -1;        // tap backend: this queue's fd
};

struct GenConfig {
  bool tap = false;  // false: AF_PACKET on dev
  bool xdp = false;  // an AF_XDP socket on queue i of dev for thread i, instead of AF_PACKET
  XdpMode xdp_mode = XdpMode::automatic;
  std::string dev, netns;  // packet backend: the threads enter netns and bind to dev
  bool qdisc_bypass = true;
  bool tx_ring = false;  // PACKET_TX_RING instead of sendmmsg
  FrameSpec spec;
  unsigned flows_per_queue = 1;
  unsigned burst = 32;
  uint64_t duration_ns = 0;
  std::vector<GenQueueConfig> queues;
  unsigned capture_per_queue = 0;  // first frames of each queue kept for a pcap file
};

struct GenQueueStats {
  Counter packets, bytes;
  Counter refused;  // send attempts the device or socket pushed back (retried, not lost)
  Counter start_ns, end_ns;
  Counter xdp_mode;  // AF_XDP: 1 copy, 2 zero-copy (set once the socket is bound); 0 otherwise
};

class GenEngine : public Engine {
 public:
  explicit GenEngine(GenConfig cfg);
  const GenConfig& config() const { return cfg_; }
  const GenQueueStats& stats(size_t q) const { return stats_[q]; }
  // The captured frames of every queue; only after join().
  std::vector<CapturedFrame> captured() const;

 protected:
  void launch(std::vector<std::thread>& threads) override;

 private:
  void run_queue(size_t q);
  GenConfig cfg_;
  std::unique_ptr<GenQueueStats[]> stats_;
  std::vector<std::vector<CapturedFrame>> captures_;
};

// Frames a token bucket allows at `elapsed_ns` after the start at `rate_pps`, given `sent` so
// far; the first frame is due at once. Exposed for the generator's own checks.
inline uint64_t frames_due(uint64_t elapsed_ns, double rate_pps, uint64_t sent) {
  const uint64_t allowed = static_cast<uint64_t>(static_cast<long double>(elapsed_ns) * rate_pps / 1e9L) + 1;
  return allowed > sent ? allowed - sent : 0;
}

}  // namespace mqb
