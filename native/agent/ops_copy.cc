// copy_recv_*: the receiving end of a checksummed bulk copy (native/copy.cc), for the migration
// case: the host sends a seeded payload over one TCP connection to the guest while the guest
// migrates, and both ends compare their FNV-1a sums. One receiver at a time.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <mutex>

#include "agent.h"
#include "copy.h"
#include "thread_env.h"

namespace mqb::agent {
namespace {

std::mutex mu;
std::shared_ptr<CopyEngine> copy;

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof(b), "%016" PRIx64, v);
  return b;
}

json::Value stats_json(const CopyEngine& e) {
  json::Value r = json::Value::object();
  r.set("connected", e.connected());
  r.set("bytes", e.bytes());
  r.set("expected", e.config().bytes);
  r.set("checksum", hex64(e.checksum()));
  r.set("done", e.end_ns() != 0);
  r.set("startNs", e.start_ns());
  r.set("endNs", e.end_ns());
  r.set("failed", e.failed());
  r.set("error", e.error_message());
  return r;
}

json::Value copy_recv_start(const json::Value& req) {
  CopyOptions o;
  o.address = arg_string(req, "bind", 64);
  o.port = static_cast<uint16_t>(arg_uint(req, "port", 0, 65535, 0));
  o.bytes = arg_uint(req, "bytes", 1, uint64_t{1} << 40);
  o.timeout_ms = arg_uint(req, "timeoutMs", 1, 3600000, 600000);
  std::lock_guard<std::mutex> lock(mu);
  if (copy) throw BadArgument("a copy receiver is running; copy_recv_stop it first");
  auto e = std::make_shared<CopyEngine>(std::move(o));
  e->start();
  copy = e;
  json::Value r = json::Value::object();
  r.set("port", e->port());
  return r;
}

json::Value copy_recv_stats(const json::Value&) {
  std::lock_guard<std::mutex> lock(mu);
  if (!copy) throw BadArgument("no copy receiver is running");
  return stats_json(*copy);
}

json::Value copy_recv_stop(const json::Value&) {
  std::shared_ptr<CopyEngine> e;
  {
    std::lock_guard<std::mutex> lock(mu);
    e = std::move(copy);
  }
  if (!e) throw BadArgument("no copy receiver is running");
  e->stop();
  e->join();
  return stats_json(*e);
}

void shutdown() {
  std::lock_guard<std::mutex> lock(mu);
  if (copy) {
    copy->stop();
    copy->join();
  }
}

}  // namespace

OpArea copy_ops() {
  return {{{"copy_recv_start", copy_recv_start},
           {"copy_recv_stats", copy_recv_stats},
           {"copy_recv_stop", copy_recv_stop}},
          shutdown};
}

}  // namespace mqb::agent
