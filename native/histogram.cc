#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace mqb {

uint64_t LatencyHistogram::value_at(size_t idx) {
  long bucket = static_cast<long>(idx >> kSubBucketHalfCountMagnitude) - 1;
  uint64_t sub = (idx & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

void LatencyHistogram::add_sparse(uint32_t idx) {
  if (slots_.empty()) slots_.resize(kFirstSlots);
  for (;;) {
    size_t mask = slots_.size() - 1;
    // Fibonacci hashing: neighbouring indexes (the common case) land on different slots.
    size_t h = ((idx * 2654435769u) >> 7) & mask;
    while (slots_[h].key != 0) {
      if (slots_[h].key == idx + 1) {
        slots_[h].count++;
        return;
      }
      h = (h + 1) & mask;
    }
    if ((used_ + 1) * 2 <= slots_.size()) {
      slots_[h] = {idx + 1, 1};
      used_++;
      return;
    }
    grow();
    if (!dense_.empty()) {
      dense_[idx]++;
      return;
    }
  }
}

void LatencyHistogram::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  if (old.size() * 2 > kMaxSlots) {
    dense_.assign(kCountsLen, 0);
    for (const Slot& s : old)
      if (s.key) dense_[s.key - 1] = s.count;
    used_ = 0;
    return;
  }
  slots_.resize(old.size() * 2);
  used_ = 0;
  size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (!s.key) continue;
    size_t h = (((s.key - 1) * 2654435769u) >> 7) & mask;
    while (slots_[h].key != 0) h = (h + 1) & mask;
    slots_[h] = s;
    used_++;
  }
}

HistogramCounts LatencyHistogram::counts() const {
  HistogramCounts out;
  if (!dense_.empty()) {
    for (size_t i = 0; i < dense_.size(); i++)
      if (dense_[i]) out.emplace_back(static_cast<uint32_t>(i), dense_[i]);
    return out;
  }
  out.reserve(used_);
  for (const Slot& s : slots_)
    if (s.key) out.emplace_back(s.key - 1, s.count);
  std::sort(out.begin(), out.end());
  return out;
}

void LatencyHistogram::add_to(std::vector<uint64_t>& total) const {
  total.resize(kCountsLen, 0);
  if (!dense_.empty()) {
    for (size_t i = 0; i < dense_.size(); i++) total[i] += dense_[i];
    return;
  }
  for (const Slot& s : slots_)
    if (s.key) total[s.key - 1] += s.count;
}

HistogramCounts nonzero_counts(const std::vector<uint64_t>& dense) {
  HistogramCounts out;
  for (size_t i = 0; i < dense.size(); i++)
    if (dense[i]) out.emplace_back(static_cast<uint32_t>(i), dense[i]);
  return out;
}

// hdr-histogram-js's getValueAtPercentile, step for step (the same floating-point operations), so
// that a summary computed here equals the one a report derives from the encoded histogram.
static uint64_t value_at_percentile(const HistogramCounts& counts, uint64_t total, double percentile) {
  double requested = std::min(percentile, 100.0);
  double fp = (requested / 100.0) * static_cast<double>(total);
  double ulp = fp > 0 ? std::pow(2.0, std::floor(std::log2(fp)) - 52) : 0;
  double at = std::max(std::ceil(fp - ulp), 1.0);
  uint64_t running = 0;
  for (const auto& [idx, n] : counts) {
    running += n;
    if (static_cast<double>(running) >= at) {
      uint64_t low = LatencyHistogram::value_at(idx);
      return percentile == 0 ? low : low + LatencyHistogram::width_at(idx) - 1;
    }
  }
  return 0;
}

