#include "session_io.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

void tcp_connect(SessionEngine& e, Worker& w, Conn& c, bool nodelay, Lasts lasts, bool edge) {
  const SessionConfig& cfg = e.config();
  c.started_ns = now_ns();  // before socket(): TCP_CRR's transaction is socket() to close()
  c.fd = make_socket(cfg.addr.ss_family, SOCK_STREAM);
  if (nodelay) set_nodelay(c.fd);
  if (lasts == Lasts::test && e.local_ports()) e.local_ports()->bind_next(c.fd, cfg.addr.ss_family);
  c.in_bytes = c.out_bytes = 0;
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&cfg.addr), cfg.addr_len) < 0 && errno != EINPROGRESS)
    throw SysError("cannot connect a data session", errno);
  // Edge-triggered, EPOLLOUT reports the connect once and needs no epoll_ctl to switch it off.
  c.want_out = !edge;
  e.watch(w, c, EPOLLIN | EPOLLOUT | (edge ? static_cast<uint32_t>(EPOLLET) : 0u), true);
}

bool finish_connect(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  int err = 0;
  // A failed connect always reports EPOLLERR; without it the connect succeeded and there is no
  // error to read (one getsockopt fewer per TCP_CRR transaction).
  if (ev & (EPOLLERR | EPOLLHUP)) {
    socklen_t len = sizeof(err);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) err = ECONNRESET;
  }
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
