#include "rr.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "session_io.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {
namespace {

// kSolo: a TCP_CRR session alone on its thread, between two blocking transactions (no socket);
// kDead: a solo TCP_CRR session that failed.
enum State { kConnecting = 0, kRunning = 1, kSolo = 2, kDead = 3 };

bool running(const Conn& c) {
  return c.fd >= 0 && c.state == kRunning;
}

// Writes the pending hello and request/response bytes; arms EPOLLOUT only while the socket
// buffer is full. Returns false when the connection failed (and was handled).
bool flush(SessionEngine& e, Worker& w, Conn& c, bool client) {
  while (client && c.hello_off < sizeof(c.hello)) {
    ssize_t n = send(c.fd, reinterpret_cast<char*>(&c.hello) + c.hello_off, sizeof(c.hello) - c.hello_off,
                     MSG_NOSIGNAL);
    if (n < 0) {
      if (again()) return e.set_want_out(w, c, true), true;
      return false;
    }
    c.hello_off += static_cast<uint32_t>(n);
  }
  while (c.out_bytes > 0) {
    size_t len = std::min<uint64_t>(c.out_bytes, w.buf.size());
    ssize_t n = send(c.fd, w.buf.data(), len, MSG_NOSIGNAL);
    if (n < 0) {
      if (again()) return e.set_want_out(w, c, true), true;
      return false;
    }
    c.out_bytes -= static_cast<uint64_t>(n);
  }
  e.set_want_out(w, c, false);
  return true;
}

void queue_request(const SessionConfig& cfg, Conn& c, uint64_t now) {
  c.sent_ns[(c.head + c.inflight) % cfg.burst] = now;
  c.inflight++;
  c.out_bytes += cfg.request_size;
}

// Completes every whole response in c.in_bytes and queues the next requests.
void complete_responses(SessionEngine& e, Worker& w, Conn& c, uint64_t now) {
  const SessionConfig& cfg = e.config();
  while (c.in_bytes >= cfg.response_size && c.inflight > 0) {
    c.in_bytes -= cfg.response_size;
    uint64_t started = c.sent_ns[c.head];
    c.head = (c.head + 1) % cfg.burst;
    c.inflight--;
    e.progress(w, c.session, 1, now, started);
    queue_request(cfg, c, now);
  }
}

// Connects (again, for TCP_CRR) and waits for the connect to complete.
void connect_session(SessionEngine& e, Worker& w, Conn& c, Lasts lasts, bool nodelay = true,
                     bool edge = false) {
  c.state = kConnecting;
  tcp_connect(e, w, c, nodelay, lasts, edge);
}

bool connect_done(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (!finish_connect(e, w, c, ev)) return false;
  c.state = kRunning;
  return true;
}

// ---- TCP_RR --------------------------------------------------------------------------------

void tcp_rr_client_open(SessionEngine& e, Worker& w, Conn& c) {
  c.hello = {e.config().cookie, static_cast<uint32_t>(c.session)};
  c.hello_off = sizeof(c.hello);  // nothing to send until connected
  connect_session(e, w, c, Lasts::test);
}

void tcp_rr_client_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (c.fd < 0) return;
  if (c.state == kConnecting) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (!connect_done(e, w, c, ev)) return;
    c.hello_off = 0;
    uint64_t now = now_ns();
    for (uint32_t i = 0; i < e.config().burst; i++) queue_request(e.config(), c, now);
    if (!flush(e, w, c, true)) e.session_failed(w, c);
    return;
  }
  if (ev & EPOLLIN) {
    ssize_t n = recv(c.fd, w.buf.data(), w.buf.size(), 0);
    if (n == 0 || (n < 0 && !again())) return e.session_failed(w, c);
    if (n > 0) {
      c.in_bytes += static_cast<uint64_t>(n);
      complete_responses(e, w, c, now_ns());
    }
  } else if (ev & (EPOLLERR | EPOLLHUP)) {
    return e.session_failed(w, c);
  }
  if (c.out_bytes > 0 || (ev & EPOLLOUT))
    if (!flush(e, w, c, true)) e.session_failed(w, c);
}

