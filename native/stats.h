// Per-thread counters. Each worker owns one slot and is its only writer (relaxed stores);
// the N-API layer reads every slot without locks while the workers run. Slots are padded
// to a cache line so that two workers on two CPUs never share one.
#pragma once
#include <atomic>
#include <cstdint>

namespace mqb {

struct alignas(64) Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(uint64_t n) { v.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

}  // namespace mqb
