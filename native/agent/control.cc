#include "control.h"

#include <algorithm>
#include <cstring>

namespace mqb::control {

const char* const kWorkloads[5] = {"tcp_rr", "udp_rr", "tcp_crr", "tcp_stream", "udp_stream"};
const char* const kServerCaps[8] = {"tcp_rr",     "udp_rr", "tcp_crr", "tcp_stream",
                                    "udp_stream", "burst",  "bidir",   "window"};

namespace {

using json::Value;

// A JavaScript template's ${n} for a number.
std::string num(double n) {
  return json::number_text(n);
}

// JSON.stringify(x ?? null).slice(0, 40), as the TypeScript reasons quote a value.
std::string quoted(const Value* v) {
  return json::utf16_prefix(v ? json::write(*v) : "null", 40);
}

// The line's bytes as the TypeScript server sees them: it decodes UTF-8 with replacement.
Value parse_object(std::string_view line) {
  std::string text = json::sanitize_utf8(line);
  if (text.size() > kMaxLineBytes)
    throw ProtocolError("message longer than " + num(kMaxLineBytes) + " bytes");
  Value v;
  try {
    v = json::parse(text);
  } catch (const json::ParseError&) {
    throw ProtocolError("not JSON");
  }
  if (!v.is_object()) throw ProtocolError("not a JSON object");
  return v;
}

double integer(const Value& o, const char* key, double min, double max) {
  const Value* v = o.get(key);
  if (!v || !v->is_integer()) throw ProtocolError(std::string(key) + " must be an integer");
  double n = v->number();
  if (n < min || n > max)
    throw ProtocolError(std::string(key) + " " + num(n) + " is out of range " + num(min) + ".." + num(max));
  return n;
}

std::optional<std::string> string(const Value& o, const char* key, size_t max_len, bool optional) {
  const Value* v = o.get(key);
  if (!v && optional) return std::nullopt;
  if (!v || !v->is_string()) throw ProtocolError(std::string(key) + " must be a string");
  if (json::utf16_length(v->str()) > max_len)
    throw ProtocolError(std::string(key) + " is longer than " + num(static_cast<double>(max_len)) +
                        " characters");
  return v->str();
}

std::vector<std::string> strings(const Value& o, const char* key, size_t max_items) {
  const Value* v = o.get(key);
  if (!v) return {};
  bool ok = v->is_array() && v->items().size() <= max_items;
  for (size_t i = 0; ok && i < v->items().size(); i++)
    ok = v->items()[i].is_string() && json::utf16_length(v->items()[i].str()) <= 64;
  if (!ok)
    throw ProtocolError(std::string(key) + " must be a list of at most " +
                        num(static_cast<double>(max_items)) + " short strings");
  std::vector<std::string> out;
  for (const Value& x : v->items()) out.push_back(x.str());
  return out;
}

bool is_workload(const std::string& w) {
  return std::any_of(std::begin(kWorkloads), std::end(kWorkloads), [&](const char* k) { return w == k; });
}

std::string line(const Value& v) {
  return json::write(v) + "\n";
}

}  // namespace

ProtocolError ClientReader::incomplete(const std::string& instead) const {
  return ProtocolError(
      "test truncated: " + instead + " after " + num(static_cast<double>(header_.test.server_sends.size())) +
      " of " + num(header_.test.sessions) + " sessions (chunk " + num(next_) + " of " + num(chunks_) + ")");
}

void ClientReader::end() const {
  if (pending_) throw incomplete("the connection closed");
}

std::optional<ClientMessage> ClientReader::push(std::string_view text) {
  Value o = parse_object(text);
  const Value* type = o.get("type");
  bool is_chunk = type && type->is_string() && type->str() == "chunk";
  if (pending_) {
    if (!is_chunk) throw incomplete("a " + quoted(type) + " message arrived");
    const Value* items = o.get("items");
    if (!items || !items->is_array() || items->items().empty())
      throw ProtocolError("chunk items must be a non-empty list");
    int seq = static_cast<int>(integer(o, "seq", 0, 1e9));
    int first = static_cast<int>(integer(o, "first", 0, 1e9));
    Test& t = header_.test;
    int have = static_cast<int>(t.server_sends.size());
    if (seq != next_)
      throw ProtocolError("test chunk " + num(seq) + " arrived where chunk " + num(next_) + " of " +
                          num(chunks_) + " was expected (chunks must come in order)");
    if (first != have)
      throw ProtocolError("test chunk " + num(seq) + " starts at session " + num(first) + ", expected " +
                          num(have));
    size_t n = items->items().size();
    if (have + n > static_cast<size_t>(t.sessions))
      throw ProtocolError("test chunk " + num(seq) + " carries sessions up to " +
                          num(static_cast<double>(first + n - 1)) + ", beyond the " + num(t.sessions) +
                          " announced");
    bool udp = t.workload.rfind("udp_", 0) == 0;
    for (size_t i = 0; i < n; i++) {
      const Value& x = items->items()[i];
      if (!x.is_number() || (x.number() != 0 && x.number() != 1))
        throw ProtocolError("serverSends[" + num(static_cast<double>(first + i)) + "] must be 0 or 1");
      if (udp && x.number() == 1) throw ProtocolError("the server never sends a UDP stream");
      t.server_sends.push_back(x.number() == 1);
    }
    if (++next_ < chunks_) return std::nullopt;
    if (t.server_sends.size() != static_cast<size_t>(t.sessions))
      throw ProtocolError("test truncated: its " + num(chunks_) + " chunks carried " +
                          num(static_cast<double>(t.server_sends.size())) + " of " + num(t.sessions) +
                          " sessions");
    pending_ = false;
    return header_;
  }
  if (is_chunk) throw ProtocolError("a chunk arrived without a message announcing it");
  ClientMessage m;
  std::string t = type && type->is_string() ? type->str() : "";
  if (t == "hello") {
    m.type = t;
    // Any version is read here: the server answers a mismatch with a clear error.
    m.version = static_cast<int>(integer(o, "version", 0, 1000000));
    m.token = string(o, "token", 1024, true);
    m.caps = strings(o, "caps", 64);
    return m;
  }
  if (t == "done" || t == "measure") {
    m.type = t;
    return m;
  }
  if (t != "test") throw ProtocolError("unknown message type " + quoted(type));
  m.type = t;
  Test& x = m.test;
  x.workload = *string(o, "workload", 32, false);
  if (!is_workload(x.workload))
    throw ProtocolError("unknown workload " + json::utf16_prefix(json::quote(x.workload), 40));
  x.sessions = static_cast<int>(integer(o, "sessions", 1, limits_.max_sessions));
  bool udp = x.workload.rfind("udp_", 0) == 0;
  double max_size = udp ? kMaxUdpPayloadBytes : kMaxMessageBytes;
  x.threads = static_cast<int>(integer(o, "threads", 1, kMaxThreads));
  x.duration_ms = integer(o, "durationMs", 1, limits_.max_duration_ms);
  x.request_size = static_cast<uint32_t>(integer(o, "requestSize", 1, max_size));
  x.response_size = static_cast<uint32_t>(integer(o, "responseSize", 1, max_size));
  x.message_size =
      static_cast<uint32_t>(integer(o, "messageSize", x.workload == "udp_stream" ? 8 : 1, max_size));
  chunks_ = static_cast<int>(integer(o, "chunks", 1, x.sessions));
  next_ = 0;
  x.server_sends.reserve(x.sessions);
  header_ = std::move(m);
  pending_ = true;
  return std::nullopt;
}

bool LineSplitter::push(const char* p, size_t n, std::vector<std::string>& out) {
  buf_.append(p, n);
  size_t start = 0;
  for (;;) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string l = buf_.substr(start, nl - start);
    start = nl + 1;
    // LineReader skips lines that trim() leaves empty.
    if (l.find_first_not_of(" \t\r\v\f") != std::string::npos) out.push_back(std::move(l));
  }
  buf_.erase(0, start);
  if (buf_.size() > kMaxLineBytes) {
    buf_.clear();
    return false;
  }
  return true;
}

