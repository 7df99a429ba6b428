#include "stream.h"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "session_io.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {
namespace {

enum State { kConnecting = 0, kRunning = 1 };

bool running(const Conn& c) {
  return c.state == kRunning;
}

// Calls per readiness event before the loop moves on, so that one fast session cannot starve
// the others sharing its thread.
constexpr int kOpsPerEvent = 16;
constexpr unsigned kUdpBatch = 32;

bool sends(const SessionEngine& e, const Conn& c) {
  return e.config().sends[c.session] != 0;
}

// Moves data on a running TCP session in its direction. Returns false when the peer went away.
bool tcp_move(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (sends(e, c)) {
    if (!(ev & EPOLLOUT)) return !(ev & (EPOLLERR | EPOLLHUP));
    size_t len = e.config().message_size;
    uint64_t moved = 0;
    for (int i = 0; i < kOpsPerEvent; i++) {
      ssize_t n = send(c.fd, w.buf.data(), len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN) break;
        return false;
      }
      moved += static_cast<uint64_t>(n);
    }
    if (moved) e.progress(w, c.session, moved, now_ns(), 0);
    return true;
  }
  if (!(ev & EPOLLIN)) return !(ev & (EPOLLERR | EPOLLHUP));
  uint64_t moved = 0;
  for (int i = 0; i < kOpsPerEvent; i++) {
    ssize_t n = recv(c.fd, w.buf.data(), w.buf.size(), MSG_DONTWAIT);
    if (n == 0) return moved ? (e.progress(w, c.session, moved, now_ns(), 0), false) : false;
    if (n < 0) {
      if (errno == EAGAIN) break;
      return false;
    }
    moved += static_cast<uint64_t>(n);
  }
  if (moved) e.progress(w, c.session, moved, now_ns(), 0);
  return true;
}

void tcp_stream_client_open(SessionEngine& e, Worker& w, Conn& c) {
  c.hello = {e.config().cookie, static_cast<uint32_t>(c.session)};
  c.state = kConnecting;
  tcp_connect(e, w, c, false, Lasts::test);
}

void tcp_stream_client_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (c.fd < 0) return;
  if (c.state == kConnecting) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (!finish_connect(e, w, c, ev)) return;  // a stream session connects once: a failure throws
    c.state = kRunning;
  }
  if (c.hello_off < sizeof(c.hello)) {
    ssize_t n = send(c.fd, reinterpret_cast<char*>(&c.hello) + c.hello_off, sizeof(c.hello) - c.hello_off,
                     MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return e.session_failed(w, c);
    if (n > 0) c.hello_off += static_cast<uint32_t>(n);
    if (c.hello_off < sizeof(c.hello)) return;
    e.set_want_out(w, c, sends(e, c));
    return;
  }
  if (!tcp_move(e, w, c, ev)) e.session_failed(w, c);
}

void tcp_stream_server_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (c.session < 0) {
    if (!(ev & EPOLLIN)) return e.release_conn(w, c);
    if (read_hello(e, w, c) != Hello::known) return;
    e.set_want_out(w, c, sends(e, c));
    e.settle(w, c);
    return;
  }
  if (!tcp_move(e, w, c, ev)) {
    tcp_info ti{};
    socklen_t len = sizeof(ti);
    if (getsockopt(c.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
      e.stats(c.session).retransmits = ti.tcpi_total_retrans;
    e.release_conn(w, c);
  }
}

// ---- UDP_STREAM: datagrams carry the session hello, so the receiver counts per session -------

void udp_stream_client_open(SessionEngine& e, Worker& w, Conn& c) {
  const SessionConfig& cfg = e.config();
  c.fd = make_socket(cfg.addr.ss_family, SOCK_DGRAM);
  c.hello = {cfg.cookie, static_cast<uint32_t>(c.session)};
  check(connect(c.fd, reinterpret_cast<const sockaddr*>(&cfg.addr), cfg.addr_len),
        "cannot connect a UDP data session");
  e.stats(c.session).connected.set(1);
  c.want_out = true;
  e.watch(w, c, EPOLLOUT, true);
}

void udp_stream_client_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  if (c.fd < 0 || !(ev & EPOLLOUT)) return;
  size_t len = e.config().message_size;
  iovec iov[kUdpBatch][2];
  mmsghdr msgs[kUdpBatch];
  std::memset(msgs, 0, sizeof(msgs));
  for (unsigned i = 0; i < kUdpBatch; i++) {
    iov[i][0] = {&c.hello, sizeof(c.hello)};
    iov[i][1] = {w.buf.data(), len - sizeof(c.hello)};
    msgs[i].msg_hdr.msg_iov = iov[i];
    msgs[i].msg_hdr.msg_iovlen = 2;
  }
  int n = sendmmsg(c.fd, msgs, kUdpBatch, MSG_DONTWAIT);
  if (n < 0) {
    // ENOBUFS/EAGAIN: the device queue is full, which is what a stream test finds out.
    if (errno == EAGAIN || errno == ENOBUFS) return;
    return e.session_failed(w, c);  // ECONNREFUSED: the server's port is gone
  }
  e.stats(c.session).datagrams.add(static_cast<uint64_t>(n));
  e.progress(w, c.session, static_cast<uint64_t>(n) * len, now_ns(), 0);
}

