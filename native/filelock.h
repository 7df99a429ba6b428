// Advisory whole-file locks (flock(2)) for files that one mqbench process at a time may write,
// such as a results file being resumed. The kernel drops the lock when its holder dies, however
// it dies, so a lock can never outlive its owner.
#pragma once

namespace mqb {

// Takes an exclusive lock on `fd` without waiting: true when taken, false when another open
// file description holds it. Any other failure throws SysError.
bool file_try_lock(int fd);

// Releases the lock held through `fd` (closing the fd releases it too).
void file_unlock(int fd);

}  // namespace mqb
