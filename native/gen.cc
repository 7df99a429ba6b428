#include "gen.h"

#include <sched.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <stdexcept>

#include "mqb_limits.h"
#include "sys.h"
#include "thread_env.h"
#include "tx_packet.h"
#include "tx_tap.h"

namespace mqb {

namespace {

// Below this wait the sender spins: nanosleep on a busy VM overshoots by 50-100 µs.
constexpr uint64_t kSpinBelowNs = 200'000;
// A rate-limited sender waits for a full burst unless that takes longer than this, so that low
// rates are not sent in lumps and high rates still get batched syscalls.
constexpr uint64_t kMaxBatchDelayNs = 50'000;
constexpr uint64_t kFinishBudgetNs = 200'000'000;

void sleep_ns(uint64_t ns) {
  struct timespec ts = {static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
}

struct Slot {
  uint8_t hdr[kMaxHeaderLen];
  struct iovec iov[2];
  unsigned flow;
};

}  // namespace

GenEngine::GenEngine(GenConfig cfg)
    : cfg_(std::move(cfg)), stats_(new GenQueueStats[cfg_.queues.size()]), captures_(cfg_.queues.size()) {
  if (cfg_.queues.empty()) throw std::invalid_argument("the generator needs at least one queue");
  if (cfg_.queues.size() > limits::kMaxQueues)
    throw std::invalid_argument("the generator handles at most " + std::to_string(limits::kMaxQueues) +
                                " queues");
  if (cfg_.flows_per_queue < 1 || cfg_.flows_per_queue > limits::kMaxFlowsPerQueue)
    throw std::invalid_argument("flows per queue must be 1-" + std::to_string(limits::kMaxFlowsPerQueue));
  if (cfg_.burst < 1 || cfg_.burst > limits::kMaxGenBurst)
    throw std::invalid_argument("burst must be 1-" + std::to_string(limits::kMaxGenBurst) + " frames");
  if (cfg_.duration_ns == 0) throw std::invalid_argument("the generator needs a duration");
  FrameTemplate probe;
  build_template(probe, cfg_.spec, 0, 0);  // throws for a size out of range before any thread starts
}

std::vector<CapturedFrame> GenEngine::captured() const {
  std::vector<CapturedFrame> all;
  for (const auto& c : captures_) all.insert(all.end(), c.begin(), c.end());
  return all;
}

void GenEngine::launch(std::vector<std::thread>& threads) {
  for (size_t q = 0; q < cfg_.queues.size(); q++)
    threads.emplace_back([this, q] { run_guarded([&] { run_queue(q); }); });
}

void GenEngine::run_queue(size_t q) {
  const GenQueueConfig& qc = cfg_.queues[q];
  GenQueueStats& st = stats_[q];
  pin_current_thread(qc.cpu);
  std::unique_ptr<TxQueue> tx;
  if (cfg_.tap) {
    tx = open_tap_tx(qc.tap_fd);
  } else if (cfg_.xdp) {
    enter_netns(cfg_.netns);
    bool zerocopy = false;
    // Thread q binds queue id q: the queue is the bind's, not the sending CPU's.
    tx = open_xdp_tx(cfg_.dev, static_cast<unsigned>(q), {cfg_.xdp_mode, cfg_.burst, cfg_.spec.frame_size},
                     &zerocopy);
    st.xdp_mode.set(zerocopy ? 2 : 1);
  } else {
    enter_netns(cfg_.netns);
    tx = open_packet_tx(cfg_.dev, cfg_.qdisc_bypass, cfg_.tx_ring, cfg_.spec.frame_size);
  }

  const unsigned flows = cfg_.flows_per_queue;
  std::vector<FrameTemplate> templates(flows);
  FrameSpec spec = cfg_.spec;
  for (unsigned f = 0; f < flows; f++) {
    spec.src_port = static_cast<uint16_t>(qc.src_port + f);
    build_template(templates[f], spec, static_cast<uint8_t>(q), static_cast<uint16_t>(f));
  }
  std::vector<uint32_t> seq(flows, 0);
  const unsigned burst = cfg_.burst;
  std::vector<Slot> slots(burst);
  std::vector<struct mmsghdr> msgs(burst);
  const uint32_t frame_len = templates[0].len, hdr_len = templates[0].hdr_len;
  for (unsigned k = 0; k < burst; k++) {
    Slot& s = slots[k];
    s.iov[0] = {s.hdr, hdr_len};
    s.iov[1] = {const_cast<uint8_t*>(zero_tail()), frame_len - hdr_len};
    std::memset(&msgs[k], 0, sizeof(msgs[k]));
    msgs[k].msg_hdr.msg_iov = s.iov;
    msgs[k].msg_hdr.msg_iovlen = frame_len > hdr_len ? 2 : 1;
  }

  std::vector<CapturedFrame>& capture = captures_[q];
  capture.reserve(cfg_.capture_per_queue);

  const double rate = qc.rate_pps;
  const uint64_t limit = qc.count;
  const uint64_t t0 = now_ns();
  const uint64_t t_end = t0 + cfg_.duration_ns;
  st.start_ns.set(t0);
  uint64_t sent = 0, refused = 0;
  unsigned next_flow = 0;

  while (!stopping()) {
    uint64_t now = now_ns();
    if (now >= t_end || (limit && sent >= limit)) break;
    uint64_t n = burst;
    if (limit) n = std::min<uint64_t>(n, limit - sent);
    if (rate > 0) {
      const uint64_t due = frames_due(now - t0, rate, sent);
      if (due < n) {
        // Time until the whole batch is due; send what is due now if that is too long to wait.
        const uint64_t full_at = t0 + static_cast<uint64_t>((sent + n - 1) * 1e9 / rate);
        if (due == 0 || full_at - now <= kMaxBatchDelayNs) {
          const uint64_t wake = due == 0 ? t0 + static_cast<uint64_t>(sent * 1e9 / rate) : full_at;
          const uint64_t wait = std::min(wake > now ? wake - now : 0, t_end - now);
          if (wait > kSpinBelowNs)
            sleep_ns(wait - kSpinBelowNs / 2);
          else if (wait > 0)
            sched_yield();
          continue;
        }
        n = due;
      }
    }

    for (unsigned k = 0; k < n; k++) {
      Slot& s = slots[k];
      const FrameTemplate& t = templates[next_flow];
      std::memcpy(s.hdr, t.bytes, hdr_len);
      // One timestamp per batch: the batch leaves in one system call anyway.
      stamp_frame(s.hdr, t, seq[next_flow]++, now);
      s.flow = next_flow;
      if (++next_flow == flows) next_flow = 0;
    }
    unsigned off = 0;
    while (off < n) {
      unsigned r = tx->send(msgs.data() + off, static_cast<unsigned>(n - off));
      if (r > 0) {
        off += r;
        continue;
      }
      refused++;
      if (stopping() || now_ns() >= t_end) break;
      sched_yield();
    }
    if (capture.size() < cfg_.capture_per_queue) {
      struct timespec rt;
      clock_gettime(CLOCK_REALTIME, &rt);
      for (unsigned k = 0; k < off && capture.size() < cfg_.capture_per_queue; k++) {
        CapturedFrame c;
        c.realtime_ns = static_cast<uint64_t>(rt.tv_sec) * 1000000000ull + rt.tv_nsec;
        c.len = frame_len;
        c.hdr_len = static_cast<uint16_t>(hdr_len);
        c.queue = static_cast<uint16_t>(q);
        std::memcpy(c.hdr, slots[k].hdr, hdr_len);
        capture.push_back(c);
      }
    }
    // Frames that never left give their sequence numbers back, so that the receiver does not
    // count them as lost.
    for (unsigned k = off; k < n; k++) seq[slots[k].flow]--;
    sent += off;
    st.packets.set(sent);
    st.bytes.set(sent * frame_len);
    st.refused.set(refused);
  }
  // A TX ring may still hold accepted frames: give it a moment, and count only what left.
  sent -= tx->finish(kFinishBudgetNs);
  st.packets.set(sent);
  st.bytes.set(sent * frame_len);
  st.end_ns.set(now_ns());
}

}  // namespace mqb
