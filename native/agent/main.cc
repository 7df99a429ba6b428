// mqbench-agent: the guest side of the vm testbed (docs/agent.md). Reads length-prefixed JSON
// requests from a virtio-serial port (or stdin/stdout with --stdio, for host-side tests), runs
// each on its own thread and writes the responses, possibly out of order, under one lock.
// Static, no Node: the guest has only busybox and this binary.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "agent.h"
#include "sys.h"

namespace mqb::agent {

HostMode host_mode;

void refuse_in_host_mode(const std::string& what) {
  if (host_mode.on)
    throw SysError(what + " is refused in host mode: this agent runs on a real host, not in a guest", EPERM);
}

namespace {

constexpr const char* kPortName = "org.mqbench.agent";
// Requests running at once; more are answered "busy" (exec and server ops may take seconds).
constexpr int kMaxRunning = 32;
// Answered requests kept for a host that retries after a lost frame.
constexpr size_t kCacheEntries = 256;
constexpr size_t kCacheBytes = 8u << 20;
constexpr uint64_t kMaxId = (1ull << 53) - 1;

void log_line(const std::string& s) {
  std::string line = "mqbench-agent: " + s + "\n";
  ssize_t rc = write(2, line.data(), line.size());
  (void)rc;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

json::Value error_response(uint64_t id, const std::string& message, int err) {
  json::Value r = json::Value::object();
  r.set("v", kProtocolVersion);
  r.set("id", id);
  r.set("ok", false);
  r.set("error", message);
  r.set("errno", err);
  return r;
}

class Dispatcher {
  using Key = std::pair<uint64_t, uint64_t>;  // request id, FNV-1a of the frame's bytes

 public:
  Dispatcher() {
    for (OpArea a : {system_ops(), server_ops(), load_ops(), copy_ops()}) {
      for (const Op& op : a.ops) ops_.push_back(op);
      if (a.shutdown) shutdowns_.push_back(a.shutdown);
    }
  }

  void set_output(int fd) {
    std::lock_guard<std::mutex> lock(out_mu_);
    out_fd_ = fd;
  }

  // One whole frame's bytes, as read. Never throws.
  void on_frame(std::string frame) {
    // A retry repeats the request byte for byte; a new client that starts its ids again at 1 does
    // not, so the cache matches the id and the bytes together and never answers a new request
    // with an old answer.
    uint64_t digest = 1469598103934665603ull;
    for (unsigned char c : frame) digest = (digest ^ c) * 1099511628211ull;
    json::Value req;
    try {
      req = json::parse(frame);
    } catch (const json::ParseError& e) {
      return send(error_response(0, std::string("not JSON: ") + e.what(), 0));
    }
    if (!req.is_object()) return send(error_response(0, "not a JSON object", 0));
    const json::Value* idv = req.get("id");
    if (!idv || !idv->is_integer() || idv->number() < 0 || idv->number() > static_cast<double>(kMaxId))
      return send(error_response(0, "id must be an unsigned integer", 0));
    uint64_t id = static_cast<uint64_t>(idv->number());
    const json::Value* v = req.get("v");
    if (!v || !v->is_number())
      return send(error_response(id, "v is missing (the agent speaks protocol 1)", 0));
    if (v->number() != kProtocolVersion)
      return send(error_response(
          id,
          "protocol version mismatch: the agent speaks " + std::to_string(kProtocolVersion) + ", the host " +
              json::number_text(v->number()) + "; boot the guest with this mqbench's agent",
          0));
    const json::Value* opv = req.get("op");
    if (!opv || !opv->is_string()) return send(error_response(id, "op is missing", 0));
    const Op* op = find(opv->str());
    if (!op)
      return send(error_response(id, "unknown op " + json::utf16_prefix(json::quote(opv->str()), 40), 0));
    {
      std::unique_lock<std::mutex> lock(mu_);
      Key key{id, digest};
      for (auto& c : cache_)
        if (c.first == key) {
          std::string again = c.second;
          lock.unlock();
          return send_body(again);
        }
      if (inflight_.count(key)) return;  // a retry of a request still running: its answer will come
      if (running_ >= kMaxRunning)
        return send(error_response(id, "busy: " + std::to_string(running_) + " requests are running", EBUSY));
      inflight_.insert(key);
      running_++;
    }
    std::thread([this, op, key = Key{id, digest}, req = std::move(req)] { run(*op, key, req); }).detach();
  }

  // Waits until every running request has answered.
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_ == 0; });
  }

  void shutdown() {
    for (auto f : shutdowns_) f();
  }

