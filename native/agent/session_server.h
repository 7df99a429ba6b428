// The session server in C++ (netserver's role inside a guest): the same control protocol and the
// same rules as `mqbench server` (src/sessions/server.ts), so `mqbench rr`/`stream` run against a
// guest unchanged. One thread accepts control connections, one thread serves each (blocking I/O
// with poll and deadlines), and each test gets its own native SessionEngine for the data.
// Like the TypeScript server it only accepts: it never connects out, and a test's data sockets
// take traffic only from the address of that test's control connection.
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control.h"
#include "session_limits.h"

namespace mqb::agent {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 12866;
  std::string token;  // empty: none (loopback only)
  control::Limits limits;
  int max_tests = 16;
  int max_threads = 0;    // > 0: at most this many engine threads per test
  std::vector<int> cpus;  // engine threads pinned round-robin; empty: unpinned
};

bool is_loopback(const std::string& ip);

class ControlServer {
 public:
  // Listens at once (throws SysError: EADDRINUSE and the like) and starts accepting.
  explicit ControlServer(ServerOptions opts);
  ~ControlServer();
  int port() const { return port_; }
  const ServerOptions& options() const { return opts_; }
  uint64_t tests_served() const { return served_.load(); }
  // Closes the listener, ends every control connection and its test, and waits for them.
  void stop();

 private:
  friend class Connection;
  void accept_loop();
  void log(const std::string& line);

  ServerOptions opts_;
  FdLimit fds_;  // RLIMIT_NOFILE after raising the soft limit to the hard one
  int listen_fd_ = -1, wake_fd_ = -1, port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int connections_ = 0, active_tests_ = 0;
  std::atomic<uint64_t> served_{0};
};

}  // namespace mqb::agent
