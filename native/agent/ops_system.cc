// The agent's system ops: who it is (hello), channel counts (ethtool), files (/proc, sysfs, the
// XPS/RPS/IRQ-affinity knobs `tune` writes) and running a command (busybox ip, reboot, ...).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "agent.h"
#include "copy.h"
#include "ethtool.h"
#include "sys.h"

extern char** environ;

namespace mqb::agent {
namespace {

constexpr size_t kMaxPath = 4096;
constexpr uint64_t kMaxReadBytes = 512 * 1024;
constexpr uint64_t kDefaultReadBytes = 256 * 1024;
constexpr size_t kMaxDirEntries = 4096;
constexpr size_t kMaxExecOutput = 128 * 1024;  // per stream; the rest is read and dropped
constexpr uint64_t kMaxExecMs = 600000;

// FNV-1a over the agent's own binary: the host compares it with the file it put into the
// initramfs, so a stale cached initramfs shows at the first hello.
std::string build_id() {
  static std::once_flag once;
  static std::string id;
  std::call_once(once, [] {
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    // copy.h's FNV-1a (the offset basis here lacked its last digit before, so no host could check it)
    uint64_t h = kFnvOffset;
    uint8_t buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) h = fnv1a64(h, buf, static_cast<size_t>(n));
    close(fd);
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
    id = hex;
  });
  return id;
}

json::Value hello(const json::Value&) {
  utsname u{};
  uname(&u);
  json::Value r = json::Value::object();
  r.set("agent", "mqbench-agent");
  r.set("version", MQB_VERSION);
  r.set("protocol", kProtocolVersion);
  r.set("kernel", std::string(u.release));
  r.set("cpus", sysconf(_SC_NPROCESSORS_ONLN));
  r.set("build", build_id());
  r.set("pid", static_cast<long>(getpid()));
  json::Value ops = json::Value::array();
  for (OpArea a : {system_ops(), server_ops(), load_ops(), copy_ops()})
    for (const Op& op : a.ops) ops.push(op.name);
  r.set("ops", std::move(ops));
  r.set("mode", host_mode.on ? "host" : "guest");
  if (host_mode.on) {
    r.set("dir", host_mode.dir);
    r.set("address", host_mode.address);
  }
  return r;
}

json::Value channels_json(const Channels& c) {
  json::Value r = json::Value::object();
  r.set("maxRx", c.max_rx);
  r.set("maxTx", c.max_tx);
  r.set("maxOther", c.max_other);
  r.set("maxCombined", c.max_combined);
  r.set("rx", c.rx);
  r.set("tx", c.tx);
  r.set("other", c.other);
  r.set("combined", c.combined);
  return r;
}

json::Value channels_get(const json::Value& req) {
  return channels_json(ethtool_get_channels(arg_string(req, "dev", 15)));
}

// Fields left out stay as they are; the result is the count read back after the change.
json::Value channels_set(const json::Value& req) {
  std::string dev = arg_string(req, "dev", 15);
  auto field = [&](const char* key) -> long {
    return arg(req, key) ? static_cast<long>(arg_uint(req, key, 0, 4096)) : -1;
  };
  long combined = field("combined"), rx = field("rx"), tx = field("tx");
  if (combined < 0 && rx < 0 && tx < 0) throw BadArgument("give combined, rx or tx");
  ethtool_set_channels(dev, rx, tx, combined);
  return channels_json(ethtool_get_channels(dev));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

json::Value read_file(const json::Value& req) {
  std::string path = arg_string(req, "path", kMaxPath);
  uint64_t max = arg_uint(req, "maxBytes", 1, kMaxReadBytes, kDefaultReadBytes);
  Fd f{static_cast<int>(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY))};
  if (f.fd < 0) throw SysError("cannot open " + path, errno);
  // /proc and sysfs report size 0: read until EOF, one byte past the limit to tell truncation.
  std::string data(max + 1, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = read(f.fd, &data[got], data.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("cannot read " + path, errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bool truncated = got > max;
  data.resize(std::min<size_t>(got, max));
  json::Value r = json::Value::object();
  r.set("bytes", data.size());
  r.set("truncated", truncated);
  if (json::valid_utf8(data)) {
    r.set("encoding", "utf8");
    r.set("data", std::move(data));
  } else {
    r.set("encoding", "base64");
    r.set("data", base64_encode(data));
  }
  return r;
}

// One write() for the whole content where the file takes it: sysfs attributes (XPS/RPS masks,
// smp_affinity) act on each write call, so splitting one value would set a fragment of it.
json::Value write_file(const json::Value& req) {
  std::string path = arg_string(req, "path", kMaxPath);
  std::string data = arg_string(req, "data", 1u << 20);
  std::string enc = arg_string(req, "encoding", 8, std::string("utf8"));
  if (enc == "base64")
    data = base64_decode(data);
  else if (enc != "utf8")
    throw BadArgument("encoding must be utf8 or base64");
  bool append = arg_bool(req, "append", false);
  int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  if (host_mode.on) {
    // Only a plain name directly in the agent's own directory, never through a symlink.
    std::string prefix = host_mode.dir + "/";
    std::string name = path.compare(0, prefix.size(), prefix) == 0 ? path.substr(prefix.size()) : "";
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      refuse_in_host_mode("writing " + path + " (outside " + host_mode.dir + ")");
    flags |= O_NOFOLLOW;
  }
  Fd f{static_cast<int>(open(path.c_str(), flags, 0644))};
  if (f.fd < 0) throw SysError("cannot open " + path + " for writing", errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(f.fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("cannot write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  json::Value r = json::Value::object();
  r.set("bytes", done);
  return r;
}

const char* type_name(unsigned char t) {
  switch (t) {
    case DT_REG:
      return "file";
    case DT_DIR:
      return "dir";
    case DT_LNK:
      return "link";
    default:
      return "other";
  }
}

json::Value list_dir(const json::Value& req) {
  std::string path = arg_string(req, "path", kMaxPath);
  DIR* d = opendir(path.c_str());
  if (!d) throw SysError("cannot list " + path, errno);
  std::vector<std::pair<std::string, std::string>> entries;
  bool truncated = false;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (entries.size() >= kMaxDirEntries) {
      truncated = true;
      break;
    }
    unsigned char t = e->d_type;
    if (t == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        t = S_ISREG(st.st_mode)   ? DT_REG
            : S_ISDIR(st.st_mode) ? DT_DIR
            : S_ISLNK(st.st_mode) ? DT_LNK
                                  : DT_UNKNOWN;
    }
    entries.emplace_back(json::sanitize_utf8(name), type_name(t));
  }
  closedir(d);
  std::sort(entries.begin(), entries.end());
  json::Value list = json::Value::array();
  for (auto& [name, type] : entries) {
    json::Value e = json::Value::object();
    e.set("name", name);
    e.set("type", type);
    list.push(std::move(e));
  }
  json::Value r = json::Value::object();
  r.set("entries", std::move(list));
  r.set("truncated", truncated);
  return r;
}

// Process groups of running commands, killed when the agent stops.
std::mutex children_mu;
std::set<pid_t> children;

struct Output {
  int fd;
  std::string data;
  bool truncated = false;
  bool open = true;
};

json::Value exec(const json::Value& req) {
  std::vector<std::string> argv = arg_strings(req, "argv", 256, 4096);
  if (argv.empty()) throw BadArgument("argv must name a program");
  refuse_in_host_mode("exec of " + argv[0]);
  uint64_t timeout_ms = arg_uint(req, "timeoutMs", 1, kMaxExecMs, 10000);
  int out[2], err[2];
  check(pipe2(out, O_CLOEXEC), "pipe2");
  if (pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    throw SysError("pipe2", e);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group (a timeout kills the command's children too), default signals (the
  // agent ignores SIGPIPE) and an empty mask (the agent blocks SIGTERM for its signal thread).
  sigset_t none, dflt;
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  sigaddset(&dflt, SIGTERM);
  sigaddset(&dflt, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dflt);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc;
  {
    std::lock_guard<std::mutex> lock(children_mu);
    rc = posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
    if (rc == 0) children.insert(pid);
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    throw SysError("cannot run " + argv[0], rc);
  }
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  Output outs[2] = {{out[0], {}}, {err[0], {}}};
  bool timed_out = false;
  char buf[16384];
  while (outs[0].open || outs[1].open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p[2];
    int np = 0;
    Output* who[2];
    for (auto& o : outs)
      if (o.open) {
        p[np] = {o.fd, POLLIN, 0};
        who[np++] = &o;
      }
    int n = poll(p, np, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < np && n > 0; i++) {
      if (!p[i].revents) continue;
      ssize_t r = read(p[i].fd, buf, sizeof(buf));
      if (r > 0) {
        Output& o = *who[i];
        size_t keep =
            std::min(static_cast<size_t>(r), kMaxExecOutput - std::min(kMaxExecOutput, o.data.size()));
        o.data.append(buf, keep);
        if (keep < static_cast<size_t>(r)) o.truncated = true;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        who[i]->open = false;
      }
    }
  }
  close(out[0]);
  close(err[0]);
  // Both pipes closed: the command is ending. It may still run with its output closed, so wait
  // for it up to the same deadline.
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (timed_out || clock::now() >= deadline) {
      timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (timed_out) kill(-pid, SIGKILL);  // what the command left behind in its group
  {
    std::lock_guard<std::mutex> lock(children_mu);
    children.erase(pid);
  }
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  json::Value r = json::Value::object();
  r.set("status", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + sig);
  r.set("signal", sig);
  r.set("timedOut", timed_out);
  r.set("stdout", json::sanitize_utf8(outs[0].data));
  r.set("stderr", json::sanitize_utf8(outs[1].data));
  r.set("truncated", outs[0].truncated || outs[1].truncated);
  return r;
}

void kill_children() {
  std::lock_guard<std::mutex> lock(children_mu);
  for (pid_t pid : children) kill(-pid, SIGKILL);
}

}  // namespace

OpArea system_ops() {
  return {{{"hello", hello},
           {"channels_get", channels_get},
           {"channels_set", channels_set},
           {"read_file", read_file},
           {"write_file", write_file},
           {"list_dir", list_dir},
           {"exec", exec}},
          kill_children};
}

}  // namespace mqb::agent
