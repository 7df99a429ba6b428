// N-API surface for sessions (rr, stream, server): start engines behind a handle (EngineWrap),
// poll per-session counters, hand out each session's latency summary and encoded histogram and the
// merged total's, and await the end via join_async; the host limits on a session count.
#include "addon_util.h"
#include "server.h"
#include "session_limits.h"
#include "sys.h"
#include "thread_env.h"

namespace mqb {
namespace {

Napi::Value Listen(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    ListenResult r = listen_tcp(opt_string(o, "netns", ""), opt_string(o, "host", "127.0.0.1"),
                                static_cast<int>(opt_number(o, "port", 0)),
                                static_cast<int>(opt_number(o, "backlog", 128)));
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("fd", r.fd);
    out.Set("port", r.port);
    return out;
  });
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    auto job = std::make_shared<ConnectJob>(opt_string(o, "netns", ""), opt_string(o, "host", "127.0.0.1"),
                                            static_cast<int>(opt_number(o, "port", 0)),
                                            static_cast<int>(opt_number(o, "timeoutMs", 3000)));
    job->start();
    return join_async(info.Env(), job,
                      [job](Napi::Env env) { return Napi::Number::New(env, job->take_fd()); });
  });
}

SessionConfig config_from(const Napi::Object& o) {
  SessionConfig c;
  c.netns = opt_string(o, "netns", "");
  c.side = opt_string(o, "side", "client") == "server" ? Side::server : Side::client;
  std::string host = opt_string(o, "host", "127.0.0.1");
  if (!parse_address(host, static_cast<int>(opt_number(o, "port", 0)), c.addr, c.addr_len))
    throw std::invalid_argument("not an IP address: " + host);
  std::string peer = opt_string(o, "peer", "");
  socklen_t plen;
  if (!peer.empty() && !parse_address(peer, 0, c.peer, plen))
    throw std::invalid_argument("not an IP address: " + peer);
  c.sessions = static_cast<int>(opt_number(o, "sessions", 1));
  c.threads = static_cast<int>(opt_number(o, "threads", 1));
  c.cpus = opt_int_array(o, "cpus");
  c.request_size = static_cast<uint32_t>(opt_number(o, "requestSize", 1));
  c.response_size = static_cast<uint32_t>(opt_number(o, "responseSize", 1));
  c.burst = static_cast<uint32_t>(opt_number(o, "burst", 1));
  c.message_size = static_cast<uint32_t>(opt_number(o, "messageSize", 16384));
  c.cookie = static_cast<uint32_t>(opt_number(o, "cookie", 0));
  for (int s : opt_int_array(o, "sends")) c.sends.push_back(s ? 1 : 0);
  c.sample_ns = static_cast<uint64_t>(opt_number(o, "sampleMs", 0) * 1e6);
  return c;
}

Napi::Object summary_object(Napi::Env env, const LatencySummary& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", static_cast<double>(l.count));
  o.Set("min", l.min_us);
  o.Set("mean", l.mean_us);
  o.Set("p50", l.p50_us);
  o.Set("p90", l.p90_us);
  o.Set("p99", l.p99_us);
  o.Set("p999", l.p999_us);
  o.Set("max", l.max_us);
  return o;
}

Napi::Array cpu_list(Napi::Env env, uint64_t mask) {
  Napi::Array list = Napi::Array::New(env);
  for (uint32_t cpu = 0, n = 0; cpu < 64; cpu++)
    if (mask & (uint64_t{1} << cpu)) list.Set(n++, cpu);
  return list;
}

// A session's SessionProbe as numbers (src/native.ts NativeSessionProbe); absent when never sampled.
Napi::Object probe_object(Napi::Env env, const SessionProbe& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("samples", p.samples);
  o.Set("rxCpuFirst", p.rx_cpu_first);
  o.Set("rxCpuLast", p.rx_cpu_last);
  o.Set("rxCpuChanges", p.rx_cpu_changes);
  o.Set("rxCpusSeen", cpu_list(env, p.rx_cpus_seen));
  o.Set("txCpusSeen", cpu_list(env, p.tx_cpus_seen));
  o.Set("cpusBeyond", p.cpus_beyond);
  o.Set("napiFirst", p.napi_first);
  o.Set("napiLast", p.napi_last);
  o.Set("napiChanges", p.napi_changes);
  o.Set("txCpuFirst", p.tx_cpu_first);
  o.Set("txCpuLast", p.tx_cpu_last);
  o.Set("txCpuChanges", p.tx_cpu_changes);
  if (p.tcp_samples) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("samples", p.tcp_samples);
    t.Set("rttMinUs", p.rtt_min_us);
    t.Set("rttMeanUs", static_cast<double>(p.rtt_sum_us) / p.tcp_samples);
    t.Set("rttMaxUs", p.rtt_max_us);
    t.Set("rttLastUs", p.rtt_last_us);
    t.Set("rttvarMaxUs", p.rttvar_max_us);
    t.Set("rttvarLastUs", p.rttvar_last_us);
    t.Set("cwndMin", p.cwnd_min);
    t.Set("cwndMax", p.cwnd_max);
    t.Set("cwndLast", p.cwnd_last);
    t.Set("totalRetrans", p.total_retrans);
    t.Set("deliveryRateMaxBps", static_cast<double>(p.delivery_rate_max));
    t.Set("deliveryRateLastBps", static_cast<double>(p.delivery_rate_last));
    o.Set("tcp", t);
  }
  return o;
}

