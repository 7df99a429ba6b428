#include "tx_xdp.h"

#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "frames.h"
#include "sys.h"
#include "thread_env.h"

// Debian 12's uapi headers (Linux 6.1) predate multi-buffer AF_XDP (6.6); the values are the
// kernel's ABI, so a newer kernel accepts them whatever headers this was built with.
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

namespace mqb {
namespace {

// One page per chunk: the largest aligned chunk the kernel takes without huge pages.
constexpr unsigned kChunk = 4096;
constexpr unsigned kMinRing = 64, kMaxRing = 4096;
// The fill ring is never used (TX only) but the kernel wants one before it binds a UMEM.
constexpr unsigned kFillRing = 64;
constexpr unsigned long long kBusyWaitNs = 1'000'000'000ull;

unsigned pow2_at_least(unsigned n) {
  unsigned p = 1;
  while (p < n) p <<= 1;
  return p;
}

// A mapped single-producer/single-consumer ring shared with the kernel.
struct Ring {
  uint32_t* producer = nullptr;
  uint32_t* consumer = nullptr;
  uint32_t* flags = nullptr;
  void* desc = nullptr;
  uint32_t mask = 0;
  void* map = MAP_FAILED;
  size_t map_len = 0;
  void attach(int fd, const xdp_ring_offset& off, unsigned size, size_t elem, off_t pgoff, bool has_flags,
              const char* what) {
    map_len = off.desc + size * elem;
    map = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
    if (map == MAP_FAILED) throw SysError(std::string("cannot map the AF_XDP ") + what + " ring", errno);
    auto* base = static_cast<uint8_t*>(map);
    producer = reinterpret_cast<uint32_t*>(base + off.producer);
    consumer = reinterpret_cast<uint32_t*>(base + off.consumer);
    flags = has_flags ? reinterpret_cast<uint32_t*>(base + off.flags) : nullptr;
    desc = base + off.desc;
    mask = size - 1;
  }
  ~Ring() {
    if (map != MAP_FAILED) munmap(map, map_len);
  }
};

class XdpTx : public TxQueue {
 public:
  // `bind_flags` are sockaddr_xdp's; the factory below retries with fewer of them.
  XdpTx(const std::string& dev, unsigned queue_id, const XdpOptions& o, uint16_t bind_flags) : dev_(dev) {
    per_frame_ = (o.frame_len + kChunk - 1) / kChunk;
    // Four bursts in the ring: the thread refills while the kernel still sends the last ones.
    ring_ = std::min(kMaxRing, pow2_at_least(std::max(kMinRing, 4 * o.burst * per_frame_)));
    slots_ = ring_ / per_frame_;
    fd_ = static_cast<int>(check(socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0), "cannot open an AF_XDP socket"));
    try {
      setup(queue_id, bind_flags);
    } catch (...) {
      release();
      throw;
    }
  }
  ~XdpTx() override { release(); }
  bool zerocopy() const { return zerocopy_; }

  unsigned send(struct mmsghdr* msgs, unsigned n) override {
    reclaim();
    const uint32_t prod = tx_prod_;
    const uint32_t room = ring_ - (prod - __atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE));
    const unsigned k = std::min<unsigned>({n, static_cast<unsigned>(free_.size()), room / per_frame_});
    auto* descs = static_cast<xdp_desc*>(tx_.desc);
    uint32_t p = prod;
    for (unsigned i = 0; i < k; i++) {
      const uint64_t base = static_cast<uint64_t>(free_.back()) * per_frame_ * kChunk;
      free_.pop_back();
      const uint32_t len = write_frame(umem_ + base, msgs[i].msg_hdr);
      // A frame above one chunk is a chain of descriptors, one chunk each (XDP_USE_SG).
      for (unsigned j = 0; j < per_frame_; j++) {
        xdp_desc& d = descs[p++ & tx_.mask];
        d.addr = base + static_cast<uint64_t>(j) * kChunk;
        d.len = std::min(kChunk, len - j * kChunk);
        d.options = j + 1 < per_frame_ ? XDP_PKT_CONTD : 0;
      }
    }
    if (k > 0) {
      __atomic_store_n(tx_.producer, p, __ATOMIC_RELEASE);
      tx_prod_ = p;
      in_flight_ += k;
    }
    const bool pushed = kick();
    return pushed || k > 0 ? k : 0;
  }

  unsigned long finish(unsigned long long budget_ns) override {
    const unsigned long long until = now_ns() + budget_ns;
    while (true) {
      reclaim();
      if (in_flight_ == 0 || now_ns() >= until) break;
      kick();
      std::this_thread::yield();
    }
    // Frames still in the ring never leave: closing the socket discards them. Frames the driver
    // dropped (EBUSY) came back on the completion ring but never left either.
    return in_flight_ + dropped_;
  }

