// N-API surface of the tap relay. The relay lives as long as its testbed, so it is not awaited
// with join_async (that would hold a libuv pool thread for the whole run): JavaScript polls its
// handle's status() for counters and a worker's failure, and stop() stops and joins at once
// (within one poll interval), which also works from a synchronous cleanup at process exit.
#include "addon_util.h"
#include "relay.h"

namespace mqb {
namespace {

Napi::Object direction(Napi::Env env, const RelayDirection& d) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("frames", static_cast<double>(d.frames.get()));
  r.Set("bytes", static_cast<double>(d.bytes.get()));
  r.Set("drops", static_cast<double>(d.drops.get()));
  return r;
}

// The relay's handle: status() with counters and a worker's failure, stop() stops and joins.
class RelayHandle : public EngineWrap<RelayHandle, Relay> {
 public:
  static constexpr const char* kName = "RelayHandle";
  using EngineWrap::EngineWrap;
  static void Define(Napi::Env env) {
    define(env, {InstanceMethod<&RelayHandle::Status>("status"), InstanceMethod<&RelayHandle::Stop>("stop")});
  }
  Napi::Value Status(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Relay& relay = *engine_;
    Napi::Object r = Napi::Object::New(env);
    Napi::Array queues = Napi::Array::New(env, relay.queue_count());
    for (size_t i = 0; i < relay.queue_count(); i++) {
      Napi::Object q = Napi::Object::New(env);
      q.Set("queue", static_cast<double>(i));
      q.Set("aToB", direction(env, relay.queue(i).a_to_b));
      q.Set("bToA", direction(env, relay.queue(i).b_to_a));
      queues.Set(i, q);
    }
    r.Set("queues", queues);
    r.Set("running", !relay.stopping());
    r.Set("failed", relay.failed());
    if (relay.failed()) {
      r.Set("error", relay.error_message());
      if (relay.error_errno()) r.Set("errno", -relay.error_errno());
    }
    return r;
  }
  // Within one poll interval of the workers; idempotent.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    engine_->stop();
    engine_->join();
    return info.Env().Undefined();
  }
};

Napi::Value RelayStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject())
      throw Napi::TypeError::New(env, "relayStart expects an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    RelayOptions opts;
    opts.fds_a = opt_int_array(o, "fdsA");
    opts.fds_b = opt_int_array(o, "fdsB");
    opts.cpus = opt_int_array(o, "cpus");
    opts.vnet_hdr_len = static_cast<int>(opt_number(o, "vnetHdrLen", 0));
    auto relay = std::make_shared<Relay>(std::move(opts));
    relay->start();  // on a failure start() has stopped and joined what it started
    return RelayHandle::wrap(env, relay);
  });
}

void Register(Napi::Env env, Napi::Object exports) {
  RelayHandle::Define(env);
  exports.Set("relayStart", Napi::Function::New(env, RelayStart));
}

AddonArea area("relay", Register);

}  // namespace
}  // namespace mqb