Napi::Value encoded_buffer(Napi::Env env, const std::vector<uint8_t>& bytes) {
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

void set_total(Napi::Env env, Napi::Object& out, const LatencyReport& report) {
  out.Set("latency", summary_object(env, report.total));
  out.Set("histogram", encoded_buffer(env, report.total_encoded));
  out.Set("histogramBytes", static_cast<double>(report.histogram_bytes));
}

// The open-file limit (its soft value raised to the hard one first) and the local port range of
// a namespace: what bounds the session count of a test on this host.
Napi::Value HostLimits(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    FdLimit fds = raise_fd_limit();
    PortRange ports = local_port_range(opt_string(info[0].As<Napi::Object>(), "netns", ""));
    Napi::Object out = Napi::Object::New(env);
    out.Set("openFiles", static_cast<double>(fds.soft));
    out.Set("openFilesHard", static_cast<double>(fds.hard));
    out.Set("portLow", ports.low);
    out.Set("portHigh", ports.high);
    out.Set("ports", ports.count());
    return out;
  });
}

// Lists of nanosecond values recorded into session histograms and reported as a run's end does:
// the histogram, its summaries and its encoding without a network run (tests, tools).
Napi::Value Histograms(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Napi::Array lists = info[0].As<Napi::Array>();
    std::vector<LatencyHistogram> hists(lists.Length());
    std::vector<const LatencyHistogram*> ptrs;
    for (uint32_t i = 0; i < lists.Length(); i++) {
      Napi::Float64Array values = lists.Get(i).As<Napi::Float64Array>();
      for (size_t j = 0; j < values.ElementLength(); j++) hists[i].record(static_cast<uint64_t>(values[j]));
      ptrs.push_back(&hists[i]);
    }
    LatencyReport report = report_latency(ptrs);
    Napi::Array sessions = Napi::Array::New(env);
    for (uint32_t i = 0; i < ptrs.size(); i++) {
      Napi::Object s = Napi::Object::New(env);
      s.Set("latency", summary_object(env, report.sessions[i]));
      s.Set("histogram", encoded_buffer(env, report.encoded[i]));
      sessions.Set(i, s);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("sessions", sessions);
    set_total(env, out, report);
    return out;
  });
}

