// ethtool channels through the SIOCETHTOOL ioctl (ETHTOOL_GCHANNELS / ETHTOOL_SCHANNELS), the
// calls `ethtool -l` / `ethtool -L` make. A tap answers GCHANNELS only with its live queue
// count and rejects SCHANNELS (EOPNOTSUPP): its count changes with TUNSETQUEUE instead.
#pragma once
#include <cstdint>
#include <string>

namespace mqb {

struct Channels {
  uint32_t max_rx = 0, max_tx = 0, max_other = 0, max_combined = 0;
  uint32_t rx = 0, tx = 0, other = 0, combined = 0;
};

Channels ethtool_get_channels(const std::string& dev, const std::string& netns = "");
// Fields < 0 are left as they are.
void ethtool_set_channels(const std::string& dev, long rx, long tx, long combined,
                          const std::string& netns = "");

}  // namespace mqb
