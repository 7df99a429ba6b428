// N-API surface for file locks (flock(2)): Node has no binding for them.
#include "addon_util.h"
#include "filelock.h"

namespace mqb {
namespace {

Napi::Value FileTryLock(const Napi::CallbackInfo& info) {
  try {
    return Napi::Boolean::New(info.Env(), file_try_lock(info[0].As<Napi::Number>().Int32Value()));
  } catch (const std::exception& e) {
    throw_js(info.Env(), e);
  }
}

Napi::Value FileUnlock(const Napi::CallbackInfo& info) {
  try {
    file_unlock(info[0].As<Napi::Number>().Int32Value());
  } catch (const std::exception& e) {
    throw_js(info.Env(), e);
  }
  return info.Env().Undefined();
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("fileTryLock", Napi::Function::New(env, FileTryLock));
  exports.Set("fileUnlock", Napi::Function::New(env, FileUnlock));
}

AddonArea area("fs", Register);

}  // namespace
}  // namespace mqb
