#include "server.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>

#include "rr.h"
#include "stream.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {

const Workload* find_workload(const std::string& name, Side side) {
  if (const Workload* w = rr_workload(name, side)) return w;
  return stream_workload(name, side);
}

void with_netns(const std::string& netns, const std::function<void()>& fn) {
  if (netns.empty()) return fn();
  int home = static_cast<int>(
      check(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), "open own network namespace"));
  struct Back {
    int fd;
    ~Back() {
      // Failing to return would leave node's main thread in the test namespace: abort rather
      // than carry on creating sockets in the wrong place.
      if (setns(fd, CLONE_NEWNET) < 0) std::terminate();
      close(fd);
    }
  } back{home};
  enter_netns(netns);
  fn();
}

ListenResult listen_tcp(const std::string& netns, const std::string& host, int port, int backlog) {
  sockaddr_storage addr;
  socklen_t len;
  if (!parse_address(host, port, addr, len)) throw std::invalid_argument("not an IP address: " + host);
  ListenResult r{-1, 0};
  with_netns(netns, [&] {
    int fd = static_cast<int>(check(socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0 || ::listen(fd, backlog) < 0) {
      int err = errno;
      close(fd);
      throw SysError("cannot listen on " + host + ":" + std::to_string(port), err);
    }
    socklen_t alen = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen);
    r.fd = fd;
    r.port = ntohs(addr.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  });
  return r;
}

std::shared_ptr<SessionEngine> start_server_engine(SessionConfig cfg) {
  cfg.side = Side::server;
  std::string netns = cfg.netns;
  auto e = std::make_shared<SessionEngine>(std::move(cfg));
  with_netns(netns, [&] { e->listen_sockets(); });
  e->start();
  return e;
}

ConnectJob::~ConnectJob() {
  join();
  if (fd_ >= 0) close(fd_);
}

void ConnectJob::launch(std::vector<std::thread>& threads) {
  threads.emplace_back([this] {
    run_guarded([&] {
      enter_netns(netns_);
      sockaddr_storage addr;
      socklen_t len;
      if (!parse_address(host_, port_, addr, len)) throw std::invalid_argument("not an IP address: " + host_);
      std::string where = host_ + ":" + std::to_string(port_);
      int fd = make_socket(addr.ss_family, SOCK_STREAM);
      fd_ = fd;
      set_nodelay(fd);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
        if (errno != EINPROGRESS) throw SysError("cannot connect to mqbench server at " + where, errno);
        pollfd p{fd, POLLOUT, 0};
        int rc = poll(&p, 1, timeout_ms_);
        if (rc == 0)
          throw SysError(
              "no answer from mqbench server at " + where + " within " + std::to_string(timeout_ms_) + " ms",
              ETIMEDOUT);
        int err = 0;
        socklen_t elen = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err) throw SysError("cannot connect to mqbench server at " + where, err);
      }
      // node wraps the fd and sets it non-blocking itself.
      int flags = fcntl(fd, F_GETFL);
      fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    });
  });
}

}  // namespace mqb
