#include "session_probe.h"

#include <netinet/in.h>
#include <linux/tcp.h>  // glibc's struct tcp_info stops before tcpi_delivery_rate
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>

#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif

namespace mqb {
namespace {

constexpr uint8_t kEstablished = 1;  // TCP_ESTABLISHED, which <linux/tcp.h> leaves to <netinet/tcp.h>

void track_cpu(int32_t cpu, int32_t& first, int32_t& last, uint32_t& changes, uint64_t& seen,
               uint32_t& beyond) {
  if (cpu < 0) return;
  if (first < 0) first = cpu;
  if (last >= 0 && last != cpu) changes++;
  last = cpu;
  if (cpu < 64)
    seen |= uint64_t{1} << cpu;
  else
    beyond++;
}

void sample_tcp(int fd, SessionProbe& p) {
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  // A connection still in its handshake (or closing) has no rtt yet: its zeros are not samples.
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || ti.tcpi_state != kEstablished) return;
  p.tcp_samples++;
  p.total_retrans = ti.tcpi_total_retrans;
  p.rtt_last_us = ti.tcpi_rtt;
  p.rtt_min_us = std::min(p.rtt_min_us, ti.tcpi_rtt);
  p.rtt_max_us = std::max(p.rtt_max_us, ti.tcpi_rtt);
  p.rtt_sum_us += ti.tcpi_rtt;
  p.rttvar_last_us = ti.tcpi_rttvar;
  p.rttvar_max_us = std::max(p.rttvar_max_us, ti.tcpi_rttvar);
  p.cwnd_last = ti.tcpi_snd_cwnd;
  p.cwnd_min = std::min(p.cwnd_min, ti.tcpi_snd_cwnd);
  p.cwnd_max = std::max(p.cwnd_max, ti.tcpi_snd_cwnd);
  // tcpi_delivery_rate arrived with Linux 4.9; an older kernel returns a shorter struct.
  if (len > offsetof(tcp_info, tcpi_delivery_rate)) {
    p.delivery_rate_last = ti.tcpi_delivery_rate;
    p.delivery_rate_max = std::max<uint64_t>(p.delivery_rate_max, ti.tcpi_delivery_rate);
  }
}

}  // namespace

void probe_socket(int fd, bool tcp, SessionProbe& p) {
  int cpu = -1;
  socklen_t len = sizeof(cpu);
  // -1 until the socket has received something: nothing to attribute yet.
  if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) != 0) cpu = -1;
  unsigned napi = 0;
  len = sizeof(napi);
  if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &napi, &len) != 0) napi = 0;
  p.samples++;
  track_cpu(cpu, p.rx_cpu_first, p.rx_cpu_last, p.rx_cpu_changes, p.rx_cpus_seen, p.cpus_beyond);
  if (napi) {
    if (!p.napi_first) p.napi_first = napi;
    if (p.napi_last && p.napi_last != napi) p.napi_changes++;
    p.napi_last = napi;
  }
  track_cpu(sched_getcpu(), p.tx_cpu_first, p.tx_cpu_last, p.tx_cpu_changes, p.tx_cpus_seen, p.cpus_beyond);
  if (tcp) sample_tcp(fd, p);
}

}  // namespace mqb
