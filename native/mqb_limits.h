// The bounds the native engines and the guest agent enforce, in one place. The addon exports them
// (`limits()`, native/addon_limits.cc) and test/unit/limits.test.ts holds them against LIMITS in
// src/limits.ts, so neither side can move alone. Named mqb_limits.h because, with native/ on the
// include path, a limits.h would stand in for the C library's <limits.h>.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mqb::limits {

// Queues of one device, generator, receiver or tap: tun's MAX_TAP_QUEUES.
constexpr unsigned kMaxQueues = 256;
// UDP flows (source ports) per generator queue: the payload header's 16-bit flow id.
constexpr unsigned kMaxFlowsPerQueue = 65535;
// Frames per sendmmsg batch of one generator queue.
constexpr unsigned kMaxGenBurst = 1024;
// An Ethernet frame without FCS (jumbo).
constexpr size_t kMaxFrameBytes = 9000;
// One agent frame (docs/agent.md): the JSON after the 4-byte length.
constexpr uint32_t kMaxAgentFrameBytes = 1u << 20;
// CPU numbers a request may name.
constexpr unsigned kMaxCpu = 65535;

}  // namespace mqb::limits
