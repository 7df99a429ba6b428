// What the server and client need beyond the session loops: sockets created inside a network
// namespace from a thread that lives elsewhere (node's main thread), the server engine's
// start-up, and a bounded-time connect for the control connection.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "engine.h"
#include "session_engine.h"

namespace mqb {

// Runs fn on the calling thread inside /run/netns/<netns> and returns the thread to its own
// namespace afterwards (also on an exception). A socket keeps the namespace it was created in,
// so sockets made inside fn serve that namespace for their whole life. Empty netns: just fn().
void with_netns(const std::string& netns, const std::function<void()>& fn);

struct ListenResult {
  int fd;
  int port;
};
// A listening TCP socket (blocking, close-on-exec) for the control protocol.
ListenResult listen_tcp(const std::string& netns, const std::string& host, int port, int backlog);

// Creates the server engine's data sockets in its namespace and starts its workers.
std::shared_ptr<SessionEngine> start_server_engine(SessionConfig cfg);

// Connects to host:port from inside netns on its own thread, giving up after timeout_ms.
// After join(): fd() is the connected socket (blocking mode, owned by the caller).
class ConnectJob : public Engine {
 public:
  ConnectJob(std::string netns, std::string host, int port, int timeout_ms)
      : netns_(std::move(netns)), host_(std::move(host)), port_(port), timeout_ms_(timeout_ms) {}
  ~ConnectJob() override;
  int take_fd() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 protected:
  void launch(std::vector<std::thread>& threads) override;

 private:
  std::string netns_, host_;
  int port_, timeout_ms_;
  int fd_ = -1;
};

}  // namespace mqb