std::string welcome_line(const Limits& limits, const std::vector<int>& cpus) {
  Value caps = Value::array();
  for (const char* c : kServerCaps) caps.push(c);
  Value pinned = Value::array();
  for (int c : cpus) pinned.push(c);
  Value l = Value::object();
  l.set("maxSessions", limits.max_sessions);
  l.set("maxDurationMs", limits.max_duration_ms);
  Value m = Value::object();
  m.set("type", "welcome");
  m.set("version", kVersion);
  m.set("caps", std::move(caps));
  m.set("limits", std::move(l));
  m.set("cpus", std::move(pinned));
  return line(m);
}

std::string ready_line(int port, uint32_t cookie) {
  Value m = Value::object();
  m.set("type", "ready");
  m.set("port", port);
  m.set("cookie", cookie);
  return line(m);
}

std::string error_line(const std::string& reason) {
  Value m = Value::object();
  m.set("type", "error");
  m.set("reason", reason);
  return line(m);
}

// The header, then the items in chunk lines packed as the TypeScript encoder packs them: as
// many whole items as fit kChunkBytes with its envelope allowance, at least one per chunk.
std::string result_lines(const CpuFigures& c, const std::vector<SessionFigures>& sessions) {
  std::vector<std::string> items;
  items.reserve(sessions.size());
  for (const SessionFigures& s : sessions) {
    Value v = Value::object();
    v.set("ops", s.ops);
    v.set("datagrams", s.datagrams);
    v.set("retransmits", s.retransmits);
    if (s.window_ops >= 0) v.set("windowOps", s.window_ops);
    items.push_back(json::write(v));
  }
  Value empty = Value::object();
  empty.set("type", "chunk");
  empty.set("seq", 0);
  empty.set("first", 0);
  empty.set("items", Value::array());
  const size_t envelope = line(empty).size() + 24;
  std::string chunks;
  int count = 0;
  for (size_t first = 0; first < items.size();) {
    size_t bytes = envelope, end = first;
    while (end < items.size()) {
      size_t b = items[end].size() + 1;
      if (end > first && bytes + b > kChunkBytes) break;
      bytes += b;
      end++;
    }
    std::string body;
    for (size_t i = first; i < end; i++) body += (i > first ? "," : "") + items[i];
    chunks += "{\"type\":\"chunk\",\"seq\":" + num(count) + ",\"first\":" + num(static_cast<double>(first)) +
              ",\"items\":[" + body + "]}\n";
    count++;
    first = end;
  }
  Value cpu = Value::object();
  cpu.set("userPct", c.user_pct);
  cpu.set("sysPct", c.sys_pct);
  cpu.set("softirqPct", c.softirq_pct);
  cpu.set("irqPct", c.irq_pct);
  cpu.set("totalPct", c.total_pct);
  cpu.set("cpus", c.cpus);
  Value p = Value::object();
  p.set("user", c.process_user_us);
  p.set("sys", c.process_sys_us);
  Value h = Value::object();
  h.set("type", "result");
  h.set("cpu", std::move(cpu));
  h.set("busyMs", c.busy_ms);
  h.set("processUs", std::move(p));
  h.set("sessions", sessions.size());
  h.set("chunks", count);
  return line(h) + chunks;
}

}  // namespace mqb::control
