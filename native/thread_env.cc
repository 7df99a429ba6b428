#include "thread_env.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <exception>
#include <thread>

#include "sys.h"

namespace mqb {

void pin_current_thread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) throw SysError("cannot pin thread to CPU " + std::to_string(cpu), rc);
}

void enter_netns(const std::string& name) {
  if (name.empty()) return;
  std::string path = "/run/netns/" + name;
  FdGuard fd{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw SysError("cannot open network namespace " + name, errno);
  if (setns(fd.fd, CLONE_NEWNET) < 0) throw SysError("cannot enter network namespace " + name, errno);
}

void in_netns(const std::string& netns, const std::function<void()>& fn) {
  if (netns.empty()) return fn();
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

unsigned long long now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

}  // namespace mqb
