#include "filelock.h"

#include <sys/file.h>

#include <cerrno>

#include "sys.h"

namespace mqb {

bool file_try_lock(int fd) {
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) throw SysError("flock", errno);
  }
}

void file_unlock(int fd) {
  check(flock(fd, LOCK_UN), "flock(LOCK_UN)");
}

}  // namespace mqb
