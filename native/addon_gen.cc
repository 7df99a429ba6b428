// N-API surface of the generator and the receiver: options in, a handle (EngineWrap) out whose
// stats() reads the per-thread counters without locks while the threads run, stop() asks them to
// end, and wait() settles when they have (rejecting with `.errno` when a thread failed).
#include <cstring>
#include <memory>

#include "addon_util.h"
#include "frames.h"
#include "gen.h"
#include "pcap.h"
#include "rx_counter.h"
#include "tx_packet.h"
#include "tx_xdp.h"

namespace mqb {
namespace {

void read_bytes(const Napi::Object& o, const char* key, uint8_t* out, size_t n) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray() || v.As<Napi::Array>().Length() != n)
    throw Napi::TypeError::New(
        o.Env(), std::string("option ") + key + " must be an array of " + std::to_string(n) + " bytes");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < n; i++) out[i] = static_cast<uint8_t>(a.Get(i).As<Napi::Number>().Uint32Value());
}

XdpMode xdp_mode(const Napi::Object& o) {
  const std::string m = opt_string(o, "xdpMode", "auto");
  if (m == "auto") return XdpMode::automatic;
  if (m == "zerocopy") return XdpMode::zerocopy;
  if (m == "copy") return XdpMode::copy;
  throw Napi::TypeError::New(o.Env(), "option xdpMode must be auto, zerocopy or copy");
}

GenConfig gen_config(const Napi::Object& o) {
  GenConfig c;
  c.tap = opt_bool(o, "tap", false);
  c.xdp = opt_bool(o, "xdp", false);
  c.xdp_mode = xdp_mode(o);
  c.dev = opt_string(o, "dev", "");
  c.netns = opt_string(o, "netns", "");
  c.qdisc_bypass = opt_bool(o, "qdiscBypass", true);
  c.tx_ring = opt_bool(o, "txRing", false);
  c.spec.ipv6 = opt_bool(o, "ipv6", false);
  read_bytes(o, "srcMac", c.spec.src_mac, 6);
  read_bytes(o, "dstMac", c.spec.dst_mac, 6);
  read_bytes(o, "srcIp", c.spec.src_ip, c.spec.ipv6 ? 16 : 4);
  read_bytes(o, "dstIp", c.spec.dst_ip, c.spec.ipv6 ? 16 : 4);
  c.spec.dst_port = static_cast<uint16_t>(opt_number(o, "dstPort", 9));
  c.spec.frame_size = static_cast<uint32_t>(opt_number(o, "frameSize", 60));
  c.flows_per_queue = static_cast<unsigned>(opt_number(o, "flowsPerQueue", 1));
  c.burst = static_cast<unsigned>(opt_number(o, "burst", 32));
  c.duration_ns = static_cast<uint64_t>(opt_number(o, "durationMs", 0) * 1e6);
  c.capture_per_queue = static_cast<unsigned>(opt_number(o, "capturePerQueue", 0));
  Napi::Value qv = o.Get("queues");
  if (!qv.IsArray()) throw Napi::TypeError::New(o.Env(), "option queues must be an array");
  Napi::Array qa = qv.As<Napi::Array>();
  for (uint32_t i = 0; i < qa.Length(); i++) {
    Napi::Object q = qa.Get(i).As<Napi::Object>();
    GenQueueConfig qc;
    qc.cpu = static_cast<int>(opt_number(q, "cpu", -1));
    qc.rate_pps = opt_number(q, "ratePps", 0);
    qc.count = static_cast<uint64_t>(opt_number(q, "count", 0));
    qc.src_port = static_cast<uint16_t>(opt_number(q, "srcPort", 9));
    qc.tap_fd = static_cast<int>(opt_number(q, "tapFd", -1));
    c.queues.push_back(qc);
  }
  return c;
}

