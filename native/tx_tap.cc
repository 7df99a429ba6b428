#include "tx_tap.h"

#include <sys/uio.h>

#include "sys.h"

namespace mqb {
namespace {

class TapTx : public TxQueue {
 public:
  explicit TapTx(int fd) : fd_(fd) {}
  unsigned send(struct mmsghdr* msgs, unsigned n) override {
    for (unsigned i = 0; i < n; i++) {
      const msghdr& m = msgs[i].msg_hdr;
      if (writev(fd_, m.msg_iov, static_cast<int>(m.msg_iovlen)) < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return i;
        // EIO: the tap is down (tun refuses writes while !IFF_UP).
        if (errno == EIO)
          throw SysError("write to tap queue fd " + std::to_string(fd_) + " (is the tap up?)", ENETDOWN);
        throw SysError("write to tap queue fd " + std::to_string(fd_), errno);
      }
    }
    return n;
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<TxQueue> open_tap_tx(int fd) {
  return std::make_unique<TapTx>(fd);
}

}  // namespace mqb