 private:
  void setup(unsigned queue_id, uint16_t bind_flags) {
    const unsigned idx = if_nametoindex(dev_.c_str());
    if (idx == 0) throw SysError("no interface " + dev_, ENODEV);
    umem_len_ = static_cast<size_t>(ring_) * kChunk;
    // Zeroed by the kernel and written only in the header bytes afterwards: every frame's zero
    // tail is written once, here, for the whole run.
    void* m =
        mmap(nullptr, umem_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (m == MAP_FAILED) throw SysError("cannot allocate the UMEM for " + dev_, errno);
    umem_ = static_cast<uint8_t*>(m);
    xdp_umem_reg reg;
    std::memset(&reg, 0, sizeof(reg));  // later kernels read tx_metadata_len from the padding
    reg.addr = reinterpret_cast<uint64_t>(umem_);
    reg.len = umem_len_;
    reg.chunk_size = kChunk;
    // ENOBUFS here: the UMEM's pages count against RLIMIT_MEMLOCK unless the process has
    // CAP_IPC_LOCK (xdp_umem_account_pages).
    check(setsockopt(fd_, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)),
          "cannot register a " + std::to_string(umem_len_ >> 10) + " KiB AF_XDP UMEM for queue " +
              std::to_string(queue_id) + " of " + dev_);
    const unsigned fill = kFillRing;
    check(setsockopt(fd_, SOL_XDP, XDP_UMEM_FILL_RING, &fill, sizeof(fill)), "AF_XDP fill ring");
    check(setsockopt(fd_, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring_, sizeof(ring_)),
          "AF_XDP completion ring");
    check(setsockopt(fd_, SOL_XDP, XDP_TX_RING, &ring_, sizeof(ring_)), "AF_XDP TX ring");
    xdp_mmap_offsets off;
    std::memset(&off, 0, sizeof(off));
    socklen_t len = sizeof(off);
    check(getsockopt(fd_, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len), "AF_XDP ring offsets");
    // Kernels before 5.4 return offsets without the flags word (and have no need_wakeup).
    const bool has_flags = len == sizeof(off);
    tx_.attach(fd_, off.tx, ring_, sizeof(xdp_desc), XDP_PGOFF_TX_RING, has_flags, "TX");
    cq_.attach(fd_, off.cr, ring_, sizeof(uint64_t), XDP_UMEM_PGOFF_COMPLETION_RING, has_flags, "completion");

    sockaddr_xdp sxdp;
    std::memset(&sxdp, 0, sizeof(sxdp));
    sxdp.sxdp_family = AF_XDP;
    sxdp.sxdp_flags = bind_flags;
    sxdp.sxdp_ifindex = idx;
    sxdp.sxdp_queue_id = queue_id;
    check(bind(fd_, reinterpret_cast<sockaddr*>(&sxdp), sizeof(sxdp)),
          "cannot bind an AF_XDP socket to queue " + std::to_string(queue_id) + " of " + dev_);
    need_wakeup_ = has_flags && (bind_flags & XDP_USE_NEED_WAKEUP);
    xdp_options opts;
    len = sizeof(opts);
    if (getsockopt(fd_, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0)
      zerocopy_ = opts.flags & XDP_OPTIONS_ZEROCOPY;
    int sndbuf = 4 << 20;
    // Copy mode builds an skb per frame charged to the socket: best effort, capped by wmem_max.
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    free_.reserve(slots_);
    for (unsigned s = slots_; s-- > 0;) free_.push_back(s);
  }

  void release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (umem_) munmap(umem_, umem_len_);
    umem_ = nullptr;
  }

  // Writes the frame's bytes into its chunk(s). The shared zero tail is skipped: the UMEM starts
  // zeroed and every frame of a run has the same header length, so those bytes never change.
  static uint32_t write_frame(uint8_t* dst, const msghdr& m) {
    uint32_t len = 0;
    for (size_t i = 0; i < m.msg_iovlen; i++) {
      if (m.msg_iov[i].iov_base != zero_tail())
        std::memcpy(dst + len, m.msg_iov[i].iov_base, m.msg_iov[i].iov_len);
      len += static_cast<uint32_t>(m.msg_iov[i].iov_len);
    }
    return len;
  }

