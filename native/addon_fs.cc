// N-API surface for file locks (flock(2)): Node has no binding for them.
#include "addon_util.h"
#include "filelock.h"

namespace mqb {
namespace {

Napi::Value FileTryLock(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), file_try_lock(info[0].As<Napi::Number>().Int32Value()));
  });
}

Napi::Value FileUnlock(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    file_unlock(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("fileTryLock", Napi::Function::New(env, FileTryLock));
  exports.Set("fileUnlock", Napi::Function::New(env, FileUnlock));
}

AddonArea area("fs", Register);

}  // namespace
}  // namespace mqb