// The server side of TCP_RR and TCP_CRR: answer every whole request with a response.
void tcp_rr_server_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev, bool hello) {
  const SessionConfig& cfg = e.config();
  if (ev & EPOLLIN) {
    if (hello && c.hello_off < sizeof(c.hello)) {
      if (read_hello(e, w, c) == Hello::known) e.settle(w, c);
      return;  // level-triggered: the request bytes behind the hello come in the next turn
    }
    ssize_t n = recv(c.fd, w.buf.data(), w.buf.size(), 0);
    if (n == 0 || (n < 0 && !again())) return e.release_conn(w, c);
    if (n > 0) {
      c.in_bytes += static_cast<uint64_t>(n);
      uint64_t k = c.in_bytes / cfg.request_size;
      c.in_bytes -= k * cfg.request_size;
      c.out_bytes += k * cfg.response_size;
      if (k) e.progress(w, hello ? c.session : w.index, k, 0, 0);
    }
  } else if (ev & (EPOLLERR | EPOLLHUP)) {
    return e.release_conn(w, c);
  }
  if (c.out_bytes > 0 || (ev & EPOLLOUT))
    if (!flush(e, w, c, false)) e.release_conn(w, c);
}

void tcp_rr_server(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  tcp_rr_server_event(e, w, c, ev, true);
}
void tcp_crr_server(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  tcp_rr_server_event(e, w, c, ev, false);
}

// ---- TCP_CRR: one connection per transaction -------------------------------------------------

// Per transaction: socket, connect, epoll_ctl (edge-triggered, once), epoll_wait, send, epoll_wait,
// recv, setsockopt (SO_LINGER), close. No TCP_NODELAY: a request that fits one segment goes out at
// once on a fresh connection (Nagle holds only data behind unacknowledged data), and the server's
// listener carries the option for its side.
constexpr uint32_t kCrrNodelayAbove = 536;  // the smallest MSS: larger requests may span segments

void crr_connect(SessionEngine& e, Worker& w, Conn& c) {
  connect_session(e, w, c, Lasts::transaction, e.config().request_size > kCrrNodelayAbove, true);
}

void tcp_crr_client_open(SessionEngine& e, Worker& w, Conn& c) {
  c.hello_off = sizeof(c.hello);  // no hello: the connection is the transaction
  // Alone on its thread, the session runs in solo mode (tcp_crr_client_solo) and never sees epoll.
  if (w.conns.size() == 1) {
    c.state = kSolo;
    return;
  }
  crr_connect(e, w, c);
}

void tcp_crr_client_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (c.fd < 0) return;
  if (c.state == kConnecting) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (!connect_done(e, w, c, ev)) return;
    c.out_bytes = e.config().request_size;
    if (!flush(e, w, c, true)) e.session_failed(w, c);
    return;
  }
  if (ev & EPOLLIN) {
    // Edge-triggered: read until the response is whole or the socket is empty.
    for (;;) {
      ssize_t n = recv(c.fd, w.buf.data(), w.buf.size(), 0);
      if (n == 0 || (n < 0 && !again())) return e.session_failed(w, c);
      if (n < 0) break;
      c.in_bytes += static_cast<uint64_t>(n);
      if (c.in_bytes >= e.config().response_size) {
        // The transaction is socket() to close(), as netperf's TCP_CRR (docs/sessions.md).
        e.close_conn(w, c, true);
        e.progress(w, c.session, 1, now_ns(), c.started_ns);
        crr_connect(e, w, c);
        return;
      }
    }
  } else if (ev & (EPOLLERR | EPOLLHUP)) {
    return e.session_failed(w, c);
  }
  if (c.out_bytes > 0 || (ev & EPOLLOUT))
    if (!flush(e, w, c, true)) e.session_failed(w, c);
}

bool crr_solo(const Conn& c) {
  return c.state == kSolo;
}

// A solo transaction that failed: quietly when stop() shut its socket down, a setup error for the
// whole test when the session never connected (the data port is unreachable), else a failed session.
bool crr_solo_failed(SessionEngine& e, Worker& w, Conn& c, int err) {
  c.state = kDead;
  if (e.stopping()) return e.close_conn(w, c, false), false;
  if (!e.stats(c.session).connected.get()) {
    e.close_conn(w, c, false);
    throw SysError("cannot connect a data session", err);
  }
  e.session_failed(w, c);
  return false;
}

