#include "relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

namespace {

// A GSO super-frame from a tap with TSO offload is up to 64 KiB plus the Ethernet header; a
// shorter buffer would silently truncate it, so each direction gets 128 KiB once, up front.
constexpr size_t kFrameBuf = 1 << 17;
// Frames moved per direction before looking at the other one, so that a flood one way cannot
// starve the acks coming back (the same budget idea as NAPI's weight).
constexpr int kBatch = 64;
// How long an idle worker sleeps in poll() before it looks at the stop flag again.
constexpr int kPollMs = 100;

void set_nonblocking(int fd) {
  int fl = static_cast<int>(check(fcntl(fd, F_GETFL), "fcntl F_GETFL on a tap queue"));
  check(fcntl(fd, F_SETFL, fl | O_NONBLOCK), "fcntl F_SETFL on a tap queue");
}

// Errors a tap's write returns for one frame while the device itself is fine: no memory for an
// skb, the peer interface down during set-up or tear-down, a frame the stack refuses.
bool is_frame_drop(int err) {
  return err == EAGAIN || err == ENOBUFS || err == ENOMEM || err == EIO || err == EINVAL || err == EMSGSIZE;
}

struct Pump {
  int from;
  int to;
  RelayDirection* counters;
  unsigned char* hdr;
  unsigned char* frame;
  size_t hdr_len;

  // Moves up to kBatch frames; returns how many were read (moved or dropped).
  int run(size_t queue, const char* dir) {
    struct iovec iov[2];
    int n_iov = 0;
    if (hdr_len) iov[n_iov++] = {hdr, hdr_len};
    iov[n_iov++] = {frame, kFrameBuf};
    int moved = 0;
    for (; moved < kBatch; moved++) {
      ssize_t n = readv(from, iov, n_iov);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        throw SysError("relay queue " + std::to_string(queue) + " " + dir + ": read from tap", errno);
      }
      if (n == 0) break;
      if (static_cast<size_t>(n) < hdr_len || static_cast<size_t>(n) > hdr_len + kFrameBuf) {
        counters->drops.add(1);
        continue;
      }
      struct iovec out[2];
      int n_out = 0;
      if (hdr_len) out[n_out++] = {hdr, hdr_len};
      out[n_out++] = {frame, static_cast<size_t>(n) - hdr_len};
      if (writev(to, out, n_out) < 0) {
        if (!is_frame_drop(errno))
          throw SysError("relay queue " + std::to_string(queue) + " " + dir + ": write to tap", errno);
        counters->drops.add(1);
        continue;
      }
      counters->frames.add(1);
      counters->bytes.add(static_cast<uint64_t>(n) - hdr_len);
    }
    return moved;
  }
};

}  // namespace

Relay::Relay(RelayOptions opts) : opts_(std::move(opts)) {
  if (opts_.fds_a.empty() || opts_.fds_a.size() != opts_.fds_b.size())
    throw std::invalid_argument("relay needs the same number (at least 1) of queue fds on both taps");
  if (opts_.vnet_hdr_len < 0 || opts_.vnet_hdr_len > 64)
    throw std::invalid_argument("relay vnet header length must be 0-64");
  for (size_t i = 0; i < opts_.fds_a.size(); i++) queues_.push_back(std::make_unique<RelayQueue>());
}

void Relay::launch(std::vector<std::thread>& threads) {
  for (size_t q = 0; q < opts_.fds_a.size(); q++) {
    set_nonblocking(opts_.fds_a[q]);
    set_nonblocking(opts_.fds_b[q]);
  }
  for (size_t q = 0; q < opts_.fds_a.size(); q++)
    threads.emplace_back([this, q] { run_guarded([&] { serve(q); }); });
}

void Relay::serve(size_t q) {
  if (!opts_.cpus.empty()) pin_current_thread(opts_.cpus[q % opts_.cpus.size()]);
  const size_t hdr_len = static_cast<size_t>(opts_.vnet_hdr_len);
  // One frame in flight per direction: the header and frame buffers are this worker's own.
  std::vector<unsigned char> mem(2 * (64 + kFrameBuf));
  unsigned char* base = mem.data();
  Pump ab{opts_.fds_a[q], opts_.fds_b[q], &queues_[q]->a_to_b, base, base + 64, hdr_len};
  Pump ba{opts_.fds_b[q],        opts_.fds_a[q],         &queues_[q]->b_to_a,
          base + 64 + kFrameBuf, base + 128 + kFrameBuf, hdr_len};
  struct pollfd pfd[2] = {{opts_.fds_a[q], POLLIN, 0}, {opts_.fds_b[q], POLLIN, 0}};
  while (!stopping()) {
    int moved = ab.run(q, "A->B") + ba.run(q, "B->A");
    if (moved > 0) continue;
    int rc = poll(pfd, 2, kPollMs);
    if (rc < 0 && errno != EINTR) throw SysError("relay queue " + std::to_string(q) + ": poll", errno);
    for (auto& p : pfd)
      if (p.revents & (POLLERR | POLLNVAL))
        throw std::runtime_error("relay queue " + std::to_string(q) + ": tap queue fd " +
                                 std::to_string(p.fd) +
                                 " reports an error (closed, or its tap deleted, while the relay served it)");
  }
}

}  // namespace mqb
