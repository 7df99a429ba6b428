#include "session_engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

int make_socket(int family, int type) {
  return static_cast<int>(check(socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket"));
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void hold_datagrams(int fd, uint64_t datagrams, uint32_t size) {
  // The kernel charges a datagram its buffer's true size (payload plus sk_buff and shared info,
  // under 1 KiB more for small ones) and doubles what SO_RCVBUF asks for, which leaves room for
  // REUSEPORT handing one listener more than its share.
  uint64_t want = std::min<uint64_t>(datagrams * (uint64_t{size} + 1024), INT32_MAX / 2);
  int have = 0;
  socklen_t len = sizeof(have);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &have, &len) == 0 && static_cast<uint64_t>(have) >= 2 * want)
    return;
  int v = static_cast<int>(want);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));  // capped at net.core.rmem_max
}

bool parse_address(const std::string& host, int port, sockaddr_storage& out, socklen_t& len) {
  std::memset(&out, 0, sizeof(out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

SessionEngine::SessionEngine(SessionConfig cfg, const Workload& workload)
    : cfg_(std::move(cfg)), wl_(workload) {
  if (cfg_.sessions < 1) throw std::invalid_argument("sessions must be at least 1");
  if (cfg_.request_size < 1 || cfg_.response_size < 1)
    throw std::invalid_argument("request and response sizes must be at least 1 byte");
  if (cfg_.message_size < wl_.min_message_size)
    throw std::invalid_argument(std::string(wl_.name) + " messages must be at least " +
                                std::to_string(wl_.min_message_size) +
                                " bytes (they carry the session header)");
  if (cfg_.threads < 1) cfg_.threads = 1;
  if (cfg_.burst < 1) cfg_.burst = 1;
  cfg_.sends.resize(cfg_.sessions, 0);
  // The server's anonymous traffic (UDP_RR, TCP_CRR) is counted in its worker's slot, so there
  // are at least as many slots as workers and every slot has one writer.
  int slots = cfg_.side == Side::server ? std::max(cfg_.sessions, cfg_.threads) : cfg_.sessions;
  for (int i = 0; i < slots; i++) {
    stats_.push_back(std::make_unique<SessionStats>());
    if (wl_.records_latency) stats_.back()->hist = std::make_unique<LatencyHistogram>();
  }
  size_t buf = std::max<size_t>(
      {size_t{cfg_.request_size}, size_t{cfg_.response_size}, size_t{cfg_.message_size}, size_t{65536}});
  for (int t = 0; t < cfg_.threads; t++) {
    auto w = std::make_unique<Worker>();
    w->index = t;
    w->cpu = cfg_.cpus.empty() ? -1 : cfg_.cpus[t % cfg_.cpus.size()];
    w->epfd.reset(static_cast<int>(check(epoll_create1(EPOLL_CLOEXEC), "epoll_create1")));
    w->buf.assign(buf, 0);
    workers_.push_back(std::move(w));
  }
  if (cfg_.side == Side::client) {
    if (wl_.socktype == SOCK_STREAM) ports_ = std::make_unique<LocalPorts>(cfg_.netns);
    for (int s = 0; s < cfg_.sessions; s++) {
      Worker& w = *workers_[s % cfg_.threads];
      auto c = std::make_unique<Conn>();
      c->session = s;
      c->sent_ns.assign(cfg_.burst, 0);
      w.sessions.push_back(s);
      w.conns.push_back(c.get());
      w.owned.push_back(std::move(c));
    }
  }
}

SessionEngine::~SessionEngine() {
  stop();
  join();
  close_sockets();
}

void SessionEngine::close_sockets() {
  for (auto& w : workers_)
    for (auto& c : w->owned) close_conn(*w, *c, false);
}

void SessionEngine::listen_sockets() {
  bool udp = wl_.socktype == SOCK_DGRAM;
  int family = cfg_.addr.ss_family;
  for (auto& wp : workers_) {
    Worker& w = *wp;
    // Owned from the start, so the destructor closes it if a later step throws.
    w.owned.push_back(std::make_unique<Conn>());
    Conn* c = w.owned.back().get();
    c->fd = make_socket(family, wl_.socktype);
    int fd = c->fd;
    c->listener = true;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // One listening socket per worker on one port: the kernel spreads connections (and UDP
    // flows) over the workers without an accept thread handing them out.
    check(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), "setsockopt SO_REUSEPORT");
    sockaddr_storage a = cfg_.addr;
    if (family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&a)->sin_port = htons(static_cast<uint16_t>(port_));
    else
      reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = htons(static_cast<uint16_t>(port_));
    check(bind(fd, reinterpret_cast<sockaddr*>(&a), cfg_.addr_len), "bind data socket");
    // Every session connects at once: a backlog of the session count (the kernel caps it at
    // net.core.somaxconn) keeps a ramp of thousands from overflowing into SYN retries a second apart.
    // 1,000 UDP_RR sessions overflowed a default buffer (208 KiB, net.core.rmem_default) on loopback
    // and lost 1.5% of their requests to UdpRcvbufErrors, 10,000 sessions 30%, each loss a 200 ms
    // timeout in the client's figures.
    if (wl_.holds_inflight)
      hold_datagrams(fd, uint64_t{static_cast<uint32_t>(cfg_.sessions)} * cfg_.burst, cfg_.request_size);
    if (!udp) {
      check(::listen(fd, std::max(4096, cfg_.sessions)), "listen");
      // Accepted connections inherit TCP_NODELAY from their listener: one setsockopt per TCP_CRR
      // transaction fewer than setting it on each.
      set_nodelay(fd);
      // accept() only once the request is there, so accepted() can answer it at once (1 s: how
      // long a connection that says nothing may wait before it is accepted anyway).
      if (wl_.accepted)
        check(setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one)),
              "setsockopt TCP_DEFER_ACCEPT");
    }
    if (port_ == 0) {
      socklen_t len = sizeof(a);
      check(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), "getsockname");
      port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&a)->sin_port
                                      : reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
    }
    w.conns.push_back(c);
    watch(w, *c, EPOLLIN, true);
    w.wakefd.reset(static_cast<int>(check(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd")));
    w.wake_conn.fd = w.wakefd.fd;
    w.wake_conn.wake = true;
    watch(w, w.wake_conn, EPOLLIN, true);
    w.handoff.reserve(cfg_.sessions);
    w.handoff_scratch.reserve(cfg_.sessions);
  }
}

// REUSEPORT spreads connections over the workers by a hash of their ports, which can leave one
// worker with three times the sessions of another (and their clients with a third of the rate).
// Moving each session to worker session % threads, once, after its hello, makes the split exact.
void SessionEngine::settle(Worker& w, Conn& c) {
  Worker& owner = *workers_[static_cast<size_t>(c.session) % workers_.size()];
  if (&owner != &w) {
    check(epoll_ctl(w.epfd.fd, EPOLL_CTL_DEL, c.fd, nullptr), "epoll_ctl");
    auto it = std::find(w.active.begin(), w.active.end(), &c);
    if (it != w.active.end()) {
      *it = w.active.back();
      w.active.pop_back();
    }
    {
      std::lock_guard<std::mutex> lock(owner.handoff_mu);
      owner.handoff.push_back(&c);
    }
    uint64_t one = 1;
    if (write(owner.wakefd.fd, &one, sizeof(one)) < 0) throw SysError("eventfd write", errno);
  }
  // Released after the hand-off, so a worker that sees every session connected also sees every
  // hand-off meant for it (solo_conn relies on that).
  stats_[c.session]->connected.v.store(1, std::memory_order_release);
}

void SessionEngine::adopt_handoffs(Worker& w) {
  uint64_t n;
  if (read(w.wakefd.fd, &n, sizeof(n)) < 0 && errno != EAGAIN) throw SysError("eventfd read", errno);
  {
    std::lock_guard<std::mutex> lock(w.handoff_mu);
    w.handoff.swap(w.handoff_scratch);
  }
  for (Conn* c : w.handoff_scratch) {
    watch(w, *c, EPOLLIN | (c->want_out ? static_cast<uint32_t>(EPOLLOUT) : 0u), true);
    w.active.push_back(c);
  }
  w.handoff_scratch.clear();
}

uint64_t SessionEngine::connected_count() const {
  uint64_t n = 0;
  for (auto& s : stats_) n += s->connected.get();
  return n;
}

void SessionEngine::watch(Worker& w, Conn& c, uint32_t events, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  check(epoll_ctl(w.epfd.fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev), "epoll_ctl");
}

void SessionEngine::set_want_out(Worker& w, Conn& c, bool want) {
  if (c.want_out == want) return;
  c.want_out = want;
  watch(w, c, EPOLLIN | (want ? static_cast<uint32_t>(EPOLLOUT) : 0u), false);
}

int SessionEngine::solo_socket(Worker& w, int type) {
  int fd = static_cast<int>(check(socket(cfg_.addr.ss_family, type | SOCK_CLOEXEC, 0), "socket"));
  std::lock_guard<std::mutex> lock(w.solo_mu);
  w.solo_fd = fd;
  // Checked after publishing: a stop() that came before it found nothing to shut down.
  if (!stopping()) return fd;
  w.solo_fd = -1;
  close(fd);
  return -1;
}

void SessionEngine::interrupt() {
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->solo_mu);
    if (w->solo_fd >= 0) shutdown(w->solo_fd, SHUT_RDWR);
  }
}

