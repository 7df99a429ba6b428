// Socket steps the workloads share (rr.cc, stream.cc): connecting a client's TCP data session and
// reading the hello a server's TCP data connection starts with. No workload state here: each
// workload keeps its own connection states and sets them around these calls.
#pragma once
#include <cerrno>

#include "session_engine.h"

namespace mqb {

// A call on a non-blocking socket that found nothing to do. EINTR too: a thread in solo mode
// blocks in recv()/send(), where a signal meant for node's main thread may land.
inline bool again() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

// Client: opens c's TCP socket and starts a non-blocking connect to the test's data address;
// completion arrives as EPOLLOUT (see finish_connect). Resets the connection's byte counts and sets
// c.started_ns (before socket()). `edge`: registered edge-triggered, so the caller must read until
// EAGAIN (TCP_CRR: saves the epoll_ctl that would switch EPOLLOUT off again). `persistent`: the
// connection lasts the test (TCP_RR, streams) and takes its local port from e.local_ports();
// TCP_CRR's, one per transaction and reset at close, leave the choice to connect().
enum class Lasts { test, transaction };
void tcp_connect(SessionEngine& e, Worker& w, Conn& c, bool nodelay, Lasts lasts, bool edge = false);

// Client: the connect started by tcp_connect completed (`events`: what epoll reported). True when it is up
// (the session counts as connected); false when it failed after the session had been connected before (the
// session is failed). A connect that fails before the session ever ran is a setup error for the whole test
// (the data port is unreachable) and throws.
bool finish_connect(SessionEngine& e, Worker& w, Conn& c, uint32_t events);

enum class Hello { pending, refused, known };
// Server: reads more of the 8-byte hello of a TCP data connection. `known`: it named a session of
// this test (c.session is set; the caller settles it). `refused`: the peer closed, failed or is a
// stranger, and the connection was released. `pending`: wait for more bytes.
Hello read_hello(SessionEngine& e, Worker& w, Conn& c);

}  // namespace mqb
