// N-API surface of the tap relay. The relay lives as long as its testbed, so it is not awaited
// with join_async (that would hold a libuv pool thread for the whole run): JavaScript polls
// relayStatus() for counters and a worker's failure, and relayStop() stops and joins at once
// (within one poll interval), which also works from a synchronous cleanup at process exit.
#include "addon_util.h"
#include "relay.h"

namespace mqb {
namespace {

struct RelayBox {
  std::unique_ptr<Relay> relay;
  bool stopped = false;
};

RelayBox* unbox(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "expected a relay handle");
  return info[0].As<Napi::External<RelayBox>>().Data();
}

void stop_box(RelayBox* box) {
  if (box->stopped) return;
  box->relay->stop();
  box->relay->join();
  box->stopped = true;
}

Napi::Value RelayStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    if (info.Length() < 1 || !info[0].IsObject())
      throw Napi::TypeError::New(env, "relayStart expects an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    RelayOptions opts;
    opts.fds_a = opt_int_array(o, "fdsA");
    opts.fds_b = opt_int_array(o, "fdsB");
    opts.cpus = opt_int_array(o, "cpus");
    opts.vnet_hdr_len = static_cast<int>(opt_number(o, "vnetHdrLen", 0));
    auto box = new RelayBox{std::make_unique<Relay>(std::move(opts))};
    try {
      box->relay->start();
    } catch (...) {
      box->relay->stop();
      box->relay->join();
      delete box;
      throw;
    }
    // A handle dropped without relayStop() still stops its workers before the memory goes.
    return Napi::External<RelayBox>::New(env, box, [](Napi::Env, RelayBox* b) {
      stop_box(b);
      delete b;
    });
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
}

Napi::Object direction(Napi::Env env, const RelayDirection& d) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("frames", static_cast<double>(d.frames.get()));
  r.Set("bytes", static_cast<double>(d.bytes.get()));
  r.Set("drops", static_cast<double>(d.drops.get()));
  return r;
}

Napi::Value RelayStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RelayBox* box = unbox(info);
  const Relay& relay = *box->relay;
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
  r.Set("running", !box->stopped && !relay.stopping());
  r.Set("failed", relay.failed());
  if (relay.failed()) {
    r.Set("error", relay.error_message());
    r.Set("code", relay.error_code());
  }
  return r;
}

Napi::Value RelayStop(const Napi::CallbackInfo& info) {
  stop_box(unbox(info));
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("relayStart", Napi::Function::New(env, RelayStart));
  exports.Set("relayStatus", Napi::Function::New(env, RelayStatus));
  exports.Set("relayStop", Napi::Function::New(env, RelayStop));
}

AddonArea area("relay", Register);

}  // namespace
}  // namespace mqb