Napi::Value gen_stats(Napi::Env env, const GenEngine& e) {
  Napi::Array qs = Napi::Array::New(env, e.config().queues.size());
  for (size_t q = 0; q < e.config().queues.size(); q++) {
    const GenQueueStats& s = e.stats(q);
    Napi::Object r = Napi::Object::New(env);
    r.Set("queue", static_cast<double>(q));
    r.Set("packets", static_cast<double>(s.packets.get()));
    r.Set("bytes", static_cast<double>(s.bytes.get()));
    r.Set("refused", static_cast<double>(s.refused.get()));
    r.Set("startNs", static_cast<double>(s.start_ns.get()));
    r.Set("endNs", static_cast<double>(s.end_ns.get()));
    if (const uint64_t m = s.xdp_mode.get()) r.Set("xdpMode", m == 2 ? "zerocopy" : "copy");
    qs.Set(static_cast<uint32_t>(q), r);
  }
  return qs;
}

Napi::Value rx_stats(Napi::Env env, const RxEngine& e) {
  Napi::Array ts = Napi::Array::New(env, e.threads());
  for (size_t j = 0; j < e.threads(); j++) {
    const RxThreadStats& s = e.stats(j);
    Napi::Object t = Napi::Object::New(env);
    t.Set("foreign", static_cast<double>(s.foreign.get()));
    t.Set("socketDrops", static_cast<double>(s.socket_drops.get()));
    Napi::Array qs = Napi::Array::New(env, e.config().queues);
    for (uint32_t q = 0; q < e.config().queues; q++) {
      const RxQueueStats& c = s.by_queue[q];
      Napi::Object r = Napi::Object::New(env);
      r.Set("packets", static_cast<double>(c.packets.get()));
      r.Set("bytes", static_cast<double>(c.bytes.get()));
      r.Set("lost", static_cast<double>(c.lost.get()));
      r.Set("reordered", static_cast<double>(c.reordered.get()));
      r.Set("duplicates", static_cast<double>(c.duplicates.get()));
      qs.Set(q, r);
    }
    t.Set("queues", qs);
    ts.Set(static_cast<uint32_t>(j), t);
  }
  return ts;
}

// The generator's handle: stats() reads the per-queue counters while the threads run, stop()
// asks them to end, wait() settles when they have, pcap() returns the captured frames as a pcap file after.
class GenHandle : public EngineWrap<GenHandle, GenEngine> {
 public:
  static constexpr const char* kName = "GenHandle";
  using EngineWrap::EngineWrap;
  static void Define(Napi::Env env) {
    define(env, {InstanceMethod<&GenHandle::Stats>("stats"), InstanceMethod<&GenHandle::Stop>("stop"),
                 InstanceMethod<&GenHandle::Wait>("wait"), InstanceMethod<&GenHandle::Pcap>("pcap")});
  }
  Napi::Value Stats(const Napi::CallbackInfo& info) { return gen_stats(info.Env(), *engine_); }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    engine_->stop();
    return info.Env().Undefined();
  }
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    auto e = engine_;
    return join_promise(info.Env(), [e](Napi::Env env) { return gen_stats(env, *e); });
  }
  Napi::Value Pcap(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      if (!engine_->finished())
        throw Napi::Error::New(info.Env(), "pcap() needs the generator to have ended (await wait() first)");
      std::string bytes = pcap_bytes(engine_->captured());
      return Napi::Buffer<uint8_t>::Copy(info.Env(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size());
    });
  }
};

// The receiver's handle: stats(), stop() and wait() as the generator's, ready() once every
// receive socket is open, error() with a receive thread's failure while it runs.
class RxHandle : public EngineWrap<RxHandle, RxEngine> {
 public:
  static constexpr const char* kName = "RxHandle";
  using EngineWrap::EngineWrap;
  static void Define(Napi::Env env) {
    define(env, {InstanceMethod<&RxHandle::Stats>("stats"), InstanceMethod<&RxHandle::Stop>("stop"),
                 InstanceMethod<&RxHandle::Wait>("wait"), InstanceMethod<&RxHandle::Ready>("ready"),
                 InstanceMethod<&RxHandle::Error>("error")});
  }
  Napi::Value Stats(const Napi::CallbackInfo& info) { return rx_stats(info.Env(), *engine_); }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    engine_->stop();
    return info.Env().Undefined();
  }
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    auto e = engine_;
    return join_promise(info.Env(), [e](Napi::Env env) { return rx_stats(env, *e); });
  }
  Napi::Value Ready(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), engine_->ready());
  }
  Napi::Value Error(const Napi::CallbackInfo& info) {
    if (!engine_->failed()) return info.Env().Null();
    return make_js_error(info.Env(), engine_->error_message(), engine_->error_errno()).Value();
  }
};

