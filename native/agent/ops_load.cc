// gen_* and rx_*: the packet generator's per-queue senders and the per-queue receiver inside the
// guest, the same engines (native/gen.cc, native/rx_counter.cc) the host runs. The arguments are
// the host's native gen options (src/native.ts NativeGenOptions) without the tap and namespace
// fields, so the host's plan goes over as it is. One generator and one receiver at a time.
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "agent.h"
#include "gen.h"
#include "gen_config.h"
#include "mqb_limits.h"
#include "rx_counter.h"

namespace mqb::agent {
namespace {

std::mutex mu;
std::shared_ptr<GenEngine> gen;
std::shared_ptr<RxEngine> rx;

// The agent's reader of gen_start's options (native/gen_config.h): JSON values, with the agent's
// argument readers' messages.
class JsonOptions : public OptionReader {
 public:
  explicit JsonOptions(const json::Value& v) : v_(v) {}
  bool present(const char* key) const override { return arg(v_, key) != nullptr; }
  bool boolean(const char* key, bool def) const override { return arg_bool(v_, key, def); }
  std::string text(const char* key, size_t max_len, std::optional<std::string> def) const override {
    return arg_string(v_, key, max_len, def);
  }
  uint64_t integer(const char* key, uint64_t min, uint64_t max, std::optional<uint64_t> def) const override {
    return arg_uint(v_, key, min, max, def);
  }
  double number(const char* key, double min, double max, double def) const override {
    const json::Value* v = arg(v_, key);
    if (!v) return def;
    if (!v->is_number() || !(v->number() >= min) || v->number() > max)
      throw BadArgument(std::string(key) + " must be a number in " + json::number_text(min) + ".." +
                        json::number_text(max));
    return v->number();
  }
  void bytes(const char* key, uint8_t* out, size_t n) const override {
    const json::Value* v = arg(v_, key);
    std::string what = std::string(key) + " must be a list of " + std::to_string(n) + " bytes";
    if (!v || !v->is_array() || v->items().size() != n) throw BadArgument(what);
    for (size_t i = 0; i < n; i++) {
      const json::Value& b = v->items()[i];
      if (!b.is_integer() || b.number() < 0 || b.number() > 255) throw BadArgument(what);
      out[i] = static_cast<uint8_t>(b.number());
    }
  }
  std::vector<std::unique_ptr<OptionReader>> objects(const char* key, size_t max_items) const override {
    const json::Value* v = arg(v_, key);
    std::string what = std::string(key) + " must be a list of 1 to " + std::to_string(max_items) + " objects";
    if (!v || !v->is_array() || v->items().empty() || v->items().size() > max_items) throw BadArgument(what);
    std::vector<std::unique_ptr<OptionReader>> out;
    for (const json::Value& x : v->items()) {
      if (!x.is_object()) throw BadArgument(what);
      out.push_back(std::make_unique<JsonOptions>(x));
    }
    return out;
  }