Napi::Value Result(Napi::Env env, SessionEngine& e) {
  std::vector<const LatencyHistogram*> hists;
  for (int i = 0; i < e.session_count(); i++) hists.push_back(e.stats(i).hist.get());
  LatencyReport report = report_latency(hists);
  Napi::Array sessions = Napi::Array::New(env);
  std::vector<const Worker*> owner(e.session_count(), nullptr);
  for (auto& w : e.workers())
    for (int s : w->sessions) owner[s] = w.get();
  for (int i = 0; i < e.session_count(); i++) {
    SessionStats& st = e.stats(i);
    const Worker* w = owner[i];
    Napi::Object s = Napi::Object::New(env);
    s.Set("thread", w ? w->index : -1);
    s.Set("cpu", w ? w->cpu : -1);
    s.Set("ops", static_cast<double>(st.ops.get()));
    bool windowed = w && w->window_end_ns > w->window_start_ns;
    s.Set("windowOps", windowed ? static_cast<double>(st.window_end_ops - st.window_start_ops) : 0.0);
    s.Set("windowNs", windowed ? static_cast<double>(w->window_end_ns - w->window_start_ns) : 0.0);
    s.Set("errors", static_cast<double>(st.errors.get()));
    s.Set("datagrams", static_cast<double>(st.datagrams.get()));
    s.Set("maxGapNs", static_cast<double>(st.max_gap_ns));
    s.Set("retransmits", static_cast<double>(st.retransmits));
    s.Set("connected", st.connected.get() != 0);
    s.Set("dead", st.dead);
    if (st.probe.samples) s.Set("probe", probe_object(env, st.probe));
    if (st.hist) {
      s.Set("latency", summary_object(env, report.sessions[i]));
      s.Set("histogram", encoded_buffer(env, report.encoded[i]));
    }
    sessions.Set(i, s);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("sessions", sessions);
  if (e.workload().records_latency) set_total(env, out, report);
  return out;
}

// A session engine's handle: port() of a server's data sockets, measure() opens the measurement
// window, poll() reads every session's counters without locks while the engine runs, stop() asks
// the threads to end and join() resolves with every session's final figures once they have.
class SessionsHandle : public EngineWrap<SessionsHandle, SessionEngine> {
 public:
  static constexpr const char* kName = "SessionsHandle";
  using EngineWrap::EngineWrap;
  static void Define(Napi::Env env) {
    define(env, {InstanceMethod<&SessionsHandle::Port>("port"),
                 InstanceMethod<&SessionsHandle::Measure>("measure"),
                 InstanceMethod<&SessionsHandle::Stop>("stop"), InstanceMethod<&SessionsHandle::Poll>("poll"),
                 InstanceMethod<&SessionsHandle::Join>("join"),
                 InstanceMethod<&SessionsHandle::GroupLatency>("groupLatency")});
  }
  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), engine_->port()); }
  Napi::Value Measure(const Napi::CallbackInfo& info) {
    engine_->set_measuring();
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    engine_->stop();
    return info.Env().Undefined();
  }
  Napi::Value Poll(const Napi::CallbackInfo& info) {
    SessionEngine& e = *engine_;
    Napi::Env env = info.Env();
    int n = e.session_count();
    Napi::Float64Array ops = Napi::Float64Array::New(env, n), errors = Napi::Float64Array::New(env, n);
    for (int i = 0; i < n; i++) {
      ops[i] = static_cast<double>(e.stats(i).ops.get());
      errors[i] = static_cast<double>(e.stats(i).errors.get());
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("nowNs", static_cast<double>(now_ns()));
    out.Set("connected", static_cast<double>(e.connected_count()));
    out.Set("failed", e.failed());
    out.Set("error", e.error_message());
    out.Set("ops", ops);
    out.Set("errors", errors);
    return out;
  }
  // After join(): the sessions' histograms merged per group (groups[i]: session i's group, -1 for
  // none), each group's summary and encoding: a run's per-queue latency.
  Napi::Value GroupLatency(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      SessionEngine& e = *engine_;
      if (!e.finished()) throw std::logic_error("groupLatency before the engine's threads ended");
      Napi::Env env = info.Env();
      Napi::Int32Array g = info[0].As<Napi::Int32Array>();
      int groups = info[1].As<Napi::Number>().Int32Value();
      std::vector<int> group(g.ElementLength());
      for (size_t i = 0; i < group.size(); i++) group[i] = g[i];
      std::vector<const LatencyHistogram*> hists;
      for (int i = 0; i < e.session_count(); i++) hists.push_back(e.stats(i).hist.get());
      std::vector<mqb::GroupLatency> merged = group_latency(hists, group, groups);
      Napi::Array out = Napi::Array::New(env, merged.size());
      for (uint32_t i = 0; i < merged.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("latency", summary_object(env, merged[i].summary));
        o.Set("histogram", encoded_buffer(env, merged[i].encoded));
        out.Set(i, o);
      }
      return out;
    });
  }
  Napi::Value Join(const Napi::CallbackInfo& info) {
    auto e = engine_;
    return join_promise(info.Env(), [e](Napi::Env env) {
      Napi::Value r = Result(env, *e);
      e->close_sockets();
      return r;
    });
  }
};

Napi::Value Start(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = info[0].As<Napi::Object>();
    SessionConfig cfg = config_from(o);
    std::string name = opt_string(o, "workload", "tcp_rr");
    const Workload* wl = find_workload(name, cfg.side);
    if (!wl) throw std::invalid_argument("unknown workload " + name);
    std::shared_ptr<SessionEngine> e;
    if (cfg.side == Side::server) {
      e = start_server_engine(std::move(cfg), *wl);
    } else {
      e = std::make_shared<SessionEngine>(std::move(cfg), *wl);
      e->start();
    }
    return SessionsHandle::wrap(info.Env(), e);
  });
}

void Register(Napi::Env env, Napi::Object exports) {
  SessionsHandle::Define(env);
  exports.Set("sessionsListen", Napi::Function::New(env, Listen));
  exports.Set("sessionsConnect", Napi::Function::New(env, Connect));
  exports.Set("sessionsStart", Napi::Function::New(env, Start));
  exports.Set("sessionsHistograms", Napi::Function::New(env, Histograms));
  exports.Set("sessionsHostLimits", Napi::Function::New(env, HostLimits));
}

AddonArea area("sessions", Register);

}  // namespace
}  // namespace mqb