void udp_stream_server_event(SessionEngine& e, Worker& w, Conn& c, uint32_t ev) {
  const SessionConfig& cfg = e.config();
  SessionHello hdr[kUdpBatch];
  sockaddr_storage from[kUdpBatch];
  iovec iov[kUdpBatch];
  mmsghdr msgs[kUdpBatch];
  std::memset(msgs, 0, sizeof(msgs));
  for (unsigned i = 0; i < kUdpBatch; i++) {
    iov[i] = {&hdr[i], sizeof(hdr[i])};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
  }
  // MSG_TRUNC: only the 8-byte header is copied, msg_len still gives the datagram's length.
  int n = recvmmsg(c.fd, msgs, kUdpBatch, MSG_DONTWAIT | MSG_TRUNC, nullptr);
  for (int i = 0; i < n; i++) {
    if (msgs[i].msg_len < sizeof(SessionHello) || hdr[i].cookie != cfg.cookie ||
        hdr[i].session >= static_cast<uint32_t>(cfg.sessions) ||
        !e.peer_allowed(reinterpret_cast<sockaddr*>(&from[i])))
      continue;
    SessionStats& st = e.stats(static_cast<int>(hdr[i].session));
    st.datagrams.add(1);
    st.ops.add(msgs[i].msg_len);
  }
}

const Workload kTcpStreamClient{.name = "tcp_stream",
                                .socktype = SOCK_STREAM,
                                .records_latency = false,
                                .min_message_size = 0,
                                .open = tcp_stream_client_open,
                                .event = tcp_stream_client_event,
                                .tick = nullptr,
                                .running = running,
                                .solo = nullptr,
                                .solo_on_listener = false,
                                .accepted = nullptr};
const Workload kTcpStreamServer{.name = "tcp_stream",
                                .socktype = SOCK_STREAM,
                                .records_latency = false,
                                .min_message_size = 0,
                                .open = nullptr,
                                .event = tcp_stream_server_event,
                                .tick = nullptr,
                                .running = nullptr,
                                .solo = nullptr,
                                .solo_on_listener = false,
                                .accepted = nullptr};
const Workload kUdpStreamClient{.name = "udp_stream",
                                .socktype = SOCK_DGRAM,
                                .records_latency = false,
                                .min_message_size = sizeof(SessionHello),
                                .open = udp_stream_client_open,
                                .event = udp_stream_client_event,
                                .tick = nullptr,
                                .running = nullptr,
                                .solo = nullptr,
                                .solo_on_listener = false,
                                .accepted = nullptr};
const Workload kUdpStreamServer{.name = "udp_stream",
                                .socktype = SOCK_DGRAM,
                                .records_latency = false,
                                .min_message_size = sizeof(SessionHello),
                                .open = nullptr,
                                .event = udp_stream_server_event,
                                .tick = nullptr,
                                .running = nullptr,
                                .solo = nullptr,
                                .solo_on_listener = false,
                                .accepted = nullptr};

const Workload* const kTable[][2] = {
    {&kTcpStreamClient, &kTcpStreamServer},
    {&kUdpStreamClient, &kUdpStreamServer},
};

}  // namespace

const Workload* stream_workload(const std::string& name, Side side) {
  for (auto& row : kTable)
    if (name == row[0]->name) return row[side == Side::client ? 0 : 1];
  return nullptr;
}

}  // namespace mqb
