#include "session_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "server.h"
#include "session_engine.h"
#include "sys.h"

namespace mqb::agent {

namespace {

// As src/sessions/server.ts: a client silent this long after connecting is dropped, and a test
// may run this long past its announced duration before the server ends it.
constexpr int kHelloTimeoutMs = 5000;
constexpr int kOverrunGraceMs = 30000;
// Control connections served at once; more are closed at accept (each costs a thread).
constexpr int kMaxConnections = 256;
constexpr int kSendTimeoutMs = 5000;
// src/sessions/host-limits.ts RESERVED_FDS: descriptors a server needs beyond its sessions' sockets.

using Clock = std::chrono::steady_clock;

// Per-CPU ticks from /proc/stat: user nice system idle iowait irq softirq steal.
std::map<int, std::array<double, 8>> read_proc_stat() {
  std::map<int, std::array<double, 8>> out;
  std::ifstream f("/proc/stat");
  std::string l;
  while (std::getline(f, l)) {
    if (l.compare(0, 3, "cpu") != 0 || l.size() < 4 || l[3] < '0' || l[3] > '9') continue;
    std::istringstream s(l.substr(3));
    int cpu;
    s >> cpu;
    std::array<double, 8> t{};
    for (double& x : t)
      if (!(s >> x)) x = 0;  // fields newer kernels added are 0 when absent
    out[cpu] = t;
  }
  return out;
}

double process_us(bool user) {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const timeval& t = user ? u.ru_utime : u.ru_stime;
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
}

// src/observe/cpu.ts's cpuWindow: /proc/stat deltas (USER_HZ 100) and the process's rusage.
class CpuWindow {
 public:
  CpuWindow() : a_(read_proc_stat()), user_(process_us(true)), sys_(process_us(false)) {}
  control::CpuFigures end() const {
    control::CpuFigures c;
    double user = 0, sys = 0, softirq = 0, irq = 0, total = 0;
    for (auto& [cpu, after] : read_proc_stat()) {
      auto it = a_.find(cpu);
      if (it == a_.end()) continue;  // came online in between: no baseline
      std::array<double, 8> d;
      for (int k = 0; k < 8; k++) d[k] = std::max(0.0, after[k] - it->second[k]) * 1000 / 100;
      user += d[0] + d[1];
      sys += d[2];
      irq += d[5];
      softirq += d[6];
      for (double x : d) total += x;
      c.cpus++;
    }
    auto pct = [&](double v) { return total > 0 ? 100 * v / total : 0; };
    c.busy_ms = user + sys + irq + softirq;
    c.user_pct = pct(user);
    c.sys_pct = pct(sys);
    c.softirq_pct = pct(softirq);
    c.irq_pct = pct(irq);
    c.total_pct = pct(c.busy_ms);
    c.process_user_us = process_us(true) - user_;
    c.process_sys_us = process_us(false) - sys_;
    return c;
  }

 private:
  std::map<int, std::array<double, 8>> a_;
  double user_, sys_;
};

bool tokens_match(const std::string& expected, const std::optional<std::string>& given) {
  if (!given) return false;
  // Constant time in the content: every byte of the longer string is looked at.
  size_t n = std::max(expected.size(), given->size());
  unsigned diff = expected.size() != given->size();
  for (size_t i = 0; i < n; i++) {
    unsigned char a = i < expected.size() ? expected[i] : 0, b = i < given->size() ? (*given)[i] : 0;
    diff |= a ^ b;
  }
  return diff == 0;
}

uint32_t random_cookie() {
  uint32_t c = 0;
  if (getrandom(&c, sizeof(c), 0) != sizeof(c))
    c = static_cast<uint32_t>(Clock::now().time_since_epoch().count());
  return c;
}

std::string address_text(const sockaddr_storage& a, sockaddr_storage& unmapped) {
  char buf[INET6_ADDRSTRLEN] = "?";
  unmapped = a;
  if (a.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      // An IPv4 client of a dual-stack socket: its data comes as plain IPv4 (server.ts strips ::ffff: too).
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      v4.sin_port = v6->sin6_port;
      std::memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
      std::memset(&unmapped, 0, sizeof(unmapped));
      std::memcpy(&unmapped, &v4, sizeof(v4));
    }
  }
  if (unmapped.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&unmapped);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  auto* v6 = reinterpret_cast<const sockaddr_in6*>(&unmapped);
  inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
  return std::string(buf) + ":" + std::to_string(ntohs(v6->sin6_port));
}

}  // namespace

bool is_loopback(const std::string& ip) {
  std::string v4 = ip.rfind("::ffff:", 0) == 0 ? ip.substr(7) : ip;
  return v4.rfind("127.", 0) == 0 || ip == "::1";
}