LatencySummary summarize(const HistogramCounts& counts) {
  LatencySummary s;
  for (const auto& c : counts) s.count += c.second;
  if (s.count == 0) return s;
  // The lowest non-empty bucket above index 0, as hdr-histogram-js establishes it on decoding.
  for (const auto& [idx, n] : counts) {
    if (idx == 0) continue;
    s.min_us = static_cast<double>(LatencyHistogram::value_at(idx)) / 1000;
    break;
  }
  double sum = 0;
  for (const auto& [idx, n] : counts) {
    uint64_t median = LatencyHistogram::value_at(idx) + (LatencyHistogram::width_at(idx) >> 1);
    sum += static_cast<double>(median) * static_cast<double>(n);
  }
  s.mean_us = sum / static_cast<double>(s.count) / 1000;
  auto us = [&](double p) { return static_cast<double>(value_at_percentile(counts, s.count, p)) / 1000; };
  s.p50_us = us(50);
  s.p90_us = us(90);
  s.p99_us = us(99);
  s.p999_us = us(99.9);
  s.max_us = us(100);
  return s;
}

namespace {

void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put64(std::vector<uint8_t>& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v));
}

// ZigZag, then LEB128 with at most 9 bytes (the 9th carries 8 bits), as HdrHistogram's V2 does.
void put_zigzag(std::vector<uint8_t>& out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  for (int i = 0; i < 8; i++) {
    if (z < 0x80) {
      out.push_back(static_cast<uint8_t>(z));
      return;
    }
    out.push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<uint8_t>(z));
}

}  // namespace

std::vector<uint8_t> encode_hdr_v2(const HistogramCounts& counts) {
  std::vector<uint8_t> out;
  out.reserve(40 + counts.size() * 4);
  put32(out, 0x1c849303 | 0x10);
  put32(out, 0);  // payload length, filled in below
  put32(out, 1);  // normalizing index offset, as hdr-histogram-js writes it (decoders ignore it)
  put32(out, LatencyHistogram::kSignificantDigits);
  put64(out, LatencyHistogram::kLowestNs);
  put64(out, LatencyHistogram::kHighestNs);
  put64(out, 1);  // integer-to-double conversion ratio, written as an integer like hdr-histogram-js
  size_t payload = out.size();
  uint32_t next = 0;  // the counts index the encoding has reached
  for (const auto& [idx, n] : counts) {
    uint32_t zeros = idx - next;
    if (zeros == 1)
      put_zigzag(out, 0);
    else if (zeros > 1)
      put_zigzag(out, -static_cast<int64_t>(zeros));
    put_zigzag(out, static_cast<int64_t>(n));
    next = idx + 1;
  }
  uint32_t len = static_cast<uint32_t>(out.size() - payload);
  for (int i = 0; i < 4; i++) out[4 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
  return out;
}

LatencyReport report_latency(const std::vector<const LatencyHistogram*>& sessions) {
  LatencyReport r;
  std::vector<uint64_t> total;
  r.sessions.resize(sessions.size());
  r.encoded.resize(sessions.size());
  for (size_t i = 0; i < sessions.size(); i++) {
    const LatencyHistogram* h = sessions[i];
    if (!h) continue;
    HistogramCounts c = h->counts();
    r.sessions[i] = summarize(c);
    r.encoded[i] = encode_hdr_v2(c);
    r.histogram_bytes += h->memory_bytes();
    h->add_to(total);
  }
  HistogramCounts t = nonzero_counts(total);
  r.total = summarize(t);
  r.total_encoded = encode_hdr_v2(t);
  return r;
}

std::vector<GroupLatency> group_latency(const std::vector<const LatencyHistogram*>& sessions,
                                        const std::vector<int>& group, int groups) {
  std::vector<std::vector<uint64_t>> merged(static_cast<size_t>(std::max(groups, 0)));
  for (size_t i = 0; i < sessions.size() && i < group.size(); i++)
    if (sessions[i] && group[i] >= 0 && group[i] < groups) sessions[i]->add_to(merged[group[i]]);
  std::vector<GroupLatency> out(merged.size());
  for (size_t g = 0; g < merged.size(); g++) {
    HistogramCounts c = nonzero_counts(merged[g]);
    out[g].summary = summarize(c);
    out[g].encoded = encode_hdr_v2(c);
  }
  return out;
}

}  // namespace mqb
