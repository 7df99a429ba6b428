// N-API surface for interface control: multiqueue taps and ethtool channels.
#include <unistd.h>

#include "addon_util.h"
#include "ethtool.h"
#include "tap.h"

namespace mqb {
namespace {

Napi::Value TapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    TapOpenOptions opts;
    opts.name = opt_string(o, "name", "");
    opts.queues = static_cast<int>(opt_number(o, "queues", 1));
    opts.vnet_hdr = opt_bool(o, "vnetHdr", false);
    opts.netns = opt_string(o, "netns", "");
    if (opt_bool(o, "offloads", false)) opts.offloads = tap_offload_flags(true, true, true, true, false);
    TapHandle h = tap_open(opts);
    Napi::Object r = Napi::Object::New(env);
    r.Set("name", h.name);
    Napi::Array fds = Napi::Array::New(env, h.fds.size());
    for (size_t i = 0; i < h.fds.size(); i++) fds.Set(i, h.fds[i]);
    r.Set("fds", fds);
    r.Set("vnetHdrLen", h.vnet_hdr_len);
    return r;
  });
}

Napi::Value TapSetQueueAttached(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    tap_set_queue_attached(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Boolean>().Value());
    return info.Env().Undefined();
  });
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value GetChannels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string netns = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    Channels c = ethtool_get_channels(info[0].As<Napi::String>().Utf8Value(), netns);
    Napi::Object r = Napi::Object::New(env);
    r.Set("maxRx", c.max_rx);
    r.Set("maxTx", c.max_tx);
    r.Set("maxOther", c.max_other);
    r.Set("maxCombined", c.max_combined);
    r.Set("rx", c.rx);
    r.Set("tx", c.tx);
    r.Set("other", c.other);
    r.Set("combined", c.combined);
    return r;
  });
}

Napi::Value SetChannels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = info[1].As<Napi::Object>();
    std::string netns = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    ethtool_set_channels(info[0].As<Napi::String>().Utf8Value(), static_cast<long>(opt_number(o, "rx", -1)),
                         static_cast<long>(opt_number(o, "tx", -1)),
                         static_cast<long>(opt_number(o, "combined", -1)), netns);
    return env.Undefined();
  });
}

void Register(Napi::Env env, Napi::Object exports) {
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen));
  exports.Set("tapSetQueueAttached", Napi::Function::New(env, TapSetQueueAttached));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("getChannels", Napi::Function::New(env, GetChannels));
  exports.Set("setChannels", Napi::Function::New(env, SetChannels));
}

AddonArea area("ifctl", Register);

}  // namespace
}  // namespace mqb
