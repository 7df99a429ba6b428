#include "histogram.h"

#include <algorithm>

namespace mqb {

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
}

uint64_t LatencyHistogram::value_at(size_t idx) {
  long bucket = static_cast<long>(idx >> kSubBucketHalfCountMagnitude) - 1;
  uint64_t sub = (idx & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

}  // namespace mqb
