// Helpers for the N-API surface (addon*.cc only): registering an area's functions, reading
// options objects, turning C++ errors into JS errors with `.errno`, awaiting an engine, and the one
// kind of handle through which JavaScript drives an engine (EngineWrap).
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "engine.h"

namespace mqb {

using RegisterFn = void (*)(Napi::Env, Napi::Object);

// Each addon_<area>.cc declares `static AddonArea area("gen", Register);` so that adding an
// area never touches addon.cc.
struct AddonArea {
  AddonArea(const char* name, RegisterFn fn);
};
std::vector<std::pair<const char*, RegisterFn>>& addon_areas();

// Options-object readers: a missing key gives `def`; a wrong type throws a TypeError naming the key.
double opt_number(const Napi::Object& o, const char* key, double def);
std::string opt_string(const Napi::Object& o, const char* key, const std::string& def);
bool opt_bool(const Napi::Object& o, const char* key, bool def);
std::vector<int> opt_int_array(const Napi::Object& o, const char* key);

// Throws a JS Error for a std::exception; a SysError's gains `.errno`, negative as on node's own
// errors (-EPERM), which src/native.ts names as `.code` with util.getSystemErrorName.
[[noreturn]] void throw_js(Napi::Env env, const std::exception& e);
// A JS Error with `.errno` = -err when err is not 0.
Napi::Error make_js_error(Napi::Env env, const std::string& message, int err);

// The one try/catch of the N-API surface: runs body, lets JS errors through and turns any other
// C++ exception into a JS error (throw_js), so that none reaches node as std::terminate.
template <class F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_js(env, e);
  }
}

// Runs engine->join() on the libuv pool and settles a promise: resolved with result(env) when the
// engine ended without error, rejected with its error (and `.errno`) otherwise. The engine is kept
// alive by the shared_ptr, and `owner` (the engine's handle, if any) by a strong reference, until the
// promise settles: a handle nobody holds while awaiting it is not collected, and so not stopped.
Napi::Promise join_async(Napi::Env env, std::shared_ptr<Engine> engine,
                         std::function<Napi::Value(Napi::Env)> result, Napi::Object owner = Napi::Object());

// Constructors of the handle classes, kept per env (instance data) so that C++ can make handles.
void remember_class(Napi::Env env, const char* name, Napi::Function ctor);
Napi::Function class_ctor(Napi::Env env, const char* name);

// The one style of handle from native to JavaScript, for every engine (gen, rx, sessions, relay):
// an object of a class the addon defines but does not export, whose methods drive the engine. Its
// lifetime rule is node-addon-examples' ObjectWrap one: when JavaScript drops the handle and it is
// collected, the destructor stops the engine and joins its threads, so an engine nobody stops or
// awaits does not run for ever. Self names its class in `static constexpr const char* kName` and
// defines it once (define) with its methods.
template <class Self, class E>
class EngineWrap : public Napi::ObjectWrap<Self> {
 public:
  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Self>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw Napi::TypeError::New(info.Env(),
                                 std::string(Self::kName) + " handles are made by the addon only");
    engine_ = *info[0].As<Napi::External<std::shared_ptr<E>>>().Data();
  }
  ~EngineWrap() override {
    if (!engine_) return;
    engine_->stop();
    engine_->join();
  }

  static void define(Napi::Env env,
                     const std::vector<typename Napi::ObjectWrap<Self>::PropertyDescriptor>& methods) {
    remember_class(env, Self::kName, Napi::ObjectWrap<Self>::DefineClass(env, Self::kName, methods));
  }
  // A new handle owning a started engine.
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<E> engine) {
    return class_ctor(env, Self::kName).New({Napi::External<std::shared_ptr<E>>::New(env, &engine)});
  }

 protected:
  // Settles when the engine's threads have ended (see join_async); keeps this handle alive until then.
  Napi::Value join_promise(Napi::Env env, std::function<Napi::Value(Napi::Env)> result) {
    return join_async(env, engine_, std::move(result), this->Value());
  }
  std::shared_ptr<E> engine_;
};

}  // namespace mqb
