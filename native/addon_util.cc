#include "addon_util.h"

#include <map>

#include "sys.h"

namespace mqb {

std::vector<std::pair<const char*, RegisterFn>>& addon_areas() {
  static std::vector<std::pair<const char*, RegisterFn>> areas;
  return areas;
}

AddonArea::AddonArea(const char* name, RegisterFn fn) {
  addon_areas().emplace_back(name, fn);
}

static Napi::Value get_opt(const Napi::Object& o, const char* key) {
  if (!o.Has(key)) return Napi::Value();
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return Napi::Value();
  return v;
}

double opt_number(const Napi::Object& o, const char* key, double def) {
  Napi::Value v = get_opt(o, key);
  if (v.IsEmpty()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string opt_string(const Napi::Object& o, const char* key, const std::string& def) {
  Napi::Value v = get_opt(o, key);
  if (v.IsEmpty()) return def;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool opt_bool(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = get_opt(o, key);
  if (v.IsEmpty()) return def;
  if (!v.IsBoolean())
    throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::vector<int> opt_int_array(const Napi::Object& o, const char* key) {
  std::vector<int> out;
  Napi::Value v = get_opt(o, key);
  if (v.IsEmpty()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("option ") + key + " must be an array");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  return out;
}

Napi::Error make_js_error(Napi::Env env, const std::string& message, int err) {
  Napi::Error e = Napi::Error::New(env, message);
  if (err != 0) e.Value().Set("errno", Napi::Number::New(env, -err));
  return e;
}

void throw_js(Napi::Env env, const std::exception& e) {
  if (auto* ne = dynamic_cast<const Napi::Error*>(&e)) throw *ne;
  auto* se = dynamic_cast<const SysError*>(&e);
  throw make_js_error(env, e.what(), se ? se->err() : 0);
}

namespace {
class JoinWorker : public Napi::AsyncWorker {
 public:
  JoinWorker(Napi::Env env, std::shared_ptr<Engine> engine, std::function<Napi::Value(Napi::Env)> result,
             Napi::Object owner)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        engine_(std::move(engine)),
        result_(std::move(result)) {
    if (!owner.IsEmpty()) owner_ = Napi::Persistent(owner);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { engine_->join(); }
  void OnOK() override {
    Napi::Env env = Env();
    if (engine_->failed()) {
      deferred_.Reject(make_js_error(env, engine_->error_message(), engine_->error_errno()).Value());
      return;
    }
    try {
      deferred_.Resolve(result_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      auto* se = dynamic_cast<const SysError*>(&e);
      deferred_.Reject(make_js_error(env, e.what(), se ? se->err() : 0).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Engine> engine_;
  std::function<Napi::Value(Napi::Env)> result_;
  Napi::ObjectReference owner_;
};

struct Classes {
  std::map<std::string, Napi::FunctionReference> ctors;
};
}  // namespace

Napi::Promise join_async(Napi::Env env, std::shared_ptr<Engine> engine,
                         std::function<Napi::Value(Napi::Env)> result, Napi::Object owner) {
  auto* w = new JoinWorker(env, std::move(engine), std::move(result), owner);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

void remember_class(Napi::Env env, const char* name, Napi::Function ctor) {
  auto* classes = env.GetInstanceData<Classes>();
  if (!classes) {
    classes = new Classes;
    env.SetInstanceData(classes);  // deleted, with its references, when the env goes
  }
  classes->ctors[name] = Napi::Persistent(ctor);
}

Napi::Function class_ctor(Napi::Env env, const char* name) {
  if (auto* classes = env.GetInstanceData<Classes>()) {
    auto it = classes->ctors.find(name);
    if (it != classes->ctors.end()) return it->second.Value();
  }
  throw Napi::Error::New(env, std::string("handle class ") + name + " is not defined");
}

}  // namespace mqb
