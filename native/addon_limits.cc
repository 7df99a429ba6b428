// N-API surface of native/mqb_limits.h: limits() gives the bounds the engines and the agent enforce,
// so that test/unit/limits.test.ts can hold them against LIMITS in src/limits.ts.
#include "addon_util.h"
#include "mqb_limits.h"

namespace mqb {
namespace {

Napi::Value Limits(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("maxQueues", limits::kMaxQueues);
  o.Set("maxFlowsPerQueue", limits::kMaxFlowsPerQueue);
  o.Set("maxGenBurst", limits::kMaxGenBurst);
  o.Set("maxFrameBytes", static_cast<double>(limits::kMaxFrameBytes));
  o.Set("maxAgentFrameBytes", limits::kMaxAgentFrameBytes);
  return o;
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("limits", Napi::Function::New(env, Limits));
}

AddonArea area("limits", Register);

}  // namespace
}  // namespace mqb
