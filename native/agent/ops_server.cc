// server_start / server_stop: the C++ session server (session_server.h) inside the guest, which
// `mqbench rr`/`stream` on the host talk to as they talk to `mqbench server`.
#include <memory>
#include <mutex>

#include "agent.h"
#include "session_server.h"

namespace mqb::agent {
namespace {

std::mutex mu;
std::unique_ptr<ControlServer> running;

json::Value server_start(const json::Value& req) {
  ServerOptions o;
  o.bind = arg_string(req, "bind", 64, std::string("127.0.0.1"));
  o.port = static_cast<int>(arg_uint(req, "port", 0, 65535, 12866));
  o.token = arg_string(req, "token", 1024, std::string());
  o.max_threads = static_cast<int>(arg_uint(req, "threads", 1, control::kMaxThreads, 0));
  o.cpus = arg_ints(req, "cpus", 1024, 0, 65535);
  o.limits.max_sessions = static_cast<int>(arg_uint(req, "maxSessions", 1, control::kMaxSessions, 1000));
  o.limits.max_duration_ms =
      static_cast<double>(arg_uint(req, "maxDurationMs", 1, 1000000000000ull, 3600000));
  o.max_tests = static_cast<int>(arg_uint(req, "maxTests", 1, 1024, 16));
  if (!is_loopback(o.bind) && o.token.empty())
    throw BadArgument("listening on " + o.bind + " needs a token that clients must present");
  std::lock_guard<std::mutex> lock(mu);
  if (running)
    throw BadArgument("a session server is already running on port " + std::to_string(running->port()) +
                      "; stop it first");
  running = std::make_unique<ControlServer>(o);
  json::Value r = json::Value::object();
  r.set("address", o.bind);
  r.set("port", running->port());
  return r;
}

// Idempotent, so the host's cleanup can always call it.
json::Value server_stop(const json::Value&) {
  std::unique_ptr<ControlServer> s;
  {
    std::lock_guard<std::mutex> lock(mu);
    s = std::move(running);
  }
  json::Value r = json::Value::object();
  r.set("stopped", s != nullptr);
  r.set("tests", s ? s->tests_served() : 0);
  if (s) s->stop();
  if (s) r.set("tests", s->tests_served());
  return r;
}

void shutdown() {
  std::lock_guard<std::mutex> lock(mu);
  if (running) running->stop();
  running.reset();
}

}  // namespace

OpArea server_ops() {
  return {{{"server_start", server_start}, {"server_stop", server_stop}}, shutdown};
}

}  // namespace mqb::agent
