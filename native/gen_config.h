// The generator's configuration, read by one parser from either of two readers: the addon's
// N-API options object (native/addon_gen.cc, src/native.ts NativeGenOptions) and the guest agent's
// JSON request (native/agent/ops_load.cc, gen_start). The names, the defaults and the bounds
// (native/mqb_limits.h) are written here once; the readers only know their own value types.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gen.h"

namespace mqb {

// One options object. A missing (or null) key gives the default, and a required key without one
// throws; a value of the wrong type or out of range throws std::invalid_argument naming the key.
class OptionReader {
 public:
  virtual ~OptionReader() = default;
  virtual bool present(const char* key) const = 0;
  virtual bool boolean(const char* key, bool def) const = 0;
  virtual std::string text(const char* key, size_t max_len, std::optional<std::string> def) const = 0;
  // An integer in min..max.
  virtual uint64_t integer(const char* key, uint64_t min, uint64_t max,
                           std::optional<uint64_t> def) const = 0;
  // Any number in min..max.
  virtual double number(const char* key, double min, double max, double def) const = 0;
  // A list of exactly n integers 0..255.
  virtual void bytes(const char* key, uint8_t* out, size_t n) const = 0;
  // A list of 1..max_items objects.
  virtual std::vector<std::unique_ptr<OptionReader>> objects(const char* key, size_t max_items) const = 0;
};

// The host may drive a tap, AF_XDP or a namespace and keep frames for a pcap, and may leave the
// duration to the counts; the guest's agent sends on its own device for a bounded time.
enum class GenSide { host, guest };

// The agent's longest run, an hour (docs/agent.md, gen_start).
constexpr uint64_t kMaxGuestGenDurationMs = 3600000;

// The frame fields (MACs, addresses, port, size) of a generator's or one frame's options.
void read_frame_spec(const OptionReader& r, FrameSpec& spec);
XdpMode read_xdp_mode(const OptionReader& r);
GenConfig read_gen_config(const OptionReader& r, GenSide side);

}  // namespace mqb
