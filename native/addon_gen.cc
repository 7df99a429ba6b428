// N-API surface of the generator and the receiver: options in, a handle (EngineWrap) out whose
// stats() reads the per-thread counters without locks while the threads run, stop() asks them to
// end, and wait() settles when they have (rejecting with `.errno` when a thread failed).
#include <cstring>
#include <memory>
#include <cstdio>
#include <stdexcept>

#include "addon_util.h"
#include "frames.h"
#include "gen.h"
#include "gen_config.h"
#include "pcap.h"
#include "rx_counter.h"
#include "tx_packet.h"
#include "tx_xdp.h"

namespace mqb {
namespace {

// As `std::ostringstream() << v` writes it (%g), without ostringstream's default constructor: that
// symbol is GLIBCXX_3.4.26 and would raise the prebuilt addon's libstdc++ floor
// (native/prebuilds.json) from 3.4.22.
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The addon's reader of the generator's options (native/gen_config.h): an N-API object.
class NapiOptions : public OptionReader {
 public:
  explicit NapiOptions(Napi::Object o) : o_(o) {}
  bool present(const char* key) const override { return !get(key).IsEmpty(); }
  bool boolean(const char* key, bool def) const override { return opt_bool(o_, key, def); }
  std::string text(const char* key, size_t max_len, std::optional<std::string> def) const override {
    if (!def && !present(key)) throw std::invalid_argument(std::string("option ") + key + " is missing");
    std::string s = opt_string(o_, key, def.value_or(""));
    if (s.size() > max_len)
      throw std::invalid_argument(std::string("option ") + key + " is longer than " +
                                  std::to_string(max_len) + " bytes");
    return s;
  }
  uint64_t integer(const char* key, uint64_t min, uint64_t max, std::optional<uint64_t> def) const override {
    if (!present(key)) {
      if (def) return *def;
      throw std::invalid_argument(std::string("option ") + key + " is missing");
    }
    double v = opt_number(o_, key, 0);
    if (v != static_cast<double>(static_cast<int64_t>(v)))
      throw std::invalid_argument(std::string("option ") + key + " must be an integer");
    if (v < static_cast<double>(min) || v > static_cast<double>(max))
      throw std::invalid_argument(std::string("option ") + key + " " + number_text(v) + " is out of range " +
                                  std::to_string(min) + ".." + std::to_string(max));
    return static_cast<uint64_t>(v);
  }
  double number(const char* key, double min, double max, double def) const override {
    double v = opt_number(o_, key, def);
    if (!(v >= min) || v > max)
      throw std::invalid_argument(std::string("option ") + key + " " + number_text(v) + " is out of range " +
                                  number_text(min) + ".." + number_text(max));
    return v;
  }
  void bytes(const char* key, uint8_t* out, size_t n) const override {
    Napi::Value v = get(key);
    if (!v.IsArray() || v.As<Napi::Array>().Length() != n)
      throw std::invalid_argument(std::string("option ") + key + " must be an array of " + std::to_string(n) +
                                  " bytes");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < n; i++) out[i] = static_cast<uint8_t>(a.Get(i).As<Napi::Number>().Uint32Value());
  }
  std::vector<std::unique_ptr<OptionReader>> objects(const char* key, size_t max_items) const override {
    Napi::Value v = get(key);
    std::string what =
        std::string("option ") + key + " must be an array of 1 to " + std::to_string(max_items) + " objects";
    if (!v.IsArray()) throw std::invalid_argument(what);
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() < 1 || a.Length() > max_items) throw std::invalid_argument(what);
    std::vector<std::unique_ptr<OptionReader>> out;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value x = a.Get(i);
      if (!x.IsObject()) throw std::invalid_argument(what);
      out.push_back(std::make_unique<NapiOptions>(x.As<Napi::Object>()));
    }
    return out;
  }

 private:
  Napi::Value get(const char* key) const {
    Napi::Value v = o_.Get(key);
    return v.IsUndefined() || v.IsNull() ? Napi::Value() : v;
  }
  Napi::Object o_;
};

GenConfig gen_config(const Napi::Object& o) {
  return read_gen_config(NapiOptions(o), GenSide::host);
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
    XdpOptions x{read_xdp_mode(NapiOptions(o)), static_cast<unsigned>(opt_number(o, "burst", 32)),
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
    GenConfig c;
    read_frame_spec(NapiOptions(o), c.spec);
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
