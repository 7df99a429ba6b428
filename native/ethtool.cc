#include "ethtool.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

static void channels_ioctl(const std::string& dev, struct ethtool_channels* ch, const char* what) {
  if (dev.empty() || dev.size() >= IFNAMSIZ) throw std::runtime_error("bad interface name '" + dev + "'");
  FdGuard s{static_cast<int>(check(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket"))};
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(ch);
  check(ioctl(s.fd, SIOCETHTOOL, &ifr), std::string(what) + " on " + dev);
}

Channels ethtool_get_channels(const std::string& dev, const std::string& netns) {
  Channels c;
  in_netns(netns, [&] {
    struct ethtool_channels ch;
    std::memset(&ch, 0, sizeof(ch));
    ch.cmd = ETHTOOL_GCHANNELS;
    channels_ioctl(dev, &ch, "ETHTOOL_GCHANNELS");
    c.max_rx = ch.max_rx;
    c.max_tx = ch.max_tx;
    c.max_other = ch.max_other;
    c.max_combined = ch.max_combined;
    c.rx = ch.rx_count;
    c.tx = ch.tx_count;
    c.other = ch.other_count;
    c.combined = ch.combined_count;
  });
  return c;
}

void ethtool_set_channels(const std::string& dev, long rx, long tx, long combined, const std::string& netns) {
  in_netns(netns, [&] {
    struct ethtool_channels ch;
    std::memset(&ch, 0, sizeof(ch));
    ch.cmd = ETHTOOL_GCHANNELS;
    channels_ioctl(dev, &ch, "ETHTOOL_GCHANNELS");
    ch.cmd = ETHTOOL_SCHANNELS;
    if (rx >= 0) ch.rx_count = rx;
    if (tx >= 0) ch.tx_count = tx;
    if (combined >= 0) ch.combined_count = combined;
    channels_ioctl(dev, &ch, "ETHTOOL_SCHANNELS");
  });
}

}  // namespace mqb