  void send(const json::Value& response) { send_body(json::write(response)); }

 private:
  const Op* find(const std::string& name) const {
    for (const Op& op : ops_)
      if (name == op.name) return &op;
    return nullptr;
  }

  void run(const Op& op, Key key, const json::Value& req) {
    uint64_t id = key.first;
    json::Value response;
    try {
      json::Value result = op.run(req);
      response = json::Value::object();
      response.set("v", kProtocolVersion);
      response.set("id", id);
      response.set("ok", true);
      response.set("result", std::move(result));
    } catch (const SysError& e) {
      response = error_response(id, e.what(), e.err());
    } catch (const std::exception& e) {
      response = error_response(id, e.what(), 0);
    }
    std::string body = json::write(response);
    if (body.size() > kMaxFrameBytes)
      body = json::write(error_response(
          id, "the response (" + std::to_string(body.size()) + " bytes) is longer than the frame limit",
          EMSGSIZE));
    {
      std::lock_guard<std::mutex> lock(mu_);
      cache_.emplace_back(key, body);
      cache_bytes_ += body.size();
      while (cache_.size() > kCacheEntries || cache_bytes_ > kCacheBytes) {
        cache_bytes_ -= cache_.front().second.size();
        cache_.pop_front();
      }
      inflight_.erase(key);
    }
    send_body(body);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_--;
    }
    cv_.notify_all();
  }

  void send_body(const std::string& body) {
    unsigned char head[4] = {
        static_cast<unsigned char>(body.size() >> 24), static_cast<unsigned char>(body.size() >> 16),
        static_cast<unsigned char>(body.size() >> 8), static_cast<unsigned char>(body.size())};
    std::lock_guard<std::mutex> lock(out_mu_);
    // A failed write loses this answer only: the host retries the id and gets it from the cache.
    if (!write_all(out_fd_, reinterpret_cast<char*>(head), 4) ||
        !write_all(out_fd_, body.data(), body.size()))
      log_line(std::string("cannot write a response: ") + std::strerror(errno));
  }

  std::vector<Op> ops_;
  std::vector<void (*)()> shutdowns_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<Key> inflight_;
  std::deque<std::pair<Key, std::string>> cache_;
  size_t cache_bytes_ = 0;
  int running_ = 0;
  std::mutex out_mu_;
  int out_fd_ = 1;
};

// Splits the byte stream into frames. A declared length over the limit is answered at once and
// its bytes are skipped as they arrive, so the stream stays in step without buffering them.
class FrameReader {
 public:
  explicit FrameReader(Dispatcher& d) : d_(d) {}
  void reset() {
    buf_.clear();
    skip_ = 0;
  }
  void push(const char* p, size_t n) {
    buf_.append(p, n);
    for (;;) {
      if (skip_ > 0) {
        size_t k = std::min<uint64_t>(skip_, buf_.size());
        buf_.erase(0, k);
        skip_ -= k;
        if (skip_ > 0) return;
      }
      if (buf_.size() < 4) return;
      const unsigned char* h = reinterpret_cast<const unsigned char*>(buf_.data());
      uint32_t len = uint32_t{h[0]} << 24 | uint32_t{h[1]} << 16 | uint32_t{h[2]} << 8 | h[3];
      if (len > kMaxFrameBytes) {
        d_.send(error_response(0,
                               "frame of " + std::to_string(len) + " bytes is longer than the limit of " +
                                   std::to_string(kMaxFrameBytes) + " bytes; skipped",
                               EMSGSIZE));
        buf_.erase(0, 4);
        skip_ = len;
        continue;
      }
      if (buf_.size() < 4 + size_t{len}) return;
      std::string frame = buf_.substr(4, len);
      buf_.erase(0, 4 + size_t{len});
      d_.on_frame(std::move(frame));
    }
  }

 private:
  Dispatcher& d_;
  std::string buf_;
  uint64_t skip_ = 0;
};

// The virtio-serial port named org.mqbench.agent: /sys/class/virtio-ports/vportNpM/name holds
// the name, /dev/vportNpM is the device (made from the sysfs dev numbers when no mdev made it).
std::string find_port() {
  DIR* d = opendir("/sys/class/virtio-ports");
  if (!d) return "";
  std::string found;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string base = std::string("/sys/class/virtio-ports/") + e->d_name;
    std::ifstream name(base + "/name");
    std::string n;
    std::getline(name, n);
    if (n != kPortName) continue;
    found = std::string("/dev/") + e->d_name;
    struct stat st;
    if (stat(found.c_str(), &st) != 0) {
      std::ifstream dev(base + "/dev");
      unsigned maj = 0, min = 0;
      char colon = 0;
      if (dev >> maj >> colon >> min && colon == ':')
        if (mknod(found.c_str(), S_IFCHR | 0600, makedev(maj, min)) != 0)
          log_line("cannot create " + found + ": " + std::strerror(errno));
    }
    break;
  }
  closedir(d);
  return found;
}