// One control connection: the state machine of server.ts's serveConnection.
class Connection {
 public:
  Connection(ControlServer& s, int fd, const sockaddr_storage& peer)
      : s_(s), fd_(fd), reader_(s.opts_.limits) {
    who_ = address_text(peer, peer_);
    timeval tv{kSendTimeoutMs / 1000, 0};
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  ~Connection() { close(fd_); }

  void run() {
    auto hello_deadline = Clock::now() + std::chrono::milliseconds(kHelloTimeoutMs);
    char buf[16384];
    while (state_ != State::closed) {
      if (s_.stopping_) {
        finish(false);
        return;
      }
      auto now = Clock::now();
      if (state_ == State::hello && now >= hello_deadline)
        return refuse("no hello within " + std::to_string(kHelloTimeoutMs) + " ms");
      if (state_ == State::running && now >= overrun_deadline_) {
        s_.log(who_ + ": test ran " + std::to_string(kOverrunGraceMs) + " ms past its duration; ending it");
        finish(true);
        return;
      }
      pollfd p[2] = {{fd_, POLLIN, 0}, {s_.wake_fd_, POLLIN, 0}};
      if (poll(p, 2, 200) <= 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        try {
          reader_.end();
        } catch (const control::ProtocolError& e) {
          s_.log(who_ + ": " + e.what());
        }
        finish(false);
        return;
      }
      std::vector<std::string> lines;
      if (!splitter_.push(buf, static_cast<size_t>(n), lines)) {
        for (auto& l : lines) on_line(l);  // what came before the oversized line still counts
        return refuse("message longer than the line limit");
      }
      for (auto& l : lines) {
        if (state_ == State::closed) break;
        on_line(l);
      }
    }
  }

 private:
  enum class State { hello, test, running, closed };

  void send(const std::string& text) {
    size_t off = 0;
    while (off < text.size()) {
      ssize_t w = ::send(fd_, text.data() + off, text.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;  // the client went away or stopped reading: nothing more to tell it
      off += static_cast<size_t>(w);
    }
  }

  // Sends what is left to say, ends our side and gives the client a moment to close its side
  // (server.ts: sock.end(), destroyed after a second).
  void close_gracefully() {
    shutdown(fd_, SHUT_WR);
    auto until = Clock::now() + std::chrono::seconds(1);
    char buf[4096];
    while (Clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) > 0 && recv(fd_, buf, sizeof(buf), 0) <= 0) break;
    }
  }

  void refuse(const std::string& reason) {
    if (state_ == State::closed) return;
    s_.log(who_ + ": closing control connection: " + reason);
    send(control::error_line(reason));
    state_ = State::closed;
    finish(false);
    close_gracefully();
  }

  // Ends the test's engine (once) and, when asked, sends the result and closes.
  void finish(bool reply) {
    state_ = State::closed;
    if (!engine_) return;
    engine_->stop();
    engine_->join();
    std::vector<control::SessionFigures> figures;
    if (engine_->failed()) s_.log(who_ + ": test engine failed: " + engine_->error_message());
    for (int i = 0; i < sessions_; i++) {
      SessionStats& st = engine_->stats(i);
      figures.push_back({static_cast<double>(st.ops.get()), static_cast<double>(st.datagrams.get()),
                         static_cast<double>(st.retransmits),
                         window_start_.empty() ? -1 : static_cast<double>(st.ops.get() - window_start_[i])});
    }
    control::CpuFigures cpu = cpu_->end();
    engine_.reset();
    {
      std::lock_guard<std::mutex> lock(s_.mu_);
      s_.active_tests_--;
    }
    s_.served_++;
    if (reply) {
      send(control::result_lines(cpu, figures));
      close_gracefully();
    }
    s_.log(who_ + ": test finished (" + std::to_string(sessions_) + " sessions)");
  }

