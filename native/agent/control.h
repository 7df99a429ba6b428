// The session control protocol (docs/protocol.md) as the C++ server reads and writes it: the
// second implementation beside src/sessions/protocol.ts, held to the same test vectors
// (test/fixtures/protocol/). Pure: lines in, messages or a ProtocolError with the TypeScript
// reader's reason out; messages in, lines out, packed into chunks as the TypeScript encoder packs
// them. No sockets here (session_server.cc has those).
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"

namespace mqb::control {

constexpr int kVersion = 2;
constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr size_t kChunkBytes = 32 * 1024;
constexpr uint32_t kMaxMessageBytes = 1u << 20;
constexpr uint32_t kMaxUdpPayloadBytes = 65507;
constexpr int kMaxThreads = 1024;
// src/limits.ts maxSessions: what the TypeScript client accepts in a welcome.
constexpr int kMaxSessions = 100000;
extern const char* const kWorkloads[5];
extern const char* const kServerCaps[8];

struct Limits {
  int max_sessions = 1000;
  double max_duration_ms = 3600000;
};

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Test {
  std::string workload;
  int sessions = 0, threads = 0;
  double duration_ms = 0;
  uint32_t request_size = 0, response_size = 0, message_size = 0;
  std::vector<uint8_t> server_sends;
};

struct ClientMessage {
  std::string type;  // hello test measure done
  int version = 0;
  std::optional<std::string> token;
  std::vector<std::string> caps;
  Test test;
};

// The server's reader of a client's lines: hello, test + its chunks, done. push() returns a whole
// message, or nothing while a test's per-session list is still arriving; end() throws when the
// connection ends inside a list.
class ClientReader {
 public:
  explicit ClientReader(Limits limits) : limits_(limits) {}
  std::optional<ClientMessage> push(std::string_view line);
  void end() const;

 private:
  ProtocolError incomplete(const std::string& instead) const;
  Limits limits_;
  bool pending_ = false;
  ClientMessage header_;
  int chunks_ = 0, next_ = 0;
};

// Splits a byte stream into lines as LineReader does: blank lines skipped, and a line that grows
// past kMaxLineBytes before its newline arrives is refused (the caller closes the connection).
class LineSplitter {
 public:
  // Appends bytes; complete lines go to `out`. Returns false when the unfinished line is too long.
  bool push(const char* p, size_t n, std::vector<std::string>& out);

 private:
  std::string buf_;
};

struct SessionFigures {
  double ops = 0, datagrams = 0, retransmits = 0;
  // Over the client's window, from its measure to its done; negative: no window was opened.
  double window_ops = -1;
};

struct CpuFigures {
  double user_pct = 0, sys_pct = 0, softirq_pct = 0, irq_pct = 0, total_pct = 0;
  int cpus = 0;
  double busy_ms = 0, process_user_us = 0, process_sys_us = 0;
};

// Server messages, each a complete line with its "\n" (result: header and chunk lines).
// cpus: the engine threads' pinning (the server's --cpus), [] when unpinned; docs/protocol.md.
std::string welcome_line(const Limits& limits, const std::vector<int>& cpus);
std::string ready_line(int port, uint32_t cookie);
std::string error_line(const std::string& reason);
std::string result_lines(const CpuFigures& cpu, const std::vector<SessionFigures>& sessions);

}  // namespace mqb::control
