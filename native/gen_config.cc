#include "gen_config.h"

#include <stdexcept>

#include "mqb_limits.h"

namespace mqb {

void read_frame_spec(const OptionReader& r, FrameSpec& spec) {
  spec.ipv6 = r.boolean("ipv6", false);
  r.bytes("srcMac", spec.src_mac, 6);
  r.bytes("dstMac", spec.dst_mac, 6);
  r.bytes("srcIp", spec.src_ip, spec.ipv6 ? 16 : 4);
  r.bytes("dstIp", spec.dst_ip, spec.ipv6 ? 16 : 4);
  spec.dst_port = static_cast<uint16_t>(r.integer("dstPort", 1, 65535, 9));
  spec.frame_size = static_cast<uint32_t>(r.integer("frameSize", 1, limits::kMaxFrameBytes, 60));
}

XdpMode read_xdp_mode(const OptionReader& r) {
  const std::string m = r.text("xdpMode", 16, std::string("auto"));
  if (m == "auto") return XdpMode::automatic;
  if (m == "zerocopy") return XdpMode::zerocopy;
  if (m == "copy") return XdpMode::copy;
  throw std::invalid_argument("xdpMode must be auto, zerocopy or copy");
}

GenConfig read_gen_config(const OptionReader& r, GenSide side) {
  const bool host = side == GenSide::host;
  GenConfig c;
  if (host) {
    c.tap = r.boolean("tap", false);
    c.xdp = r.boolean("xdp", false);
    c.xdp_mode = read_xdp_mode(r);
    c.netns = r.text("netns", 255, std::string());
    c.capture_per_queue = static_cast<unsigned>(r.integer("capturePerQueue", 0, 1u << 20, 0));
  }
  // IFNAMSIZ - 1; on the host a tap generator names no device.
  c.dev = r.text("dev", 15, host ? std::optional<std::string>("") : std::nullopt);
  c.qdisc_bypass = r.boolean("qdiscBypass", true);
  c.tx_ring = r.boolean("txRing", false);
  read_frame_spec(r, c.spec);
  c.flows_per_queue = static_cast<unsigned>(r.integer("flowsPerQueue", 1, limits::kMaxFlowsPerQueue, 1));
  c.burst = static_cast<unsigned>(r.integer("burst", 1, limits::kMaxGenBurst, 32));
  // The agent bounds every run it starts itself; the host's plans always give one.
  c.duration_ns = host ? static_cast<uint64_t>(r.number("durationMs", 0, 1e12, 0) * 1e6)
                       : r.integer("durationMs", 1, kMaxGuestGenDurationMs, std::nullopt) * 1000000;
  for (const auto& q : r.objects("queues", limits::kMaxQueues)) {
    GenQueueConfig qc;
    // -1: not pinned
    qc.cpu = q->present("cpu") && q->number("cpu", -1, limits::kMaxCpu, -1) != -1
                 ? static_cast<int>(q->integer("cpu", 0, limits::kMaxCpu, std::nullopt))
                 : -1;
    qc.rate_pps = q->number("ratePps", 0, 1e9, 0);  // 0: as fast as the device takes them
    qc.count = q->integer("count", 0, 1ull << 53, 0);
    qc.src_port = static_cast<uint16_t>(q->integer("srcPort", 1, 65535, 9));
    if (host) qc.tap_fd = static_cast<int>(q->number("tapFd", -1, 1 << 30, -1));
    c.queues.push_back(qc);
  }
  return c;
}

}  // namespace mqb
