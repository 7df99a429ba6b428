// What the server and client need beyond the session loops: the control protocol's listening
// socket inside a network namespace (made through in_netns, thread_env.h), the server engine's
// start-up, and a bounded-time connect for the control connection.
#pragma once
#include <memory>
#include <string>

#include "engine.h"
#include "session_engine.h"
#include "sys.h"

namespace mqb {

struct ListenResult {
  int fd;
  int port;
};
// A listening TCP socket (blocking, close-on-exec) for the control protocol.
ListenResult listen_tcp(const std::string& netns, const std::string& host, int port, int backlog);

// Creates the server engine's data sockets in its namespace and starts its workers.
std::shared_ptr<SessionEngine> start_server_engine(SessionConfig cfg, const Workload& workload);

// Connects to host:port from inside netns on its own thread, giving up after timeout_ms.
// After join(): fd() is the connected socket (blocking mode, owned by the caller).
class ConnectJob : public Engine {
 public:
  ConnectJob(std::string netns, std::string host, int port, int timeout_ms)
      : netns_(std::move(netns)), host_(std::move(host)), port_(port), timeout_ms_(timeout_ms) {}
  ~ConnectJob() override;
  int take_fd() { return fd_.release(); }

 protected:
  void launch(std::vector<std::thread>& threads) override;

 private:
  std::string netns_, host_;
  int port_, timeout_ms_;
  FdGuard fd_;
};

}  // namespace mqb
