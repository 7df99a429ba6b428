// The guest agent's request handling: an op is a name and a function from the request's
// arguments to a result object (docs/agent.md). Ops throw on failure; the dispatcher turns a
// SysError into {error, errno} and anything else into {error, errno: 0}, so an op never writes
// a response itself. The argument readers validate every field before an op acts on it: the
// agent faces whatever reaches its port.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.h"
#include "mqb_limits.h"

namespace mqb::agent {

constexpr int kProtocolVersion = 1;
constexpr uint32_t kMaxFrameBytes = limits::kMaxAgentFrameBytes;

struct Op {
  const char* name;
  json::Value (*run)(const json::Value& req);
};

// Each ops file contributes its ops and, when it owns engines, a shutdown that stops them (run
// when the host goes away for good: end of stdin, SIGTERM).
struct OpArea {
  std::vector<Op> ops;
  void (*shutdown)() = nullptr;
};
OpArea system_ops();
OpArea server_ops();
OpArea load_ops();
OpArea copy_ops();

// Host mode (--host DIR): the agent runs on a real host, copied there over SSH into the private
// directory DIR (docs/hosts.md). The guest-only ops that could change that host beyond the
// benchmark are refused: exec (reboot, rm, any command) and writes outside DIR. `address` is the
// host's end of the SSH connection, where its servers listen.
struct HostMode {
  bool on = false;
  std::string dir;
  std::string address;
};
extern HostMode host_mode;

// Refuses an op in host mode, naming why; a no-op in a guest.
void refuse_in_host_mode(const std::string& what);

// A bad argument: the message names the field and what was wrong.
class BadArgument : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const json::Value* arg(const json::Value& req, const char* key);
std::string arg_string(const json::Value& req, const char* key, size_t max_len,
                       std::optional<std::string> fallback = std::nullopt);
uint64_t arg_uint(const json::Value& req, const char* key, uint64_t min, uint64_t max,
                  std::optional<uint64_t> fallback = std::nullopt);
bool arg_bool(const json::Value& req, const char* key, bool fallback);
std::vector<std::string> arg_strings(const json::Value& req, const char* key, size_t max_items,
                                     size_t max_len);
std::vector<int> arg_ints(const json::Value& req, const char* key, size_t max_items, int min, int max);

// base64 (RFC 4648, with padding) for file contents that are not UTF-8.
std::string base64_encode(const std::string& bytes);
std::string base64_decode(const std::string& text);  // throws BadArgument on bad input

}  // namespace mqb::agent
