#include "tx_packet.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include <cstring>
#include <thread>

#include "frames.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {
namespace {

class PacketTx : public TxQueue {
 public:
  PacketTx(const std::string& dev, bool qdisc_bypass) : dev_(dev) {
    // Protocol 0: the socket sends but never receives, so the kernel does not copy every frame
    // on the wire to it. The kernel reads skb->protocol from the Ethernet header it is given.
    fd_.reset(static_cast<int>(
        check(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), "cannot open an AF_PACKET socket")));
    unsigned idx = if_nametoindex(dev.c_str());
    if (idx == 0) throw SysError("no interface " + dev, ENODEV);
    struct sockaddr_ll sll;
    std::memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(idx);
    check(bind(fd_.fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)),
          "cannot bind an AF_PACKET socket to " + dev);
    if (qdisc_bypass) {
      int one = 1;
      check(setsockopt(fd_.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)),
            "PACKET_QDISC_BYPASS on " + dev);
    }
    int sndbuf = 4 << 20;
    setsockopt(fd_.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));  // best effort: capped by wmem_max
  }

  unsigned send(struct mmsghdr* msgs, unsigned n) override {
    int r = sendmmsg(fd_.fd, msgs, n, MSG_DONTWAIT);
    if (r >= 0) return static_cast<unsigned>(r);
    // ENOBUFS: the driver refused the frame (veth: the peer's backlog is full; bypass: the TX
    // queue is stopped). EAGAIN: the socket's send buffer is full on the qdisc path. Both
    // are load, not failure, as trafgen learned the hard way on veth.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;
    throw SysError("sendmmsg on AF_PACKET socket", errno);
  }

 protected:
  FdGuard fd_;
  std::string dev_;
};

class PacketRingTx : public PacketTx {
 public:
  PacketRingTx(const std::string& dev, bool qdisc_bypass, unsigned max_frame) : PacketTx(dev, qdisc_bypass) {
    int v = TPACKET_V2;
    check(setsockopt(fd_.fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)), "PACKET_VERSION on " + dev);
    data_off_ = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));
    frame_size_ = 64;
    while (frame_size_ < data_off_ + max_frame) frame_size_ *= 2;
    struct tpacket_req req;
    req.tp_frame_size = frame_size_;
    req.tp_block_size = std::max(frame_size_, 1u << 16);
    // About 1 MiB of ring, at least 256 frames: deep enough to ride out a stall of the receiver.
    req.tp_block_nr = std::max(16u, (256 * frame_size_) / req.tp_block_size);
    req.tp_frame_nr = req.tp_block_nr * (req.tp_block_size / frame_size_);
    check(setsockopt(fd_.fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)), "PACKET_TX_RING on " + dev);
    nr_ = req.tp_frame_nr;
    len_ = static_cast<size_t>(req.tp_block_size) * req.tp_block_nr;
    void* m = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_.fd, 0);
    if (m == MAP_FAILED) throw SysError("cannot map the TX ring of " + dev, errno);
    ring_ = static_cast<uint8_t*>(m);
  }
  ~PacketRingTx() override { munmap(ring_, len_); }

  unsigned send(struct mmsghdr* msgs, unsigned n) override {
    reap();
    unsigned k = 0;
    for (; k < n; k++) {
      auto* h = slot(head_);
      if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) break;
      uint8_t* data = reinterpret_cast<uint8_t*>(h) + data_off_;
      const msghdr& m = msgs[k].msg_hdr;
      size_t len = 0;
      for (size_t i = 0; i < m.msg_iovlen; i++) {
        // The shared zero tail is already zero in the slot: the ring starts zeroed, and every
        // frame of a run has the same header length, so those bytes are never written.
        if (m.msg_iov[i].iov_base != zero_tail())
          std::memcpy(data + len, m.msg_iov[i].iov_base, m.msg_iov[i].iov_len);
        len += m.msg_iov[i].iov_len;
      }
      h->tp_len = static_cast<uint32_t>(len);
      __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
      if (++head_ == nr_) head_ = 0;
      in_flight_++;
    }
    if (!kick() && k == 0) return 0;
    return k;
  }

  unsigned long finish(unsigned long long budget_ns) override {
    const unsigned long long until = now_ns() + budget_ns;
    while (true) {
      kick();
      reap();
      if (in_flight_ == 0 || now_ns() >= until) break;
      std::this_thread::yield();
    }
    // What is still waiting never leaves: closing the socket discards the ring.
    unsigned long never = 0;
    for (unsigned i = 0; i < in_flight_; i++) {
      auto* h = slot((tail_ + i) % nr_);
      if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST) never++;
    }
    return never;
  }

 private:
  struct tpacket2_hdr* slot(unsigned i) {
    return reinterpret_cast<struct tpacket2_hdr*>(ring_ + static_cast<size_t>(i) * frame_size_);
  }
  // Frames the kernel has sent are AVAILABLE again; they are reaped in ring order.
  void reap() {
    while (in_flight_ > 0) {
      auto* h = slot(tail_);
      const unsigned st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
      if (st == TP_STATUS_WRONG_FORMAT)
        throw SysError("the kernel refused a frame in the TX ring of " + dev_ + " (wrong format)", EINVAL);
      if (st != TP_STATUS_AVAILABLE) break;
      if (++tail_ == nr_) tail_ = 0;
      in_flight_--;
    }
  }
  // Asks the kernel to send every SEND_REQUEST frame; false on back-pressure.
  bool kick() {
    if (::send(fd_.fd, nullptr, 0, MSG_DONTWAIT) >= 0) return true;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return false;
    throw SysError("send on the TX ring of " + dev_, errno);
  }
  uint8_t* ring_ = nullptr;
  size_t len_ = 0;
  unsigned frame_size_ = 0, data_off_ = 0, nr_ = 0, head_ = 0, tail_ = 0, in_flight_ = 0;
};

}  // namespace

std::unique_ptr<TxQueue> open_packet_tx(const std::string& dev, bool qdisc_bypass, bool tx_ring,
                                        unsigned max_frame) {
  if (tx_ring) return std::make_unique<PacketRingTx>(dev, qdisc_bypass, max_frame);
  return std::make_unique<PacketTx>(dev, qdisc_bypass);
}

void probe_packet_tx(const std::string& dev, const std::string& netns) {
  in_netns(netns, [&] { PacketTx probe(dev, false); });
}

}  // namespace mqb