 private:
  const json::Value& v_;
};

// Traffic only to the benchmarking ranges mqbench uses (198.18.0.0/15, fd00::/8 ULA): the guest
// sends on the link mqbench made, and the agent refuses to aim a flood anywhere else.
void check_destination(const FrameSpec& s) {
  bool ok = s.ipv6 ? s.dst_ip[0] == 0xfd : (s.dst_ip[0] == 198 && (s.dst_ip[1] & 0xFE) == 18);
  if (!ok)
    throw BadArgument(s.ipv6 ? "dstIp must be in fd00::/8 (mqbench's own addresses)"
                             : "dstIp must be in 198.18.0.0/15 (mqbench's own addresses)");
}

json::Value gen_stats_json(const GenEngine& e) {
  json::Value qs = json::Value::array();
  for (size_t q = 0; q < e.config().queues.size(); q++) {
    const GenQueueStats& s = e.stats(q);
    json::Value r = json::Value::object();
    r.set("queue", q);
    r.set("cpu", e.config().queues[q].cpu);
    r.set("packets", s.packets.get());
    r.set("bytes", s.bytes.get());
    r.set("refused", s.refused.get());
    r.set("startNs", s.start_ns.get());
    r.set("endNs", s.end_ns.get());
    qs.push(std::move(r));
  }
  json::Value r = json::Value::object();
  r.set("queues", std::move(qs));
  r.set("failed", e.failed());
  r.set("error", e.error_message());
  return r;
}

json::Value rx_stats_json(const RxEngine& e) {
  json::Value ts = json::Value::array();
  for (size_t j = 0; j < e.threads(); j++) {
    const RxThreadStats& s = e.stats(j);
    json::Value qs = json::Value::array();
    for (unsigned q = 0; q < e.config().queues; q++) {
      const RxQueueStats& c = s.by_queue[q];
      json::Value r = json::Value::object();
      r.set("packets", c.packets.get());
      r.set("bytes", c.bytes.get());
      r.set("lost", c.lost.get());
      r.set("reordered", c.reordered.get());
      r.set("duplicates", c.duplicates.get());
      qs.push(std::move(r));
    }
    json::Value t = json::Value::object();
    t.set("foreign", s.foreign.get());
    t.set("socketDrops", s.socket_drops.get());
    t.set("queues", std::move(qs));
    ts.push(std::move(t));
  }
  json::Value r = json::Value::object();
  r.set("ready", e.ready());
  r.set("threads", std::move(ts));
  r.set("failed", e.failed());
  r.set("error", e.error_message());
  return r;
}

json::Value gen_start(const json::Value& req) {
  GenConfig c = read_gen_config(JsonOptions(req), GenSide::guest);
  check_destination(c.spec);
  std::lock_guard<std::mutex> lock(mu);
  // gen_stop collects a generator's final figures, also after it ended by itself.
  if (gen) throw BadArgument("a generator has been started; gen_stop it first");
  auto e = std::make_shared<GenEngine>(std::move(c));
  e->start();
  gen = e;
  json::Value r = json::Value::object();
  r.set("queues", e->config().queues.size());
  return r;
}

json::Value gen_stats(const json::Value&) {
  std::lock_guard<std::mutex> lock(mu);
  if (!gen) throw BadArgument("no generator is running");
  return gen_stats_json(*gen);
}

// Stops the generator (or lets it end by itself with {"wait":true}), joins its threads and
// gives its final figures.
json::Value gen_stop(const json::Value& req) {
  bool wait = arg_bool(req, "wait", false);
  std::shared_ptr<GenEngine> e;
  {
    std::lock_guard<std::mutex> lock(mu);
    e = std::move(gen);
  }
  if (!e) throw BadArgument("no generator is running");
  if (!wait) e->stop();
  e->join();
  return gen_stats_json(*e);
}

json::Value rx_start(const json::Value& req) {
  RxConfig c;
  c.dev = arg_string(req, "dev", 15);
  c.sockets = static_cast<int>(arg_uint(req, "sockets", 1, limits::kMaxQueues, 1));
  c.queues = static_cast<unsigned>(arg_uint(req, "queues", 1, limits::kMaxQueues, 1));
  c.flows_per_queue = static_cast<unsigned>(arg_uint(req, "flowsPerQueue", 1, limits::kMaxFlowsPerQueue, 1));
  c.cpus = arg_ints(req, "cpus", limits::kMaxQueues, 0, limits::kMaxCpu);
  std::shared_ptr<RxEngine> e;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (rx) throw BadArgument("a receiver is running; rx_stop it first");
    e = std::make_shared<RxEngine>(std::move(c));
    e->start();
    rx = e;
  }
  // Answer once every socket is bound, so frames the host sends next are counted.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!e->ready() && !e->failed() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // A failed thread marks the engine ready too (so no sibling waits for it): check failure first.
  if (e->failed() || !e->ready()) {
    e->stop();
    e->join();
    {
      std::lock_guard<std::mutex> lock(mu);
      rx.reset();
    }
    throw std::runtime_error(e->failed() ? e->error_message()
                                         : "the receiver's sockets were not ready within 5 s");
  }
  json::Value r = json::Value::object();
  r.set("threads", e->threads());
  return r;
}

json::Value rx_stats(const json::Value&) {
  std::lock_guard<std::mutex> lock(mu);
  if (!rx) throw BadArgument("no receiver is running");
  return rx_stats_json(*rx);
}

json::Value rx_stop(const json::Value&) {
  std::shared_ptr<RxEngine> e;
  {
    std::lock_guard<std::mutex> lock(mu);
    e = std::move(rx);
  }
  if (!e) throw BadArgument("no receiver is running");
  e->stop();
  e->join();
  return rx_stats_json(*e);
}

void shutdown() {
  std::lock_guard<std::mutex> lock(mu);
  for (Engine* e : {static_cast<Engine*>(gen.get()), static_cast<Engine*>(rx.get())})
    if (e) {
      e->stop();
      e->join();
    }
}

}  // namespace

OpArea load_ops() {
  return {{{"gen_start", gen_start},
           {"gen_stats", gen_stats},
           {"gen_stop", gen_stop},
           {"rx_start", rx_start},
           {"rx_stats", rx_stats},
           {"rx_stop", rx_stop}},
          shutdown};
}

}  // namespace mqb::agent
