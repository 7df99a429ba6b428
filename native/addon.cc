// The addon's entry point: every area (gen, sessions, relay, ifctl, ...) registers its own
// functions from its addon_<area>.cc through mqb::AddonArea, so this file never changes.
#include <napi.h>

#include "addon_util.h"
#include "thread_env.h"

static Napi::Value MonotonicNs(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(mqb::now_ns()));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("monotonicNs", Napi::Function::New(env, MonotonicNs));
  Napi::Array areas = Napi::Array::New(env);
  uint32_t i = 0;
  for (auto& [name, fn] : mqb::addon_areas()) {
    fn(env, exports);
    areas.Set(i++, Napi::String::New(env, name));
  }
  exports.Set("areas", areas);
  return exports;
}

NODE_API_MODULE(mqbench, Init)
