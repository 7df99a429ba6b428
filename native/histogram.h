// Per-session latency histogram in HdrHistogram's own bucket layout, so that a histogram's counts
// index is HdrHistogram's: sessions merge by adding counts, and the encoding (encode_hdr_v2) is
// what hdr-histogram-js decodes (src/sessions/latency.ts compresses it for the results file).
//
// Layout (HdrHistogram with lowestDiscernibleValue = 1 ns, highestTrackableValue = 60 s,
// 3 significant digits):
//   - sub-bucket count 2048 (the power of two >= 2 * 10^3), half count 1024;
//   - bucket 0 holds 0..2047 ns at 1 ns resolution; bucket b >= 1 holds 1024..2047 sub-buckets of
//     width 2^b ns, i.e. values 2^(b+10) .. 2^(b+11)-1;
//   - 26 buckets reach 2^36 ns (68.7 s) > 60 s, so a dense counts array has (26 + 1) * 1024 =
//     27,648 slots.
// Error bound: a recorded value v is reported as its bucket's lowest equivalent value, which is
// within v / 1024 (< 0.1%) of v; values below 2,048 ns are exact. Values above 60 s are clamped
// to 60 s.
//
// Storage grows with what a session records, not with the layout: counts start in a small
// open-addressing table of (index, count) pairs (nothing until the first value, then 16 slots =
// 128 bytes, doubling at half full) and become the dense array (108 KiB of 32-bit counts) only
// once a session has seen more than 2,048 distinct buckets, where the table would cost a third of
// the array anyway. At 10,000 sessions each sees a few dozen distinct latencies per second, so the
// table keeps them at hundreds of bytes instead of 1 GB of mostly empty arrays (docs/sessions.md).
//
// One writer (the session's thread) and no locks: the counts are read only after the thread
// has been joined. 32-bit counts overflow after 4.29e9 transactions of one latency value in one
// session, far beyond any test length.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mqb {

// A histogram's non-empty counts, by increasing index.
using HistogramCounts = std::vector<std::pair<uint32_t, uint64_t>>;

// What a report shows of a histogram, in microseconds, computed exactly as hdr-histogram-js does
// (src/results/histogram.ts summarizeHistogram): percentiles and max are the highest equivalent
// value of the bucket that reaches the percentile, min the lowest of the lowest non-empty bucket,
// mean the count-weighted middle of each bucket.
struct LatencySummary {
  uint64_t count = 0;
  double min_us = 0, mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

class LatencyHistogram {
 public:
  static constexpr uint64_t kLowestNs = 1;
  static constexpr uint64_t kHighestNs = 60ull * 1000 * 1000 * 1000;
  static constexpr int kSignificantDigits = 3;
  static constexpr int kSubBucketCountMagnitude = 11;  // 2048 sub-buckets
  static constexpr int kSubBucketHalfCountMagnitude = kSubBucketCountMagnitude - 1;
  static constexpr uint64_t kSubBucketHalfCount = 1ull << kSubBucketHalfCountMagnitude;
  static constexpr uint64_t kSubBucketMask = (1ull << kSubBucketCountMagnitude) - 1;
  static constexpr int kBucketCount = 26;
  static constexpr size_t kCountsLen = (kBucketCount + 1) * kSubBucketHalfCount;
  static constexpr size_t kFirstSlots = 16;
  static constexpr size_t kMaxSlots = 4096;  // beyond 2,048 distinct buckets: dense

  void record(uint64_t ns) {
    auto idx = static_cast<uint32_t>(index_of(ns > kHighestNs ? kHighestNs : ns));
    if (!dense_.empty())
      dense_[idx]++;
    else
      add_sparse(idx);
    total_++;
  }
  uint64_t total() const { return total_; }
  bool dense() const { return !dense_.empty(); }
  // Heap bytes the counts occupy now (what a session's histogram costs).
  size_t memory_bytes() const {
    return slots_.capacity() * sizeof(Slot) + dense_.capacity() * sizeof(uint32_t);
  }
  // The non-empty counts by increasing index.
  HistogramCounts counts() const;
  // Adds every count into a dense array of kCountsLen slots (the merged total).
  void add_to(std::vector<uint64_t>& total) const;

  static size_t index_of(uint64_t v) {
    // bucket = position of the highest set bit above the sub-bucket range (HdrHistogram's
    // getBucketIndex with unitMagnitude 0: 64 - 11 - clz(v | mask)).
    int bucket = (64 - kSubBucketCountMagnitude) - __builtin_clzll(v | kSubBucketMask);
    uint64_t sub = v >> bucket;
    return (static_cast<size_t>(bucket + 1) << kSubBucketHalfCountMagnitude) + (sub - kSubBucketHalfCount);
  }
  // The lowest value that maps to counts index `idx` (HdrHistogram's valueFromIndex).
  static uint64_t value_at(size_t idx);
  // How many values map to index `idx` (HdrHistogram's sizeOfEquivalentValueRange).
  static uint64_t width_at(size_t idx) {
    long bucket = static_cast<long>(idx >> kSubBucketHalfCountMagnitude) - 1;
    return 1ull << (bucket < 0 ? 0 : bucket);
  }

 private:
  struct Slot {
    uint32_t key;  // counts index + 1; 0 marks an empty slot
    uint32_t count;
  };
  void add_sparse(uint32_t idx);
  void grow();

  std::vector<Slot> slots_;
  size_t used_ = 0;
  std::vector<uint32_t> dense_;
  uint64_t total_ = 0;
};

LatencySummary summarize(const HistogramCounts& counts);

// Every session's summary and encoding and those of the merged total, computed once when a run
// ends (sessions without a histogram, e.g. a stream's, get none), so that TypeScript receives
// finished numbers and never walks a histogram per session.
struct LatencyReport {
  std::vector<LatencySummary> sessions;
  std::vector<std::vector<uint8_t>> encoded;
  LatencySummary total;
  std::vector<uint8_t> total_encoded;
  size_t histogram_bytes = 0;  // heap bytes all the sessions' histograms held
};
LatencyReport report_latency(const std::vector<const LatencyHistogram*>& sessions);
HistogramCounts nonzero_counts(const std::vector<uint64_t>& dense);

// The sessions of each group merged (a run's per-queue figures): group[i] is session i's group in
// 0..groups-1, or -1 for none. One dense array per group, so a few groups cost a few hundred KiB
// however many sessions they hold.
struct GroupLatency {
  LatencySummary summary;
  std::vector<uint8_t> encoded;
};
std::vector<GroupLatency> group_latency(const std::vector<const LatencyHistogram*>& sessions,
                                        const std::vector<int>& group, int groups);

// HdrHistogram's V2 encoding (uncompressed) as hdr-histogram-js writes it: big-endian header
// (cookie 0x1c849313, payload length, normalizing index offset, significant digits, lowest and
// highest trackable value, conversion ratio), then the counts up to the highest non-empty index as
// ZigZag LEB128 numbers, a run of k > 1 empty slots written as -k.
std::vector<uint8_t> encode_hdr_v2(const HistogramCounts& counts);

}  // namespace mqb
