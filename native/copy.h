// A bulk copy over one TCP connection, checksummed at both ends: the migration case's payload
// (docs/agent.md `copy_recv_*`, src/native.ts `copy`). The sender writes exactly `bytes` bytes of
// content made from a seed (so no file has to exist at either end), paced to a rate so that the
// copy is still running while the guest migrates; the receiver takes one connection and reads
// to its end. Each side folds every byte it wrote or read into a 64-bit FNV-1a, so the two sums
// agree only when every byte arrived once, in order, unchanged.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "engine.h"
#include "stats.h"
#include "sys.h"

namespace mqb {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
uint64_t fnv1a64(uint64_t h, const uint8_t* p, size_t n);

// The content at [offset, offset + n): 8 bytes of splitmix64(seed + k) for the k-th 8-byte word,
// little endian; any offset, so a sender may write in chunks of any size.
void copy_content(uint64_t seed, uint64_t offset, uint8_t* out, size_t n);

struct CopyOptions {
  bool send = false;
  // sender: the destination; receiver: the address to bind (port 0 picks one)
  std::string address;
  uint16_t port = 0;
  // the sender writes exactly this many; the receiver fails when the connection ends short of it
  uint64_t bytes = 0;
  uint64_t seed = 0;
  uint64_t rate_bytes_per_sec = 0;  // 0: as fast as the socket takes it
  uint64_t timeout_ms = 600000;     // the whole copy, connect or accept included
  std::string netns;                // the sender's namespace (host side); empty: the current one
};

class CopyEngine : public Engine {
 public:
  explicit CopyEngine(CopyOptions o);
  const CopyOptions& config() const { return o_; }
  // The receiver's bound port (after the constructor); the sender's destination port.
  uint16_t port() const { return port_; }
  uint64_t bytes() const { return bytes_.get(); }
  uint64_t checksum() const { return sum_.get(); }
  uint64_t start_ns() const { return start_ns_.get(); }
  uint64_t end_ns() const { return end_ns_.get(); }
  bool connected() const { return start_ns_.get() != 0; }

 protected:
  void launch(std::vector<std::thread>& threads) override;

 private:
  void run_send();
  void run_recv();
  CopyOptions o_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  FdGuard listen_;
  uint16_t port_ = 0;
  Counter bytes_, sum_, start_ns_, end_ns_;
};

}  // namespace mqb
