#include "engine.h"

#include "sys.h"

namespace mqb {

Engine::~Engine() {
  stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void Engine::start() {
  launch(threads_);
}

void Engine::join() {
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
      if (auto* se = dynamic_cast<const SysError*>(&e)) err_code_ = se->code();
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

std::string Engine::error_code() const {
  std::lock_guard<std::mutex> lock(err_mu_);
  return err_code_;
}

}  // namespace mqb
