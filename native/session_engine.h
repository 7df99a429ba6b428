// The session engine shared by the client (mqbench rr/stream) and the server (one engine per
// test): flows x threads over epoll, as in neper, so that 1,000 sessions need no 1,000 threads.
// A workload is a table entry of facts and functions (open, event, tick, running) looked up once
// by name (workloads.cc) and handed to the engine; the loop below never branches on the workload.
// The workloads live in rr.cc and stream.cc, their shared socket steps in session_io.cc, the
// server's start-up in server.cc.
//
// Counting: every session has one stats slot, written only by its thread. A measurement window
// is opened with set_measuring() and closed by stop(); each thread snapshots its sessions'
// counters at the moment it sees either, so per-session figures and their sum cover exactly
// the same per-thread window. Latency is recorded only inside the window.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine.h"
#include "histogram.h"
#include "session_limits.h"
#include "session_probe.h"
#include "stats.h"
#include "sys.h"

namespace mqb {

enum class Side { client, server };

struct SessionConfig {
  std::string netns;
  Side side = Side::client;
  sockaddr_storage addr{};  // client: the server's data address; server: the bind address
  socklen_t addr_len = 0;
  sockaddr_storage peer{};  // server: the only address data may come from (the control peer)
  int sessions = 1;
  int threads = 1;
  std::vector<int> cpus;  // thread i runs on cpus[i % size]; empty: unpinned
  uint32_t request_size = 1, response_size = 1, burst = 1, message_size = 16384;
  std::vector<uint8_t> sends;  // per session: 1 when this side sends (stream)
  uint32_t cookie = 0;
  // How often each thread samples its sessions' sockets (session_probe.h); 0: never, and no
  // sample at the end either (the with/without switch of bench/attribution.sh).
  uint64_t sample_ns = 0;
};

// The 8 bytes a client writes first on every TCP data connection (not on TCP_CRR's, where a
// connection is one transaction): the test's cookie and the session index, so the server can
// refuse strangers and account per session. UDP_STREAM datagrams start with the same header.
struct SessionHello {
  uint32_t cookie;
  uint32_t session;
};

struct alignas(64) SessionStats {
  Counter ops;        // transactions (rr) or bytes (stream)
  Counter datagrams;  // UDP datagrams sent or received
  Counter errors;
  Counter connected;  // 1 once the session's connection is up (client)
  // Written by the owning thread, read after join.
  uint64_t window_start_ops = 0, window_end_ops = 0;
  uint64_t max_gap_ns = 0, last_progress_ns = 0;
  uint64_t retransmits = 0;
  bool dead = false;
  SessionProbe probe;
  std::unique_ptr<LatencyHistogram> hist;
};

class SessionEngine;
struct Worker;

// One connection (or UDP socket) on one thread. The engine's epoll data points at it.
struct Conn {
  int fd = -1;
  int session = -1;  // -1 until known (server: after the hello)
  int state = 0;     // workload-specific
  bool listener = false;
  bool wake = false;  // the worker's hand-off eventfd
  bool want_out = false;
  bool blocking = false;   // made blocking (with short timeouts) for solo mode
  uint64_t in_bytes = 0;   // bytes received towards the current response/request
  uint64_t out_bytes = 0;  // bytes still to write
  uint32_t hello_off = 0;  // hello bytes written (client) or read (server)
  SessionHello hello{};
  uint64_t started_ns = 0;  // TCP_CRR: when the current connection began
  uint64_t idle_since_ns = 0;
  // In-flight transaction start times, a ring of `burst` slots allocated at setup.
  std::vector<uint64_t> sent_ns;
  uint32_t head = 0, inflight = 0;
  Conn* next_free = nullptr;
};

// A workload's facts and functions, one table entry per workload and side (rr.cc, stream.cc), written
// with designated initializers as neper's neper_fn. The engine reads facts from here and never
// compares workload names or looks at a connection's workload-private state.
struct Workload {
  const char* name;
  int socktype;          // SOCK_STREAM or SOCK_DGRAM: the server's listening sockets
  bool records_latency;  // every session keeps a latency histogram (client side of the rr workloads)
  // Messages carry the session header, so they cannot be shorter (udp_stream); 0: no minimum.
  uint32_t min_message_size;
  // client: open session `s`'s connection on worker w. server: nullptr (accept makes connections).
  void (*open)(SessionEngine& e, Worker& w, Conn& c);
  void (*event)(SessionEngine& e, Worker& w, Conn& c, uint32_t events);
  // Called every loop turn (at most every few ms) for each client session: UDP timeouts.
  void (*tick)(SessionEngine& e, Worker& w, Conn& c, uint64_t now);
  // client: the session can run alone in solo mode now (up and between transactions); needed with solo.
  bool (*running)(const Conn& c);
  // Solo mode (see SessionEngine::solo_conn): one turn of a thread whose only work is `c`, on
  // blocking calls instead of epoll; false sends `c` back to epoll. solo_event (event() on a blocking
  // socket), solo_accept, or the workload's own; nullptr: no solo mode.
  bool (*solo)(SessionEngine& e, Worker& w, Conn& c);
  // server: what blocks in solo mode is the worker's listener (UDP datagrams, TCP_CRR accepts), not
  // an accepted connection.
  bool solo_on_listener;
  // server, when a connection is one transaction and the client speaks first (TCP_CRR): each accepted
  // connection is handed to accepted() before epoll sees it; true when it finished and closed it.
  // The listeners of such a workload get TCP_DEFER_ACCEPT, so accept() returns with the request there.
  bool (*accepted)(SessionEngine& e, Worker& w, Conn& c);
  // server, UDP_RR: every datagram that can wait in a listener at once is a request in flight
  // (sessions x burst), so the listeners get a receive buffer that holds them all (the client sizes
  // each session's socket for its burst of responses). Not a stream's: its loss is what it measures.
  bool holds_inflight = false;
};

// Solo-mode turns the table entries share: the workload's event() on a blocking socket (it does one
// receive and then its sends), and one blocking accept() handed to the workload's accepted().
bool solo_event(SessionEngine& e, Worker& w, Conn& c);
bool solo_accept(SessionEngine& e, Worker& w, Conn& listener);

// The workload table: the entry for `name` on `side`, or nullptr (workloads.cc).
const Workload* find_workload(const std::string& name, Side side);

struct Worker {
  int index = 0;
  int cpu = -1;
  FdGuard epfd;
  std::vector<Conn*> conns;   // client: one per session; server: listeners
  std::vector<Conn*> active;  // server: accepted connections still open
  std::vector<std::unique_ptr<Conn>> owned;
  Conn* free_list = nullptr;  // server: pooled connections
  std::vector<int> sessions;  // session indexes this worker owns (client)
  std::vector<char> buf;      // receive / send scratch, allocated at setup
  // Server: connections other workers accepted for this worker's sessions (see settle()).
  FdGuard wakefd;
  Conn wake_conn;
  std::mutex handoff_mu;
  std::vector<Conn*> handoff, handoff_scratch;
  // The socket a solo transaction blocks on without a timeout (TCP_CRR's connect and recv), so that
  // stop() can shut it down; -1 when none. Written by the worker and read by stop(), under solo_mu.
  std::mutex solo_mu;
  int solo_fd = -1;
  bool window_open = false;
  uint64_t window_start_ns = 0, window_end_ns = 0;
  uint64_t next_sample_ns = 0;
};

class SessionEngine : public Engine {
 public:
  SessionEngine(SessionConfig cfg, const Workload& workload);
  ~SessionEngine() override;
  // Closes every connection and listener; called once the threads have ended, so that a finished
  // test's thousands of sockets go at once rather than whenever its handle is collected.
  void close_sockets();

