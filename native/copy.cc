#include "copy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "session_engine.h"
#include "thread_env.h"

namespace mqb {
namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr int kPollMs = 100;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void nonblocking(int fd) {
  check(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), "fcntl O_NONBLOCK");
}

}  // namespace

uint64_t fnv1a64(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

void copy_content(uint64_t seed, uint64_t offset, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n;) {
    uint64_t pos = offset + i;
    uint64_t word = splitmix64(seed + pos / 8);
    size_t k = pos % 8;
    for (; k < 8 && i < n; k++, i++) out[i] = static_cast<uint8_t>(word >> (8 * k));
  }
}

CopyEngine::CopyEngine(CopyOptions o) : o_(std::move(o)) {
  sum_.set(kFnvOffset);
  if (!parse_address(o_.address, o_.port, addr_, addr_len_))
    throw std::invalid_argument("not an IP address: " + o_.address);
  port_ = o_.port;
  if (o_.send) return;
  // The receiver binds at once, so that its port is known before the sender is started.
  listen_ = FdGuard(check(socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
  int one = 1;
  setsockopt(listen_.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  check(bind(listen_.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_),
        "cannot bind the copy receiver to " + o_.address + " port " + std::to_string(o_.port));
  check(listen(listen_.fd, 1), "listen");
  nonblocking(listen_.fd);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  check(getsockname(listen_.fd, reinterpret_cast<sockaddr*>(&bound), &len), "getsockname");
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void CopyEngine::launch(std::vector<std::thread>& threads) {
  threads.emplace_back([this] {
    run_guarded([this] { o_.send ? run_send() : run_recv(); });
    end_ns_.set(now_ns());
    stop();
  });
}

namespace {

// Waits for `events` on fd in steps of kPollMs, so that stop() and the deadline end any wait.
void wait_fd(const Engine& e, int fd, short events, uint64_t deadline_ns, const char* what) {
  for (;;) {
    if (e.stopping()) throw std::runtime_error(std::string("stopped while ") + what);
    if (now_ns() > deadline_ns) throw std::runtime_error(std::string("timed out while ") + what);
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, kPollMs);
    if (r < 0 && errno != EINTR) throw SysError("poll", errno);
    if (r > 0) return;
  }
}

}  // namespace

void CopyEngine::run_send() {
  enter_netns(o_.netns);
  const uint64_t t0 = now_ns();
  const uint64_t deadline = t0 + o_.timeout_ms * 1000000ull;
  FdGuard s(check(socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
  nonblocking(s.fd);
  if (connect(s.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) < 0 && errno != EINPROGRESS)
    throw SysError("cannot connect to the copy receiver " + o_.address + " port " + std::to_string(o_.port),
                   errno);
  wait_fd(*this, s.fd, POLLOUT, deadline, "connecting");
  int err = 0;
  socklen_t elen = sizeof(err);
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err)
    throw SysError("cannot connect to the copy receiver " + o_.address + " port " + std::to_string(o_.port),
                   err);
  const uint64_t start = now_ns();
  start_ns_.set(start);
  std::vector<uint8_t> buf(kChunk);
  uint64_t sent = 0, sum = kFnvOffset;
  while (sent < o_.bytes) {
    if (o_.rate_bytes_per_sec) {
      // Paced: never ahead of rate x elapsed time (a chunk's worth of slack).
      uint64_t due_ns =
          start + static_cast<uint64_t>(static_cast<double>(sent) * 1e9 / o_.rate_bytes_per_sec);
      uint64_t now = now_ns();
      if (due_ns > now)
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(due_ns - now, 50000000)));
      if (now_ns() < due_ns) continue;
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, o_.bytes - sent));
    copy_content(o_.seed, sent, buf.data(), n);
    size_t off = 0;
    while (off < n) {
      ssize_t w = send(s.fd, buf.data() + off, n - off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          wait_fd(*this, s.fd, POLLOUT, deadline, "sending");
          continue;
        }
        throw SysError("copy: send after " + std::to_string(sent + off) + " bytes", errno);
      }
      off += static_cast<size_t>(w);
    }
    sum = fnv1a64(sum, buf.data(), n);
    sent += n;
    bytes_.set(sent);
    sum_.set(sum);
  }
  // Done when the receiver has read to the end and closed: then every byte has arrived.
  check(shutdown(s.fd, SHUT_WR), "shutdown");
  for (;;) {
    wait_fd(*this, s.fd, POLLIN, deadline, "waiting for the receiver to close");
    char c[256];
    ssize_t r = recv(s.fd, c, sizeof(c), 0);
    if (r == 0) break;
    if (r < 0 && errno != EAGAIN && errno != EINTR) throw SysError("copy: waiting for the receiver", errno);
    if (r > 0) throw std::runtime_error("copy: the receiver sent data");
  }
}

void CopyEngine::run_recv() {
  const uint64_t deadline = now_ns() + o_.timeout_ms * 1000000ull;
  wait_fd(*this, listen_.fd, POLLIN, deadline, "waiting for the sender to connect");
  FdGuard s(check(accept4(listen_.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK), "accept"));
  listen_.reset();
  start_ns_.set(now_ns());
  std::vector<uint8_t> buf(kChunk);
  uint64_t got = 0, sum = kFnvOffset;
  for (;;) {
    ssize_t r = recv(s.fd, buf.data(), buf.size(), 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        wait_fd(*this, s.fd, POLLIN, deadline, "receiving");
        continue;
      }
      throw SysError("copy: receive after " + std::to_string(got) + " bytes", errno);
    }
    if (r == 0) break;
    sum = fnv1a64(sum, buf.data(), static_cast<size_t>(r));
    got += static_cast<uint64_t>(r);
    bytes_.set(got);
    sum_.set(sum);
    if (got > o_.bytes)
      throw std::runtime_error("copy: received more than the " + std::to_string(o_.bytes) +
                               " bytes announced");
  }
  if (got != o_.bytes)
    throw std::runtime_error("copy: the connection ended after " + std::to_string(got) + " of " +
                             std::to_string(o_.bytes) + " bytes");
}

}  // namespace mqb