  void start_test(const control::Test& t) {
    {
      std::lock_guard<std::mutex> lock(s_.mu_);
      if (s_.active_tests_ >= s_.opts_.max_tests) {
        int active = s_.active_tests_;
        return refuse("busy: " + std::to_string(active) + " tests are running (the limit is " +
                      std::to_string(s_.opts_.max_tests) + ")");
      }
      s_.active_tests_++;
    }
    // As openFilesShortfall: a test the open-file limit cannot hold is refused before it starts.
    uint64_t need = static_cast<uint64_t>(t.sessions) + kReservedFds;
    uint64_t in_use = open_files_in_use();
    if (in_use + need > s_.fds_.soft) {
      {
        std::lock_guard<std::mutex> lock(s_.mu_);
        s_.active_tests_--;
      }
      auto n = [](uint64_t x) { return json::number_text(static_cast<double>(x)); };
      return refuse("this server cannot hold the test: " + n(t.sessions) + " sessions need about " + n(need) +
                    " more open files, but RLIMIT_NOFILE allows " + n(s_.fds_.soft) + " (hard limit " +
                    n(s_.fds_.hard) + ") and " + n(in_use) +
                    " are open; raise it (ulimit -Hn, LimitNOFILE=) or run fewer sessions");
    }
    // Pinned, one thread per listed CPU at most (as the TypeScript server): two threads of one test
    // on one CPU only take turns.
    long cpus =
        s_.opts_.cpus.empty() ? sysconf(_SC_NPROCESSORS_ONLN) : static_cast<long>(s_.opts_.cpus.size());
    int threads = std::max(1, std::min({t.threads, t.sessions, static_cast<int>(cpus > 0 ? cpus : 1)}));
    if (s_.opts_.max_threads > 0) threads = std::min(threads, s_.opts_.max_threads);
    SessionConfig cfg;
    cfg.side = Side::server;
    parse_address(s_.opts_.bind, 0, cfg.addr, cfg.addr_len);
    cfg.peer = peer_;
    cfg.sessions = t.sessions;
    cfg.threads = threads;
    cfg.cpus = s_.opts_.cpus;
    cfg.request_size = t.request_size;
    cfg.response_size = t.response_size;
    cfg.message_size = t.message_size;
    cfg.sends = t.server_sends;
    cfg.cookie = random_cookie();
    try {
      const Workload* wl = find_workload(t.workload, Side::server);
      if (!wl) throw std::invalid_argument("unknown workload " + t.workload);
      engine_ = start_server_engine(cfg, *wl);
    } catch (const std::exception& e) {
      {
        std::lock_guard<std::mutex> lock(s_.mu_);
        s_.active_tests_--;
      }
      return refuse(std::string("cannot start the test: ") + e.what());
    }
    sessions_ = t.sessions;
    cpu_ = std::make_unique<CpuWindow>();
    overrun_deadline_ =
        Clock::now() + std::chrono::milliseconds(static_cast<long long>(t.duration_ms) + kOverrunGraceMs);
    state_ = State::running;
    s_.log(who_ + ": test " + t.workload + " with " + std::to_string(t.sessions) + " sessions on data port " +
           std::to_string(engine_->port()));
    send(control::ready_line(engine_->port(), cfg.cookie));
  }

  void on_line(const std::string& line) {
    if (state_ == State::closed) return;
    std::optional<control::ClientMessage> m;
    try {
      m = reader_.push(line);
    } catch (const control::ProtocolError& e) {
      return refuse(std::string("bad message: ") + e.what());
    }
    if (!m) return;  // a test's per-session list is still arriving
    if (state_ == State::hello) {
      if (m->type != "hello") return refuse("expected hello, got " + m->type);
      if (m->version != control::kVersion)
        return refuse("protocol version mismatch: server speaks " + std::to_string(control::kVersion) +
                      ", client " + std::to_string(m->version) +
                      "; use the same mqbench version on both ends");
      if (!s_.opts_.token.empty() && !tokens_match(s_.opts_.token, m->token))
        return refuse("wrong or missing token");
      state_ = State::test;
      return send(control::welcome_line(s_.opts_.limits, s_.opts_.cpus));
    }
    if (state_ == State::test) {
      if (m->type != "test") return refuse("expected test, got " + m->type);
      return start_test(m->test);
    }
    if (m->type == "measure" && window_start_.empty()) {
      // The client's window opens: count each session from here to its done (docs/protocol.md),
      // per session rather than by the engine's per-thread windows (a UDP server session's
      // datagrams land on whichever thread's socket the kernel picks).
      window_start_.resize(std::max(sessions_, 1));
      for (int i = 0; i < sessions_; i++) window_start_[i] = engine_->stats(i).ops.get();
      return;
    }
    if (m->type != "done") return refuse("expected done, got " + m->type);
    finish(true);
  }

  ControlServer& s_;
  int fd_;
  sockaddr_storage peer_{};
  std::string who_;
  State state_ = State::hello;
  control::ClientReader reader_;
  control::LineSplitter splitter_;
  std::shared_ptr<SessionEngine> engine_;
  std::unique_ptr<CpuWindow> cpu_;
  int sessions_ = 0;
  std::vector<uint64_t> window_start_;
  Clock::time_point overrun_deadline_;
};

ControlServer::ControlServer(ServerOptions opts) : opts_(std::move(opts)), fds_(raise_fd_limit()) {
  ListenResult l = listen_tcp("", opts_.bind, opts_.port, 128);
  listen_fd_ = l.fd;
  port_ = l.port;
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int err = errno;
    close(listen_fd_);
    throw SysError("eventfd", err);
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

ControlServer::~ControlServer() {
  stop();
  close(wake_fd_);
}

void ControlServer::log(const std::string& line) {
  std::string l = "mqbench-agent: server: " + line + "\n";
  ssize_t rc = write(2, l.data(), l.size());
  (void)rc;
}

void ControlServer::accept_loop() {
  while (!stopping_) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(p, 2, 500) <= 0 || !(p[0].revents & POLLIN)) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EMFILE, ECONNABORTED...: the next one may work
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (connections_ >= kMaxConnections) {
        close(fd);
        continue;
      }
      connections_++;
    }
    set_nodelay(fd);
    std::thread([this, fd, peer] {
      {
        Connection c(*this, fd, peer);
        try {
          c.run();
        } catch (const std::exception& e) {
          log(std::string("control connection failed: ") + e.what());
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      connections_--;
      cv_.notify_all();
    }).detach();
  }
}

void ControlServer::stop() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) log(std::string("eventfd write: ") + std::strerror(errno));
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return connections_ == 0; });
}

}  // namespace mqb::agent