Napi::Value StartGen(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto e = std::make_shared<GenEngine>(gen_config(info[0].As<Napi::Object>()));
    e->start();
    return GenHandle::wrap(info.Env(), e);
  });
}

Napi::Value StartRx(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    RxConfig c;
    c.dev = opt_string(o, "dev", "");
    c.netns = opt_string(o, "netns", "");
    c.sockets = static_cast<int>(opt_number(o, "sockets", 1));
    c.tap_fds = opt_int_array(o, "tapFds");
    c.queues = static_cast<unsigned>(opt_number(o, "queues", 1));
    c.flows_per_queue = static_cast<unsigned>(opt_number(o, "flowsPerQueue", 1));
    c.cpus = opt_int_array(o, "cpus");
    auto e = std::make_shared<RxEngine>(std::move(c));
    e->start();
    return RxHandle::wrap(info.Env(), e);
  });
}

Napi::Value ProbePacket(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    probe_packet_tx(info[0].As<Napi::String>().Utf8Value(),
                    info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "");
    return info.Env().Undefined();
  });
}

// probeXdp({dev, netns, xdpMode, burst, frameSize}): 'zerocopy' or 'copy', as queue 0 would run.
Napi::Value ProbeXdp(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    XdpOptions x{xdp_mode(o), static_cast<unsigned>(opt_number(o, "burst", 32)),
                 static_cast<unsigned>(opt_number(o, "frameSize", 60))};
    const bool zc = probe_xdp_tx(opt_string(o, "dev", ""), opt_string(o, "netns", ""), x);
    return Napi::String::New(info.Env(), zc ? "zerocopy" : "copy");
  });
}

// One stamped frame as the senders send it, for tests, pcap files and inspection.
Napi::Value BuildFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    GenConfig c = gen_config(o);
    c.spec.src_port = static_cast<uint16_t>(opt_number(o, "srcPort", 9));
    FrameTemplate t;
    build_template(t, c.spec, static_cast<uint8_t>(opt_number(o, "queue", 0)),
                   static_cast<uint16_t>(opt_number(o, "flow", 0)));
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, t.len);
    std::memcpy(out.Data(), t.bytes, t.hdr_len);
    std::memcpy(out.Data() + t.hdr_len, zero_tail(), t.len - t.hdr_len);
    bool lossless = false;
    uint64_t time_ns = o.Has("timeNs") ? o.Get("timeNs").As<Napi::BigInt>().Uint64Value(&lossless) : 0;
    stamp_frame(out.Data(), t, static_cast<uint32_t>(opt_number(o, "seq", 0)), time_ns);
    return out;
  });
}

Napi::Value ParseFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> b = info[0].As<Napi::Buffer<uint8_t>>();
  PayloadHeader h;
  if (!parse_frame(b.Data(), b.Length(), h)) return env.Null();
  Napi::Object r = Napi::Object::New(env);
  r.Set("queue", h.queue);
  r.Set("flow", h.flow);
  r.Set("seq", static_cast<double>(h.seq));
  r.Set("timeNs", Napi::BigInt::New(env, h.time_ns));
  return r;
}

void Register(Napi::Env env, Napi::Object exports) {
  GenHandle::Define(env);
  RxHandle::Define(env);
  exports.Set("buildFrame", Napi::Function::New(env, BuildFrame));
  exports.Set("parseFrame", Napi::Function::New(env, ParseFrame));
  exports.Set("startGen", Napi::Function::New(env, StartGen));
  exports.Set("startRx", Napi::Function::New(env, StartRx));
  exports.Set("probePacket", Napi::Function::New(env, ProbePacket));
  exports.Set("probeXdp", Napi::Function::New(env, ProbeXdp));
}

AddonArea area("gen", Register);

}  // namespace
}  // namespace mqb