// TCP_CRR alone on a thread, as the reference floor does it (bench/ref.c): socket(), a blocking
// connect(), send(), blocking recv() until the response is whole, close(), and nothing registered
// with epoll. One call more than the floor: SO_LINGER, for the RST that leaves no TIME_WAIT (the
// floor relies on net.ipv4.tcp_tw_reuse instead). stop() shuts the socket down if a call blocks.
bool tcp_crr_client_solo(SessionEngine& e, Worker& w, Conn& c) {
  const SessionConfig& cfg = e.config();
  c.started_ns = now_ns();  // the transaction is socket() to close() (docs/sessions.md)
  c.fd = e.solo_socket(w, SOCK_STREAM);
  if (c.fd < 0) return false;  // stopping
  if (cfg.request_size > kCrrNodelayAbove) set_nodelay(c.fd);
  // A signal meant for node's main thread may land here (EINTR): the connect goes on in the
  // background, and calling again waits for it (EALREADY) until it is up (EISCONN).
  int r;
  while ((r = connect(c.fd, reinterpret_cast<const sockaddr*>(&cfg.addr), cfg.addr_len)) < 0 &&
         (errno == EINTR || errno == EALREADY) && !e.stopping()) {
  }
  if (r < 0 && errno != EISCONN) return crr_solo_failed(e, w, c, errno);
  if (!e.stats(c.session).connected.get()) e.stats(c.session).connected.set(1);
  for (uint64_t sent = 0; sent < cfg.request_size;) {
    size_t len = std::min<uint64_t>(cfg.request_size - sent, w.buf.size());
    ssize_t n = send(c.fd, w.buf.data(), len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR && !e.stopping()) continue;
    if (n < 0) return crr_solo_failed(e, w, c, errno);
    sent += static_cast<uint64_t>(n);
  }
  for (uint64_t got = 0; got < cfg.response_size;) {
    ssize_t n = recv(c.fd, w.buf.data(), w.buf.size(), 0);
    if (n < 0 && errno == EINTR && !e.stopping()) continue;
    if (n <= 0) return crr_solo_failed(e, w, c, n == 0 ? ECONNRESET : errno);
    got += static_cast<uint64_t>(n);
  }
  e.close_conn(w, c, true);
  e.progress(w, c.session, 1, now_ns(), c.started_ns);
  return true;
}

// The TCP_CRR server's accept path: the listener defers accept() until the request is there
// (TCP_DEFER_ACCEPT), so a connection is normally answered and closed at once, as the reference
// server does it (accept, recv, send, close) and without epoll. A request or response that does not
// fit one call continues on epoll (tcp_crr_server).
bool tcp_crr_server_accepted(SessionEngine& e, Worker& w, Conn& c) {
  const SessionConfig& cfg = e.config();
  ssize_t n = recv(c.fd, w.buf.data(), w.buf.size(), 0);
  if (n < 0 && again()) return false;
  if (n <= 0) return e.close_conn(w, c, false), true;  // the client went away
  uint64_t k = static_cast<uint64_t>(n) / cfg.request_size;
  c.in_bytes = static_cast<uint64_t>(n) - k * cfg.request_size;
  if (k == 0) return false;
  e.progress(w, w.index, k, 0, 0);
  uint64_t out = k * cfg.response_size;
  ssize_t s = send(c.fd, w.buf.data(), std::min<uint64_t>(out, w.buf.size()), MSG_NOSIGNAL);
  if (s < 0 && !again()) return e.close_conn(w, c, false), true;
  c.out_bytes = out - static_cast<uint64_t>(std::max<ssize_t>(s, 0));
  if (c.out_bytes > 0) return c.want_out = true, false;
  // Closed first (FIN), as the floor's server does: the client's RST then ends it without TIME_WAIT.
  e.close_conn(w, c, false);
  return true;
}

// ---- UDP_RR ------------------------------------------------------------------------------------

// A datagram lost on the way leaves its transaction in flight for ever; after this long without
// a response the session counts an error and starts its burst again.
constexpr uint64_t kUdpTimeoutNs = 200ull * 1000 * 1000;

