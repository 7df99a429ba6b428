// The life cycle every data-path engine shares (senders, receivers, relay, session client and
// server): start threads, run until stopped or done, join. Workers report a fatal error through
// fail(); the first one wins and stops the whole engine, so a crashed worker never leaves the
// others running. No N-API type here: addon_*.cc wrap engines for JavaScript.
#pragma once
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mqb {

class Engine {
 public:
  virtual ~Engine();
  void start();
  void stop() {
    stop_.store(true, std::memory_order_relaxed);
    interrupt();
  }
  // Waits for every thread; safe to call from two threads at once (a handle's finalizer at exit
  // while a wait() still joins on the libuv pool): the second waits for the first.
  void join();
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }
  bool finished() const { return finished_.load(); }
  bool failed() const;
  std::string error_message() const;
  int error_errno() const;  // the errno of a system error (SysError), 0 for any other error

 protected:
  // Starts the workers; called once by start(). Each worker should wrap its body in run_guarded.
  virtual void launch(std::vector<std::thread>& threads) = 0;
  // Called by stop() after the flag is set: wakes workers blocked in a call with no timeout of its own.
  virtual void interrupt() {}
  template <class F>
  void run_guarded(F&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      fail(e);
    }
  }
  void fail(const std::exception& e);
  std::atomic<bool> stop_{false};

 private:
  std::vector<std::thread> threads_;
  std::mutex join_mu_;
  std::atomic<bool> finished_{false};
  mutable std::mutex err_mu_;
  std::string err_msg_;
  int err_errno_ = 0;
  bool failed_ = false;
};

}  // namespace mqb