int open_port(const std::string& want) {
  for (int tries = 0;; tries++) {
    std::string path = want == "auto" ? find_port() : want;
    if (!path.empty()) {
      int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd >= 0) return fd;
      if (tries % 50 == 0) log_line("cannot open " + path + ": " + std::strerror(errno) + "; retrying");
    } else if (tries % 50 == 0) {
      log_line(std::string("no virtio-serial port named ") + kPortName + " yet (is virtio_console loaded?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// SIGTERM/SIGINT: stop the engines and children the agent runs, then exit.
void watch_signals(Dispatcher& d, sigset_t set) {
  std::thread([&d, set] {
    int sig = 0;
    sigwait(&set, &sig);
    log_line(std::string("stopping on ") + strsignal(sig));
    d.shutdown();
    _exit(0);
  }).detach();
}

int usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: mqbench-agent [--port auto|PATH] [--stdio [--host DIR [--address IP] [--idle MS]]]\n"
               "  --port auto  the virtio-serial port named %s (default)\n"
               "  --port PATH  that character device\n"
               "  --stdio      frames on stdin/stdout (host-side tests, SSH)\n"
               "  --host DIR   host mode: on a real host, copied into DIR; refuses exec and writes\n"
               "               outside DIR\n"
               "  --address IP the host's address its servers listen on (host mode)\n"
               "  --idle MS    stop when no request came for MS milliseconds (the host pings)\n",
               kPortName);
  return code;
}

}  // namespace
}  // namespace mqb::agent

int main(int argc, char** argv) {
  using namespace mqb::agent;
  bool stdio = false;
  std::string port = "auto";
  int idle_ms = -1;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--stdio") {
      stdio = true;
    } else if (a == "--port" && i + 1 < argc) {
      port = argv[++i];
    } else if (a == "--host" && i + 1 < argc) {
      host_mode.on = true;
      host_mode.dir = argv[++i];
    } else if (a == "--address" && i + 1 < argc) {
      host_mode.address = argv[++i];
    } else if (a == "--idle" && i + 1 < argc) {
      idle_ms = std::atoi(argv[++i]);
    } else if (a == "--version") {
      std::printf("mqbench-agent %s\n", MQB_VERSION);
      return 0;
    } else if (a == "--help" || a == "-h") {
      return usage(0);
    } else {
      std::fprintf(stderr, "mqbench-agent: unknown argument %s\n", a.c_str());
      return usage(2);
    }
  }
  if (host_mode.on && (!stdio || host_mode.dir.empty() || host_mode.dir[0] != '/')) {
    std::fprintf(stderr, "mqbench-agent: --host needs --stdio and an absolute directory\n");
    return usage(2);
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // every thread inherits it; one thread waits for them

  static Dispatcher d;
  watch_signals(d, set);
  FrameReader reader(d);
  int in = stdio ? 0 : open_port(port);
  d.set_output(stdio ? 1 : in);
  if (!stdio) log_line("listening on the virtio-serial port");
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    if (stdio && idle_ms > 0) {
      // Over SSH a host that vanished (its link deleted) never closes our stdin: the host pings,
      // and silence for idle_ms ends the agent as the end of its input would.
      pollfd p{in, POLLIN, 0};
      int r = poll(&p, 1, idle_ms);
      if (r == 0) {
        log_line("no request from the host for " + std::to_string(idle_ms) + " ms; stopping");
        break;
      }
      if (r < 0 && errno == EINTR) continue;
    }
    ssize_t n = read(in, chunk.data(), chunk.size());
    if (n > 0) {
      reader.push(chunk.data(), static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (stdio) break;
    // The host side is not connected (read gives 0 until it is): a frame cut by the disconnect
    // is dropped, and the next connection starts on a frame boundary.
    reader.reset();
    if (n < 0) {
      log_line(std::string("port read failed: ") + std::strerror(errno) + "; reopening");
      close(in);
      in = open_port(port);
      d.set_output(in);
    }
    pollfd p{in, POLLIN, 0};
    poll(&p, 1, 200);
    if (p.revents & POLLHUP) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  d.wait_idle();
  d.shutdown();
  return 0;
}
