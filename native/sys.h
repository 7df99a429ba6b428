// System-call error handling shared by every engine: an engine throws SysError with the
// call and its errno text; the N-API layer turns it into a JS Error carrying the number as
// `.errno` (negative, as on node's own errors), and src/native.ts names it (`.code`, EPERM,
// ENODEV, ...) with util.getSystemErrorName, so that TypeScript can map it to a message a person
// can act on.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mqb {

class SysError : public std::runtime_error {
 public:
  SysError(const std::string& what, int err)
      : std::runtime_error(what + ": " + std::strerror(err)), err_(err) {}
  int err() const { return err_; }

 private:
  int err_;
};

// Throws SysError(what, errno) when rc < 0; returns rc otherwise.
inline long check(long rc, const std::string& what) {
  if (rc < 0) throw SysError(what, errno);
  return rc;
}

// Owns one file descriptor and closes it when it goes out of scope, unless release() hands it on.
// Movable, so an fd can be made in one place and kept by an object or a vector elsewhere.
struct FdGuard {
  int fd = -1;
  FdGuard() = default;
  explicit FdGuard(int f) : fd(f) {}
  FdGuard(FdGuard&& o) noexcept : fd(o.release()) {}
  FdGuard& operator=(FdGuard&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() { reset(); }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
  void reset(int f = -1) {
    if (fd >= 0) ::close(fd);
    fd = f;
  }
};

}  // namespace mqb
