#include "rx_counter.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <stdexcept>

#include "mqb_limits.h"
#include "frames.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {

namespace {
constexpr unsigned kBatch = 64;
// Only the headers are needed: the length comes back with MSG_TRUNC.
constexpr size_t kSnap = 128;
constexpr int kPollMs = 50;

// Counting state of one thread; lives on its stack, published through the Counters.
class Tally {
 public:
  Tally(const RxConfig& c, RxThreadStats& st)
      : queues_(c.queues),
        flows_(c.flows_per_queue),
        st_(st),
        tracks_(size_t(c.queues) * c.flows_per_queue),
        lost_(c.queues, 0) {}
  void frame(const uint8_t* f, size_t caplen, size_t len) {
    PayloadHeader h;
    if (!parse_frame(f, caplen, h) || h.queue >= queues_ || h.flow >= flows_) {
      st_.foreign.add(1);
      return;
    }
    RxQueueStats& q = st_.by_queue[h.queue];
    bool reordered, duplicate;
    int64_t dl =
        tracks_[size_t(h.queue) * flows_ + h.flow].on_frame(h.seq, reordered, duplicate, lost_[h.queue]);
    lost_[h.queue] += dl;
    q.packets.add(1);
    q.bytes.add(len);
    if (dl != 0) q.lost.set(lost_[h.queue]);
    if (reordered) q.reordered.add(1);
    if (duplicate) q.duplicates.add(1);
  }

 private:
  unsigned queues_, flows_;
  RxThreadStats& st_;
  std::vector<FlowTrack> tracks_;
  std::vector<uint64_t> lost_;
};

void add_socket_drops(int fd, RxThreadStats& st) {
  struct tpacket_stats s;
  socklen_t len = sizeof(s);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &s, &len) == 0)
    st.socket_drops.add(s.tp_drops);  // read resets them
}

}  // namespace

RxEngine::RxEngine(RxConfig cfg) : cfg_(std::move(cfg)) {
  const std::string max_queues = std::to_string(limits::kMaxQueues);
  if (cfg_.queues < 1 || cfg_.queues > limits::kMaxQueues)
    throw std::invalid_argument("the receiver handles 1-" + max_queues + " queues");
  if (cfg_.flows_per_queue < 1 || cfg_.flows_per_queue > limits::kMaxFlowsPerQueue)
    throw std::invalid_argument("flows per queue must be 1-" + std::to_string(limits::kMaxFlowsPerQueue));
  const size_t n = cfg_.tap_fds.empty() ? static_cast<size_t>(cfg_.sockets) : cfg_.tap_fds.size();
  if (n < 1 || n > limits::kMaxQueues)
    throw std::invalid_argument("the receiver needs 1-" + max_queues + " sockets");
  for (size_t j = 0; j < n; j++) {
    auto st = std::make_unique<RxThreadStats>();
    st->by_queue.reset(new RxQueueStats[cfg_.queues]);
    stats_.push_back(std::move(st));
  }
}

void RxEngine::launch(std::vector<std::thread>& threads) {
  // Fanout group ids are per network namespace and 16 bits; the pid plus the object address
  // keeps two receivers in one process or namespace apart.
  const int fanout_id = static_cast<int>((getpid() ^ reinterpret_cast<uintptr_t>(this) >> 6) & 0xffff);
  for (size_t j = 0; j < stats_.size(); j++) {
    threads.emplace_back([this, j, fanout_id] {
      run_guarded([&] {
        if (cfg_.tap_fds.empty())
          run_packet(j, fanout_id);
        else
          run_tap(j);
      });
      // A failed thread must not leave the others waiting for it to become ready.
      if (stopping()) ready_.store(static_cast<int>(stats_.size()));
    });
  }
}

void RxEngine::run_packet(size_t j, int fanout_id) {
  if (!cfg_.cpus.empty()) pin_current_thread(cfg_.cpus[j % cfg_.cpus.size()]);
  enter_netns(cfg_.netns);
  FdGuard fd{static_cast<int>(check(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)),
                                    "cannot open an AF_PACKET socket"))};
  unsigned idx = if_nametoindex(cfg_.dev.c_str());
  if (idx == 0) throw SysError("no interface " + cfg_.dev, ENODEV);
  struct sockaddr_ll sll;
  std::memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(idx);
  check(bind(fd.fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)),
        "cannot bind an AF_PACKET socket to " + cfg_.dev);
  int one = 1;
  setsockopt(fd.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  int rcvbuf = 16 << 20;
  if (setsockopt(fd.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
    setsockopt(fd.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (stats_.size() > 1) {
    // A fanout group numbers its members in the order they join, and PACKET_FANOUT_QM hands
    // receive queue q to member q: the sockets must join in thread order to be named right.
    while (ready_.load() < static_cast<int>(j)) {
      if (stopping()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int arg = fanout_id | (PACKET_FANOUT_QM << 16);
    check(setsockopt(fd.fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)), "PACKET_FANOUT on " + cfg_.dev);
  }
  add_socket_drops(fd.fd, *stats_[j]);  // clear what arrived before the group was complete
  stats_[j]->socket_drops.set(0);
  ready_.fetch_add(1);

  RxThreadStats& st = *stats_[j];
  Tally tally(cfg_, st);
  static thread_local uint8_t bufs[kBatch][kSnap];
  struct iovec iov[kBatch];
  struct mmsghdr msgs[kBatch];
  for (unsigned k = 0; k < kBatch; k++) {
    iov[k] = {bufs[k], kSnap};
    std::memset(&msgs[k], 0, sizeof(msgs[k]));
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  struct pollfd pfd = {fd.fd, POLLIN, 0};
  while (true) {
    int r = recvmmsg(fd.fd, msgs, kBatch, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (r > 0) {
      for (int k = 0; k < r; k++)
        tally.frame(bufs[k], std::min<size_t>(msgs[k].msg_len, kSnap), msgs[k].msg_len);
      continue;
    }
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      throw SysError("recvmmsg on " + cfg_.dev, errno);
    // Drained: only now may a stop end the thread, so frames in flight at stop() still count.
    add_socket_drops(fd.fd, st);
    if (stopping()) break;
    poll(&pfd, 1, kPollMs);
  }
}

void RxEngine::run_tap(size_t j) {
  if (!cfg_.cpus.empty()) pin_current_thread(cfg_.cpus[j % cfg_.cpus.size()]);
  const int fd = cfg_.tap_fds[j];
  const int fl = fcntl(fd, F_GETFL);
  check(fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK), "cannot make tap queue fd non-blocking");
  ready_.fetch_add(1);
  RxThreadStats& st = *stats_[j];
  Tally tally(cfg_, st);
  // A tap read returns one whole frame; the buffer must hold the largest one.
  std::vector<uint8_t> buf(65536);
  struct pollfd pfd = {fd, POLLIN, 0};
  while (true) {
    ssize_t r = read(fd, buf.data(), buf.size());
    if (r > 0) {
      tally.frame(buf.data(), static_cast<size_t>(r), static_cast<size_t>(r));
      continue;
    }
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      throw SysError("read from tap queue fd", errno);
    if (stopping()) break;
    poll(&pfd, 1, kPollMs);
  }
}

}  // namespace mqb