void SessionEngine::close_conn(Worker& w, Conn& c, bool reset) {
  if (c.fd < 0) return;
  if (reset) {
    // An RST instead of a FIN leaves no TIME_WAIT behind: TCP_CRR opens thousands of
    // connections a second and would otherwise run out of ephemeral ports within a minute.
    linger l{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  if (c.fd == w.solo_fd) {
    // Closed under the lock, so that stop() never shuts down a number the kernel has reused.
    std::lock_guard<std::mutex> lock(w.solo_mu);
    w.solo_fd = -1;
    close(c.fd);
  } else {
    close(c.fd);  // also removes it from the epoll set
  }
  c.fd = -1;
  c.want_out = false;
  c.blocking = false;
}

// Accepted connections come from a per-thread free list: TCP_CRR accepts thousands a second, and
// after the first few hundred the pool holds enough that accept() never allocates.
Conn* SessionEngine::pooled_conn(Worker& w) {
  if (w.free_list) {
    Conn* c = w.free_list;
    w.free_list = c->next_free;
    *c = Conn{};
    return c;
  }
  w.owned.push_back(std::make_unique<Conn>());
  return w.owned.back().get();
}

void SessionEngine::recycle(Worker& w, Conn& c) {
  c.next_free = w.free_list;
  w.free_list = &c;
}

void SessionEngine::release_conn(Worker& w, Conn& c) {
  close_conn(w, c, false);
  auto it = std::find(w.active.begin(), w.active.end(), &c);
  if (it != w.active.end()) {
    *it = w.active.back();
    w.active.pop_back();
  }
  recycle(w, c);
}

void SessionEngine::progress(Worker& w, int session, uint64_t n, uint64_t now, uint64_t started_ns) {
  SessionStats& st = *stats_[session];
  st.ops.add(n);
  if (!w.window_open) return;
  uint64_t gap = now - st.last_progress_ns;
  if (gap > st.max_gap_ns) st.max_gap_ns = gap;
  st.last_progress_ns = now;
  if (st.hist && started_ns) st.hist->record(now - started_ns);
}

void SessionEngine::session_failed(Worker& w, Conn& c) {
  SessionStats& st = *stats_[c.session];
  st.errors.add(1);
  st.dead = true;
  close_conn(w, c, false);
}

bool SessionEngine::peer_allowed(const sockaddr* sa) const {
  const sockaddr_storage& p = cfg_.peer;
  if (p.ss_family == AF_UNSPEC) return true;
  if (sa->sa_family == AF_INET && p.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&p)->sin_addr.s_addr;
  if (sa->sa_family == AF_INET6 && p.ss_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&p)->sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

void SessionEngine::open_window(Worker& w, uint64_t now) {
  for (int s : w.sessions) {
    SessionStats& st = *stats_[s];
    st.window_start_ops = st.ops.get();
    st.last_progress_ns = now;
  }
  w.window_start_ns = now;
  w.window_open = true;
}

void SessionEngine::close_window(Worker& w, uint64_t now) {
  if (!w.window_open) return;
  for (int s : w.sessions) {
    SessionStats& st = *stats_[s];
    st.window_end_ops = st.ops.get();
    uint64_t gap = now - st.last_progress_ns;
    if (gap > st.max_gap_ns) st.max_gap_ns = gap;
  }
  w.window_end_ns = now;
  w.window_open = false;
}

void SessionEngine::sample(Worker& w, uint64_t now, bool force) {
  // Inside the measurement window only, and once more at the end (`force`).
  if (!cfg_.sample_ns || (!force && (!w.window_open || now < w.next_sample_ns))) return;
  w.next_sample_ns = now + cfg_.sample_ns;
  bool tcp = wl_.socktype == SOCK_STREAM;
  // Client sessions are the worker's conns; the server's are its accepted connections once their
  // hello named them (TCP_CRR's short-lived ones are sampled while open).
  const std::vector<Conn*>& conns = cfg_.side == Side::client ? w.conns : w.active;
  for (Conn* c : conns) {
    if (c->fd < 0 || c->listener || c->session < 0 || c->session >= session_count()) continue;
    probe_socket(c->fd, tcp, stats_[c->session]->probe);
  }
}

// Accepts one connection; false when there was none. The workload's accepted() may finish it at
// once (TCP_CRR); otherwise it joins the worker's epoll set.
static bool accept_one(SessionEngine& e, Worker& w, Conn& l) {
  sockaddr_storage from{};
  socklen_t len = sizeof(from);
  FdGuard fd{accept4(l.fd, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC)};
  if (fd.fd < 0) {
    if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return false;
    if (errno == EMFILE || errno == ENFILE) return false;  // the peer's next retry may find a free fd
    throw SysError("accept", errno);
  }
  if (!e.peer_allowed(reinterpret_cast<sockaddr*>(&from))) return true;  // closed by the guard
  Conn* c = e.pooled_conn(w);
  c->fd = fd.release();
  const Workload& wl = e.workload();
  if (wl.accepted && wl.accepted(e, w, *c)) return e.recycle(w, *c), true;
  e.watch(w, *c, EPOLLIN | (c->want_out ? static_cast<uint32_t>(EPOLLOUT) : 0u), true);
  w.active.push_back(c);
  return true;
}

static void accept_all(SessionEngine& e, Worker& w, Conn& l) {
  while (accept_one(e, w, l)) {
  }
}

// Solo mode blocks in the socket's own calls, with a short timeout so that the thread still sees
// the window and stop flags.
static bool set_blocking(Conn& c, bool on) {
  int flags = fcntl(c.fd, F_GETFL);
  if (flags < 0 || fcntl(c.fd, F_SETFL, on ? flags & ~O_NONBLOCK : flags | O_NONBLOCK) < 0) return false;
  if (on) {
    timeval tv{0, 5000};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  c.blocking = on;
  return true;
}

bool solo_event(SessionEngine& e, Worker& w, Conn& c) {
  e.workload().event(e, w, c, EPOLLIN);
  return c.fd >= 0;
}

bool solo_accept(SessionEngine& e, Worker& w, Conn& listener) {
  accept_one(e, w, listener);
  if (w.active.empty()) return true;
  // A connection went to epoll: so does the listener, non-blocking again for accept_all.
  set_blocking(listener, false);
  return false;
}

// A thread with one thing to wait for can block on it instead of in epoll_wait(): one syscall fewer
// per transaction on each side, which is measurable when a round trip is a few tens of microseconds.
// That is a client thread with one session (TCP_RR, UDP_RR: its socket; TCP_CRR: the whole
// transaction on blocking calls), a TCP_RR server thread whose single session is in and whose
// listener is done, and a server thread whose listener is all it has open (UDP_RR: recvmmsg;
// TCP_CRR: accept, while accepted() finishes every connection at once).
Conn* SessionEngine::solo_conn(Worker& w) {
  if (!wl_.solo) return nullptr;
  Conn* c = nullptr;
  if (cfg_.side == Side::client) {
    if (w.conns.size() != 1 || !wl_.running(*w.conns[0])) return nullptr;
    c = w.conns[0];
  } else if (wl_.solo_on_listener) {
    if (!w.active.empty() || w.conns.size() != 1) return nullptr;
    c = w.conns[0];
  } else {
    if (w.active.size() != 1 || w.active[0]->session < 0) return nullptr;
    if (connected_count() < static_cast<uint64_t>(cfg_.sessions)) return nullptr;
    std::atomic_thread_fence(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> lock(w.handoff_mu);
      if (!w.handoff.empty()) return nullptr;
    }
    c = w.active[0];
  }
  if (c->out_bytes > 0) return nullptr;
  // TCP_CRR's solo client has no socket between transactions: it makes blocking ones itself.
  if (c->fd >= 0 && !c->blocking && !set_blocking(*c, true)) return nullptr;
  return c;
}

void SessionEngine::run_worker(Worker& w) {
  run_guarded([&] {
    pin_current_thread(w.cpu);
    enter_netns(cfg_.netns);
    if (wl_.open)
      for (Conn* c : w.conns) wl_.open(*this, w, *c);
    bool tcp_server = cfg_.side == Side::server && wl_.socktype == SOCK_STREAM;
    epoll_event evs[64];
    uint64_t last_tick = 0;
    Conn* solo = nullptr;
    uint64_t turns = 0, probe_turns = 0;
    while (!stopping()) {
      if (!w.window_open && measuring_.load(std::memory_order_relaxed)) open_window(w, now_ns());
      // The clock is read every 64th turn only: a solo turn is one transaction.
      if (cfg_.sample_ns && (++probe_turns & 63) == 0) sample(w, now_ns(), false);
      if (solo) {
        if (!wl_.solo(*this, w, *solo)) solo = nullptr;
        continue;
      }
      if ((++turns & 63) == 0 || w.conns.size() == 1) solo = solo_conn(w);
      if (solo) continue;
      int n = epoll_wait(w.epfd.fd, evs, 64, 5);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError("epoll_wait", errno);
      }
      for (int i = 0; i < n; i++) {
        Conn* c = static_cast<Conn*>(evs[i].data.ptr);
        if (c->wake)
          adopt_handoffs(w);
        else if (c->listener && tcp_server)
          accept_all(*this, w, *c);
        else
          wl_.event(*this, w, *c, evs[i].events);
      }
      if (wl_.tick) {
        uint64_t now = now_ns();
        if (now - last_tick > 1000000) {
          last_tick = now;
          for (Conn* c : w.conns) wl_.tick(*this, w, *c, now);
        }
      }
    }
    close_window(w, now_ns());
    sample(w, now_ns(), true);
    for (Conn* c : w.conns) {
      if (c->fd < 0 || c->listener || c->session < 0) continue;
      tcp_info ti{};
      socklen_t len = sizeof(ti);
      if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
        stats_[c->session]->retransmits = ti.tcpi_total_retrans;
    }
  });
}

void SessionEngine::launch(std::vector<std::thread>& threads) {
  for (auto& w : workers_) threads.emplace_back([this, p = w.get()] { run_worker(*p); });
}

}  // namespace mqb
