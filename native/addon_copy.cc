// N-API surface of the checksummed bulk copy (native/copy.cc): the host's sending end of the
// migration case's payload. status() reads the counters while it runs; wait() settles when the
// receiver has read everything and closed (or with the error that ended it).
#include <cinttypes>
#include <cstdio>

#include "addon_util.h"
#include "copy.h"

namespace mqb {
namespace {

Napi::Object copy_status(Napi::Env env, const CopyEngine& e) {
  char sum[17];
  std::snprintf(sum, sizeof(sum), "%016" PRIx64, e.checksum());
  Napi::Object r = Napi::Object::New(env);
  r.Set("connected", e.connected());
  r.Set("bytes", static_cast<double>(e.bytes()));
  r.Set("checksum", std::string(sum));
  r.Set("startNs", static_cast<double>(e.start_ns()));
  r.Set("endNs", static_cast<double>(e.end_ns()));
  r.Set("done", e.end_ns() != 0);
  return r;
}

class CopyHandle : public EngineWrap<CopyHandle, CopyEngine> {
 public:
  static constexpr const char* kName = "CopyHandle";
  using EngineWrap::EngineWrap;
  static void Define(Napi::Env env) {
    define(env, {InstanceMethod<&CopyHandle::Status>("status"), InstanceMethod<&CopyHandle::Stop>("stop"),
                 InstanceMethod<&CopyHandle::Wait>("wait")});
  }
  Napi::Value Status(const Napi::CallbackInfo& info) { return copy_status(info.Env(), *engine_); }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    engine_->stop();
    return info.Env().Undefined();
  }
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    auto e = engine_;
    return join_promise(info.Env(), [e](Napi::Env env) { return copy_status(env, *e); });
  }
};

Napi::Value CopySend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject())
      throw Napi::TypeError::New(env, "copySend expects an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    CopyOptions c;
    c.send = true;
    c.address = opt_string(o, "host", "");
    c.port = static_cast<uint16_t>(opt_number(o, "port", 0));
    c.bytes = static_cast<uint64_t>(opt_number(o, "bytes", 0));
    c.seed = static_cast<uint64_t>(opt_number(o, "seed", 0));
    c.rate_bytes_per_sec = static_cast<uint64_t>(opt_number(o, "rateBytesPerSec", 0));
    c.timeout_ms = static_cast<uint64_t>(opt_number(o, "timeoutMs", 600000));
    c.netns = opt_string(o, "netns", "");
    auto e = std::make_shared<CopyEngine>(std::move(c));
    e->start();
    return CopyHandle::wrap(env, e);
  });
}

void Register(Napi::Env env, Napi::Object exports) {
  CopyHandle::Define(env);
  exports.Set("copySend", Napi::Function::New(env, CopySend));
}

AddonArea area("copy", Register);

}  // namespace
}  // namespace mqb
