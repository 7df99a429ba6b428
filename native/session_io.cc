#include "session_io.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

void tcp_connect(SessionEngine& e, Worker& w, Conn& c, bool nodelay) {
  const SessionConfig& cfg = e.config();
  c.fd = make_socket(cfg.addr.ss_family, SOCK_STREAM);
  if (nodelay) set_nodelay(c.fd);
  c.in_bytes = c.out_bytes = 0;
  c.started_ns = now_ns();
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&cfg.addr), cfg.addr_len) < 0 && errno != EINPROGRESS)
    throw SysError("cannot connect a data session", errno);
  c.want_out = true;
  e.watch(w, c, EPOLLIN | EPOLLOUT, true);
}

bool finish_connect(SessionEngine& e, Worker& w, Conn& c) {
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err == 0) {
    e.stats(c.session).connected.set(1);
    return true;
  }
  if (!e.stats(c.session).connected.get()) throw SysError("cannot connect a data session", err);
  e.session_failed(w, c);
  return false;
}

Hello read_hello(SessionEngine& e, Worker& w, Conn& c) {
  const SessionConfig& cfg = e.config();
  ssize_t n = recv(c.fd, reinterpret_cast<char*>(&c.hello) + c.hello_off, sizeof(c.hello) - c.hello_off, 0);
  if (n == 0 || (n < 0 && !again())) return e.release_conn(w, c), Hello::refused;
  if (n < 0) return Hello::pending;
  c.hello_off += static_cast<uint32_t>(n);
  if (c.hello_off < sizeof(c.hello)) return Hello::pending;
  if (c.hello.cookie != cfg.cookie || c.hello.session >= static_cast<uint32_t>(cfg.sessions))
    return e.release_conn(w, c), Hello::refused;
  c.session = static_cast<int>(c.hello.session);
  return Hello::known;
}

}  // namespace mqb
