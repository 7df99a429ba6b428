// Per-session latency histogram in HdrHistogram's own bucket layout, so that TypeScript can load
// the buckets into hdr-histogram-js (src/results/histogram.ts) without re-binning.
//
// Layout (HdrHistogram with lowestDiscernibleValue = 1 ns, highestTrackableValue = 60 s,
// 3 significant digits):
//   - sub-bucket count 2048 (the power of two >= 2 * 10^3), half count 1024;
//   - bucket 0 holds 0..2047 ns at 1 ns resolution; bucket b >= 1 holds 1024..2047 sub-buckets of
//     width 2^b ns, i.e. values 2^(b+10) .. 2^(b+11)-1;
//   - 26 buckets reach 2^36 ns (68.7 s) > 60 s, so the counts array has (26 + 1) * 1024 = 27,648
//     slots (108 KiB of 32-bit counts per session, allocated once when the session is set up).
// Error bound: a recorded value v is reported as its bucket's lowest equivalent value, which is
// within v / 1024 (< 0.1%) of v; values below 2,048 ns are exact. Values above 60 s are clamped
// to 60 s.
//
// One writer (the session's thread) and no locks: the counts are read only after the thread
// has been joined. 32-bit counts overflow after 4.29e9 transactions of one latency value in one
// session, far beyond any test length.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mqb {

class LatencyHistogram {
 public:
  static constexpr uint64_t kHighestNs = 60ull * 1000 * 1000 * 1000;
  static constexpr int kSubBucketCountMagnitude = 11;  // 2048 sub-buckets
  static constexpr int kSubBucketHalfCountMagnitude = kSubBucketCountMagnitude - 1;
  static constexpr uint64_t kSubBucketHalfCount = 1ull << kSubBucketHalfCountMagnitude;
  static constexpr uint64_t kSubBucketMask = (1ull << kSubBucketCountMagnitude) - 1;
  static constexpr int kBucketCount = 26;
  static constexpr size_t kCountsLen = (kBucketCount + 1) * kSubBucketHalfCount;

  LatencyHistogram() : counts_(kCountsLen, 0) {}

  void record(uint64_t ns) {
    counts_[index_of(ns > kHighestNs ? kHighestNs : ns)]++;
    total_++;
  }
  void reset();
  uint64_t total() const { return total_; }

  static size_t index_of(uint64_t v) {
    // bucket = position of the highest set bit above the sub-bucket range (HdrHistogram's
    // getBucketIndex with unitMagnitude 0: 64 - 11 - clz(v | mask)).
    int bucket = (64 - kSubBucketCountMagnitude) - __builtin_clzll(v | kSubBucketMask);
    uint64_t sub = v >> bucket;
    return (static_cast<size_t>(bucket + 1) << kSubBucketHalfCountMagnitude) + (sub - kSubBucketHalfCount);
  }
  // The lowest value that maps to counts index `idx` (HdrHistogram's valueFromIndex).
  static uint64_t value_at(size_t idx);

  // Calls f(lowest_value_ns, count) for every non-empty bucket, in increasing value order.
  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < counts_.size(); i++)
      if (counts_[i]) f(value_at(i), counts_[i]);
  }

 private:
  std::vector<uint32_t> counts_;
  uint64_t total_ = 0;
};

}  // namespace mqb
