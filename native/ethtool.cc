#include "ethtool.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <thread>

#include "sys.h"
#include "thread_env.h"

namespace mqb {

// Runs fn in `netns` (on a short-lived thread, since setns is per-thread) or right here.
template <class F>
static void in_netns(const std::string& netns, F&& fn) {
  if (netns.empty()) {
    fn();
    return;
  }
  std::exception_ptr err;
  std::thread t([&] {
    try {
      enter_netns(netns);
      fn();
    } catch (...) {
      err = std::current_exception();
    }
  });
  t.join();
  if (err) std::rethrow_exception(err);
}

static void channels_ioctl(const std::string& dev, struct ethtool_channels* ch, const char* what) {
  if (dev.empty() || dev.size() >= IFNAMSIZ) throw std::runtime_error("bad interface name '" + dev + "'");
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw SysError("socket", errno);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(ch);
  int rc = ioctl(s, SIOCETHTOOL, &ifr);
  int err = errno;
  close(s);
  if (rc < 0) throw SysError(std::string(what) + " on " + dev, err);
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
