// Helpers for the N-API surface (addon*.cc only): registering an area's functions, reading
// options objects, turning C++ errors into JS errors with `.code`, and awaiting an engine.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
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

// Throws a JS Error for a std::exception; SysError gains `.code` (errno name) and `.errno`.
[[noreturn]] void throw_js(Napi::Env env, const std::exception& e);
Napi::Error make_js_error(Napi::Env env, const std::string& message, const std::string& code);

// Runs engine->join() on the libuv pool and settles a promise: resolved with result(env) when the
// engine ended without error, rejected with its error (and `.code`) otherwise. The engine is kept
// alive by the shared_ptr until the promise settles.
Napi::Promise join_async(Napi::Env env, std::shared_ptr<Engine> engine,
                         std::function<Napi::Value(Napi::Env)> result);

}  // namespace mqb