void udp_send_requests(SessionEngine& e, Worker& w, Conn& c, uint64_t now) {
  const SessionConfig& cfg = e.config();
  while (c.out_bytes >= cfg.request_size) {
    ssize_t n = send(c.fd, w.buf.data(), cfg.request_size, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != ENOBUFS) return e.session_failed(w, c);
    c.out_bytes -= cfg.request_size;  // a request the kernel refused is a lost datagram: the tick resends
  }
  c.idle_since_ns = now;
}

void udp_rr_client_open(SessionEngine& e, Worker& w, Conn& c) {
  const SessionConfig& cfg = e.config();
  c.fd = make_socket(cfg.addr.ss_family, SOCK_DGRAM);
  hold_datagrams(c.fd, cfg.burst, cfg.response_size);  // --burst K: K responses may wait at once
  check(connect(c.fd, reinterpret_cast<const sockaddr*>(&cfg.addr), cfg.addr_len),
        "cannot connect a UDP data session");
  e.watch(w, c, EPOLLIN, true);
  e.stats(c.session).connected.set(1);
  uint64_t now = now_ns();
  for (uint32_t i = 0; i < cfg.burst; i++) queue_request(cfg, c, now);
  udp_send_requests(e, w, c, now);
}

void udp_rr_client_tick(SessionEngine& e, Worker& w, Conn& c, uint64_t now);

// Up to kUdpBatch datagrams, all read into the one scratch buffer (a response's bytes are not
// looked at; a datagram longer than the buffer is still consumed whole).
constexpr unsigned kUdpBatch = 64;
struct UdpBatch {
  mmsghdr msgs[kUdpBatch];
  iovec iov;
  sockaddr_storage from[kUdpBatch];
  UdpBatch(Worker& w, bool addresses)
      : msgs{}, iov{w.buf.data(), w.buf.size()} {  // `from`: written by the kernel
    for (unsigned i = 0; i < kUdpBatch; i++) {
      msgs[i].msg_hdr.msg_iov = &iov;
      msgs[i].msg_hdr.msg_iovlen = 1;
      if (addresses) {
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
      }
    }
  }
};

// One recvmmsg takes every response that is there (MSG_WAITFORONE: waits only for the first, so on
// the blocking socket of solo mode it is the blocking recv, and on epoll it never finds nothing),
// then the next requests go out: 2 syscalls per transaction alone on a thread, 3 on epoll.
void udp_rr_client_event(SessionEngine& e, Worker& w, Conn& c, uint32_t) {
  if (c.fd < 0) return;
  UdpBatch b(w, false);
  int n = recvmmsg(c.fd, b.msgs, kUdpBatch, MSG_WAITFORONE, nullptr);
  uint64_t now = now_ns();
  if (n < 0) {
    if (!again()) return e.session_failed(w, c);  // ECONNREFUSED: the server's port is gone
    return udp_rr_client_tick(e, w, c, now);      // solo mode's 5 ms receive timeout
  }
  for (int i = 0; i < n; i++) {
    c.in_bytes = e.config().response_size;  // one datagram is one whole response
    complete_responses(e, w, c, now);
  }
  udp_send_requests(e, w, c, now);
}

bool udp_running(const Conn& c) {
  return c.fd >= 0;
}

void udp_rr_client_tick(SessionEngine& e, Worker& w, Conn& c, uint64_t now) {
  if (c.fd < 0 || now - c.idle_since_ns < kUdpTimeoutNs) return;
  e.stats(c.session).errors.add(1);
  c.head = c.inflight = 0;
  c.out_bytes = 0;
  for (uint32_t i = 0; i < e.config().burst; i++) queue_request(e.config(), c, now);
  udp_send_requests(e, w, c, now);
}

