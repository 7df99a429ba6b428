#include "engine.h"

#include "sys.h"

namespace mqb {

Engine::~Engine() {
  stop();
  join();
}

void Engine::start() {
  try {
    launch(threads_);
  } catch (...) {
    // Threads launched before the failure use the derived engine's members, which are gone by
    // the time ~Engine runs: stop and join them here.
    stop();
    join();
    throw;
  }
}

void Engine::join() {
  std::lock_guard<std::mutex> lock(join_mu_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  finished_.store(true);
}

void Engine::fail(const std::exception& e) {
  {
    std::lock_guard<std::mutex> lock(err_mu_);
    if (!failed_) {
      failed_ = true;
      err_msg_ = e.what();
      if (auto* se = dynamic_cast<const SysError*>(&e)) err_errno_ = se->err();
    }
  }
  stop();
}

bool Engine::failed() const {
  std::lock_guard<std::mutex> lock(err_mu_);
  return failed_;
}

std::string Engine::error_message() const {
  std::lock_guard<std::mutex> lock(err_mu_);
  return err_msg_;
}

int Engine::error_errno() const {
  std::lock_guard<std::mutex> lock(err_mu_);
  return err_errno_;
}

}  // namespace mqb