  // Takes every completed chunk back at once: one acquire load and one release store per batch.
  void reclaim() {
    const uint32_t prod = __atomic_load_n(cq_.producer, __ATOMIC_ACQUIRE);
    if (prod == cq_cons_) return;
    const auto* addrs = static_cast<const uint64_t*>(cq_.desc);
    const uint64_t slot_bytes = static_cast<uint64_t>(per_frame_) * kChunk;
    for (uint32_t c = cq_cons_; c != prod; c++) {
      const uint64_t a = addrs[c & cq_.mask];
      // A chained frame completes once per descriptor; its first chunk frees the slot.
      if (a % slot_bytes == 0) {
        free_.push_back(static_cast<unsigned>(a / slot_bytes));
        in_flight_--;
      }
    }
    cq_cons_ = prod;
    __atomic_store_n(cq_.consumer, prod, __ATOMIC_RELEASE);
  }

  // Asks the kernel to send what the TX ring holds. Copy mode sends only inside this call (at most
  // 32 frames per call); zero-copy drivers need it only when they set XDP_RING_NEED_WAKEUP.
  // Returns false on back-pressure: EAGAIN (more queued than one call sends, or the driver's
  // queue is stopped), EBUSY (the driver dropped one frame: NET_XMIT_DROP), ENOBUFS.
  bool kick() {
    if (tx_prod_ == __atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE) && in_flight_ == 0) return true;
    if (need_wakeup_ && !(__atomic_load_n(tx_.flags, __ATOMIC_ACQUIRE) & XDP_RING_NEED_WAKEUP)) return true;
    if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) return true;
    if (errno == EBUSY) {
      dropped_++;
      return false;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return false;
    throw SysError("sendto on the AF_XDP socket of " + dev_, errno);
  }

  std::string dev_;
  int fd_ = -1;
  uint8_t* umem_ = nullptr;
  size_t umem_len_ = 0;
  unsigned per_frame_ = 1, ring_ = 0, slots_ = 0;
  Ring tx_, cq_;
  uint32_t tx_prod_ = 0, cq_cons_ = 0;
  std::vector<unsigned> free_;
  unsigned long in_flight_ = 0, dropped_ = 0;
  bool need_wakeup_ = false, zerocopy_ = false;
};

uint16_t mode_flag(XdpMode m) {
  switch (m) {
    case XdpMode::zerocopy:
      return XDP_ZEROCOPY;
    case XdpMode::copy:
      return XDP_COPY;
    default:
      return 0;  // the kernel tries zero-copy and falls back to copy by itself (xp_assign_dev)
  }
}

}  // namespace

namespace {

std::unique_ptr<XdpTx> open_once(const std::string& dev, unsigned queue_id, const XdpOptions& o) {
  const bool sg = o.frame_len > kChunk;
  const uint16_t base = mode_flag(o.mode) | (sg ? XDP_USE_SG : 0);
  std::unique_ptr<XdpTx> tx;
  try {
    tx = std::make_unique<XdpTx>(dev, queue_id, o, base | XDP_USE_NEED_WAKEUP);
  } catch (const SysError& e) {
    if (e.err() != EINVAL) throw;
    // EINVAL at bind: a kernel without the need_wakeup (5.4) or multi-buffer (6.6) flag, or a
    // queue the device lacks. Each retry drops one flag to tell which.
    try {
      tx = std::make_unique<XdpTx>(dev, queue_id, o, base);
    } catch (const SysError& e2) {
      if (e2.err() != EINVAL || !sg) throw;
      try {
        XdpTx without_sg(dev, queue_id, XdpOptions{o.mode, o.burst, kChunk}, mode_flag(o.mode));
      } catch (const SysError&) {
        throw e2;
      }
      throw SysError(
          "a " + std::to_string(o.frame_len) + "-byte frame spans several " + std::to_string(kChunk) +
              "-byte UMEM chunks, which needs multi-buffer AF_XDP (XDP_USE_SG, Linux 6.6), and this "
              "kernel refuses it",
          EMSGSIZE);
    }
  }
  return tx;
}

}  // namespace

std::unique_ptr<TxQueue> open_xdp_tx(const std::string& dev, unsigned queue_id, const XdpOptions& o,
                                     bool* zerocopy) {
  // A closed AF_XDP socket leaves its queue only after an RCU grace period and a work item
  // (xp_release_deferred): a run right after another (the probe, the previous run of a sweep) can
  // find the queue still taken for a few milliseconds. Another holder is still there after this.
  const unsigned long long until = now_ns() + kBusyWaitNs;
  while (true) {
    try {
      std::unique_ptr<XdpTx> tx = open_once(dev, queue_id, o);
      if (zerocopy) *zerocopy = tx->zerocopy();
      return tx;
    } catch (const SysError& e) {
      if (e.err() != EBUSY || now_ns() >= until) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool probe_xdp_tx(const std::string& dev, const std::string& netns, const XdpOptions& opts) {
  bool zc = false;
  in_netns(netns, [&] { open_xdp_tx(dev, 0, opts, &zc); });
  return zc;
}

}  // namespace mqb