// recvmmsg drains every request that is there in one call and sendmmsg answers them in one more:
// 3 syscalls per wake-up (with epoll_wait) however many sessions the thread serves.
void udp_rr_server_event(SessionEngine& e, Worker& w, Conn& c, uint32_t) {
  const SessionConfig& cfg = e.config();
  UdpBatch b(w, true);
  // MSG_WAITFORONE: on epoll's non-blocking socket it never waits; in solo mode (the socket made
  // blocking) it waits for the first datagram only, instead of epoll_wait.
  int n = recvmmsg(c.fd, b.msgs, kUdpBatch, MSG_WAITFORONE, nullptr);
  if (n <= 0) return;
  iovec out{w.buf.data(), cfg.response_size};
  unsigned k = 0;
  for (int i = 0; i < n; i++) {
    msghdr& h = b.msgs[i].msg_hdr;
    // Only the test's own client is ever answered, so the server cannot be made to send to
    // an address someone else names (a spoofed source).
    if (!e.peer_allowed(static_cast<sockaddr*>(h.msg_name))) continue;
    msghdr& o = b.msgs[k++].msg_hdr;
    o.msg_name = h.msg_name;
    o.msg_namelen = h.msg_namelen;
    o.msg_iov = &out;
    o.msg_iovlen = 1;
  }
  int sent = k ? sendmmsg(c.fd, b.msgs, k, MSG_NOSIGNAL) : 0;
  if (sent > 0) e.progress(w, w.index, static_cast<uint64_t>(sent), 0, 0);
}

const Workload kTcpRrClient{.name = "tcp_rr",
                            .socktype = SOCK_STREAM,
                            .records_latency = true,
                            .min_message_size = 0,
                            .open = tcp_rr_client_open,
                            .event = tcp_rr_client_event,
                            .tick = nullptr,
                            .running = running,
                            .solo = solo_event,
                            .solo_on_listener = false,
                            .accepted = nullptr};
const Workload kTcpRrServer{.name = "tcp_rr",
                            .socktype = SOCK_STREAM,
                            .records_latency = false,
                            .min_message_size = 0,
                            .open = nullptr,
                            .event = tcp_rr_server,
                            .tick = nullptr,
                            .running = nullptr,
                            .solo = solo_event,
                            .solo_on_listener = false,
                            .accepted = nullptr};
const Workload kTcpCrrClient{.name = "tcp_crr",
                             .socktype = SOCK_STREAM,
                             .records_latency = true,
                             .min_message_size = 0,
                             .open = tcp_crr_client_open,
                             .event = tcp_crr_client_event,
                             .tick = nullptr,
                             .running = crr_solo,
                             .solo = tcp_crr_client_solo,
                             .solo_on_listener = false,
                             .accepted = nullptr};
const Workload kTcpCrrServer{.name = "tcp_crr",
                             .socktype = SOCK_STREAM,
                             .records_latency = false,
                             .min_message_size = 0,
                             .open = nullptr,
                             .event = tcp_crr_server,
                             .tick = nullptr,
                             .running = nullptr,
                             .solo = solo_accept,
                             .solo_on_listener = true,
                             .accepted = tcp_crr_server_accepted};
const Workload kUdpRrClient{.name = "udp_rr",
                            .socktype = SOCK_DGRAM,
                            .records_latency = true,
                            .min_message_size = 0,
                            .open = udp_rr_client_open,
                            .event = udp_rr_client_event,
                            .tick = udp_rr_client_tick,
                            .running = udp_running,
                            .solo = solo_event,
                            .solo_on_listener = false,
                            .accepted = nullptr,
                            .holds_inflight = false};
const Workload kUdpRrServer{.name = "udp_rr",
                            .socktype = SOCK_DGRAM,
                            .records_latency = false,
                            .min_message_size = 0,
                            .open = nullptr,
                            .event = udp_rr_server_event,
                            .tick = nullptr,
                            .running = nullptr,
                            .solo = solo_event,
                            .solo_on_listener = true,
                            .accepted = nullptr,
                            .holds_inflight = true};

const Workload* const kTable[][2] = {
    {&kTcpRrClient, &kTcpRrServer},
    {&kTcpCrrClient, &kTcpCrrServer},
    {&kUdpRrClient, &kUdpRrServer},
};

}  // namespace

const Workload* rr_workload(const std::string& name, Side side) {
  for (auto& row : kTable)
    if (name == row[0]->name) return row[side == Side::client ? 0 : 1];
  return nullptr;
}

}  // namespace mqb
