#include "server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

ListenResult listen_tcp(const std::string& netns, const std::string& host, int port, int backlog) {
  sockaddr_storage addr;
  socklen_t len;
  if (!parse_address(host, port, addr, len)) throw std::invalid_argument("not an IP address: " + host);
  ListenResult r{-1, 0};
  in_netns(netns, [&] {
    FdGuard fd{static_cast<int>(check(socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"))};
    int one = 1;
    setsockopt(fd.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.fd, reinterpret_cast<sockaddr*>(&addr), len) < 0 || ::listen(fd.fd, backlog) < 0)
      throw SysError("cannot listen on " + host + ":" + std::to_string(port), errno);
    socklen_t alen = sizeof(addr);
    getsockname(fd.fd, reinterpret_cast<sockaddr*>(&addr), &alen);
    r.fd = fd.release();
    r.port = ntohs(addr.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  });
  return r;
}

std::shared_ptr<SessionEngine> start_server_engine(SessionConfig cfg, const Workload& workload) {
  cfg.side = Side::server;
  std::string netns = cfg.netns;
  auto e = std::make_shared<SessionEngine>(std::move(cfg), workload);
  in_netns(netns, [&] { e->listen_sockets(); });
  e->start();
  return e;
}

ConnectJob::~ConnectJob() {
  join();
}

void ConnectJob::launch(std::vector<std::thread>& threads) {
  threads.emplace_back([this] {
    run_guarded([&] {
      enter_netns(netns_);
      sockaddr_storage addr;
      socklen_t len;
      if (!parse_address(host_, port_, addr, len)) throw std::invalid_argument("not an IP address: " + host_);
      std::string where = host_ + ":" + std::to_string(port_);
      fd_.reset(make_socket(addr.ss_family, SOCK_STREAM));
      int fd = fd_.fd;
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
