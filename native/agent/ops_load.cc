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
#include "rx_counter.h"

namespace mqb::agent {
namespace {

constexpr uint64_t kMaxDurationMs = 3600000;

std::mutex mu;
std::shared_ptr<GenEngine> gen;
std::shared_ptr<RxEngine> rx;

void bytes(const json::Value& req, const char* key, uint8_t* out, size_t n) {
  const json::Value* v = arg(req, key);
  std::string what = std::string(key) + " must be a list of " + std::to_string(n) + " bytes";
  if (!v || !v->is_array() || v->items().size() != n) throw BadArgument(what);
  for (size_t i = 0; i < n; i++) {
    const json::Value& b = v->items()[i];
    if (!b.is_integer() || b.number() < 0 || b.number() > 255) throw BadArgument(what);
    out[i] = static_cast<uint8_t>(b.number());
  }
}

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
  GenConfig c;
  c.dev = arg_string(req, "dev", 15);
  c.qdisc_bypass = arg_bool(req, "qdiscBypass", true);
  c.tx_ring = arg_bool(req, "txRing", false);
  c.spec.ipv6 = arg_bool(req, "ipv6", false);
  bytes(req, "srcMac", c.spec.src_mac, 6);
  bytes(req, "dstMac", c.spec.dst_mac, 6);
  bytes(req, "srcIp", c.spec.src_ip, c.spec.ipv6 ? 16 : 4);
  bytes(req, "dstIp", c.spec.dst_ip, c.spec.ipv6 ? 16 : 4);
  check_destination(c.spec);
  c.spec.dst_port = static_cast<uint16_t>(arg_uint(req, "dstPort", 1, 65535, 9));
  c.spec.frame_size = static_cast<uint32_t>(arg_uint(req, "frameSize", 1, kMaxFrame, 60));
  c.flows_per_queue = static_cast<unsigned>(arg_uint(req, "flowsPerQueue", 1, 65535, 1));
  c.burst = static_cast<unsigned>(arg_uint(req, "burst", 1, 1024, 32));
  c.duration_ns = arg_uint(req, "durationMs", 1, kMaxDurationMs) * 1000000;
  const json::Value* qv = arg(req, "queues");
  if (!qv || !qv->is_array() || qv->items().empty() || qv->items().size() > 256)
    throw BadArgument("queues must be a list of 1 to 256 queue objects");
  for (const json::Value& q : qv->items()) {
    if (!q.is_object()) throw BadArgument("queues must be a list of 1 to 256 queue objects");
    GenQueueConfig qc;
    const json::Value* cpu = arg(q, "cpu");
    qc.cpu = cpu && !(cpu->is_number() && cpu->number() == -1)
                 ? static_cast<int>(arg_uint(q, "cpu", 0, 65535))
                 : -1;
    const json::Value* rate = arg(q, "ratePps");
    if (rate && (!rate->is_number() || !(rate->number() >= 0) || rate->number() > 1e9))
      throw BadArgument("ratePps must be a number in 0..1e9 (0: as fast as the device takes them)");
    qc.rate_pps = rate ? rate->number() : 0;
    qc.count = arg_uint(q, "count", 0, 1ull << 53, 0);
    qc.src_port = static_cast<uint16_t>(arg_uint(q, "srcPort", 1, 65535, 9));
    c.queues.push_back(qc);
  }
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
  c.sockets = static_cast<int>(arg_uint(req, "sockets", 1, 256, 1));
  c.queues = static_cast<unsigned>(arg_uint(req, "queues", 1, 256, 1));
  c.flows_per_queue = static_cast<unsigned>(arg_uint(req, "flowsPerQueue", 1, 65535, 1));
  c.cpus = arg_ints(req, "cpus", 256, 0, 65535);
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