  const SessionConfig& config() const { return cfg_; }
  const Workload& workload() const { return wl_; }
  SessionStats& stats(int session) { return *stats_[session]; }
  int session_count() const { return static_cast<int>(stats_.size()); }
  // The server's data port (known after listen(), before start()).
  int port() const { return port_; }
  // Client of a TCP workload: where its persistent connections take their local ports.
  LocalPorts* local_ports() { return ports_.get(); }

  // Server: creates the per-thread listening sockets (SO_REUSEPORT) in the config's namespace.
  // Called on the calling thread, which must be in that namespace.
  void listen_sockets();

  void set_measuring() { measuring_.store(true, std::memory_order_relaxed); }
  uint64_t connected_count() const;
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }

  // Helpers for workloads.
  void watch(Worker& w, Conn& c, uint32_t events, bool add);
  // A blocking socket for a solo transaction, published so that stop() can shut it down (a blocking
  // connect or recv has no timeout of its own); -1 when the engine is stopping. close_conn() closes it.
  int solo_socket(Worker& w, int type);
  // Puts a connection that accepted() finished back in the worker's pool.
  void recycle(Worker& w, Conn& c);
  void set_want_out(Worker& w, Conn& c, bool want);
  void close_conn(Worker& w, Conn& c, bool reset);
  Conn* pooled_conn(Worker& w);
  void release_conn(Worker& w, Conn& c);
  // A session finished a unit of work (a transaction, or `n` bytes); records latency when the
  // window is open.
  void progress(Worker& w, int session, uint64_t n, uint64_t now, uint64_t started_ns);
  void session_failed(Worker& w, Conn& c);
  // Server: a connection's hello named its session. Hands the connection to the session's worker
  // (session % threads) unless `w` is that worker, and marks the session connected. The caller
  // must not touch `c` afterwards.
  void settle(Worker& w, Conn& c);
  bool peer_allowed(const sockaddr* sa) const;
  bool window_open(const Worker& w) const { return w.window_open; }

 protected:
  void launch(std::vector<std::thread>& threads) override;
  void interrupt() override;

 private:
  void run_worker(Worker& w);
  Conn* solo_conn(Worker& w);
  void adopt_handoffs(Worker& w);
  void open_window(Worker& w, uint64_t now);
  void close_window(Worker& w, uint64_t now);
  // Samples every open session socket of the worker (SessionProbe) once `now` reaches its next
  // sample time, or at once with `force` (the end of the run).
  void sample(Worker& w, uint64_t now, bool force);

  SessionConfig cfg_;
  const Workload& wl_;
  std::vector<std::unique_ptr<SessionStats>> stats_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> measuring_{false};
  int port_ = 0;
  std::unique_ptr<LocalPorts> ports_;
};

// Shared socket helpers (session_engine.cc).
int make_socket(int family, int type);
void set_nodelay(int fd);
// Grows fd's receive buffer to hold `datagrams` of `size` bytes at once, never shrinking it:
// SO_RCVBUFFORCE where the process may (CAP_NET_ADMIN), else SO_RCVBUF up to net.core.rmem_max.
void hold_datagrams(int fd, uint64_t datagrams, uint32_t size);
bool parse_address(const std::string& host, int port, sockaddr_storage& out, socklen_t& len);

}  // namespace mqb
