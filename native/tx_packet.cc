#include "tx_packet.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "sys.h"
#include "thread_env.h"

namespace mqb {
namespace {

class PacketTx : public TxQueue {
 public:
  PacketTx(const std::string& dev, bool qdisc_bypass) {
    // Protocol 0: the socket sends but never receives, so the kernel does not copy every frame
    // on the wire to it. The kernel reads skb->protocol from the Ethernet header it is given.
    fd_ = static_cast<int>(check(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), "cannot open an AF_PACKET socket"));
    try {
      unsigned idx = if_nametoindex(dev.c_str());
      if (idx == 0) throw SysError("no interface " + dev, ENODEV);
      struct sockaddr_ll sll;
      std::memset(&sll, 0, sizeof(sll));
      sll.sll_family = AF_PACKET;
      sll.sll_ifindex = static_cast<int>(idx);
      check(bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)), "cannot bind an AF_PACKET socket to " + dev);
      if (qdisc_bypass) {
        int one = 1;
        check(setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)), "PACKET_QDISC_BYPASS on " + dev);
      }
      int sndbuf = 4 << 20;
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));  // best effort: capped by wmem_max
    } catch (...) {
      close(fd_);
      throw;
    }
  }
  ~PacketTx() override { close(fd_); }

  unsigned send(struct mmsghdr* msgs, unsigned n) override {
    int r = sendmmsg(fd_, msgs, n, MSG_DONTWAIT);
    if (r >= 0) return static_cast<unsigned>(r);
    // ENOBUFS: the driver refused the frame (veth: the peer's backlog is full; bypass: the TX
    // queue is stopped). EAGAIN: the socket's send buffer is full on the qdisc path. Both
    // are load, not failure, as trafgen learned the hard way on veth.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;
    throw SysError("sendmmsg on AF_PACKET socket", errno);
  }

 private:
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<TxQueue> open_packet_tx(const std::string& dev, bool qdisc_bypass) {
  return std::make_unique<PacketTx>(dev, qdisc_bypass);
}

void probe_packet_tx(const std::string& dev, const std::string& netns) {
  std::exception_ptr err;
  std::thread t([&] {
    try {
      enter_netns(netns);
      PacketTx probe(dev, false);
    } catch (...) {
      err = std::current_exception();
    }
  });
  t.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace mqb
