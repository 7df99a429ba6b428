// What a session's socket says about where its packets went, sampled in the engine's threads
// (docs/sessions.md, "Queues and TCP_INFO"): SO_INCOMING_CPU and SO_INCOMING_NAPI_ID name the CPU
// and NAPI instance whose receive path delivered the socket's last packet, sched_getcpu() the CPU
// the session's sends left from (with XPS, that picks the transmit queue), and TCP_INFO the
// connection's rtt, rttvar, cwnd, retransmissions and delivery rate.
//
// Memory is fixed per session (one SessionProbe, 136 bytes, whatever the run's length): a sample
// folds into first/last values, change counts, a CPU bitmap and min/max/sum, never a list, so
// 10,000 sessions keep 1.4 MB of it. A session whose receive CPU changes between samples counts
// each change (`cpu_changes`) and keeps every CPU it was seen on (`cpus_seen`, CPUs 0..63; CPUs
// above are counted in `cpus_beyond`): it is shown as moved, never averaged onto one queue.
#pragma once
#include <cstdint>

namespace mqb {

struct SessionProbe {
  uint32_t samples = 0;  // attribution samples taken (each also read TCP_INFO on a TCP socket)
  int32_t rx_cpu_first = -1, rx_cpu_last = -1;
  uint32_t rx_cpu_changes = 0;
  uint32_t cpus_beyond = 0;  // samples whose receive or send CPU was 64 or above (not in a bitmap)
  uint64_t rx_cpus_seen = 0;
  uint32_t napi_first = 0, napi_last = 0, napi_changes = 0;
  int32_t tx_cpu_first = -1, tx_cpu_last = -1;
  uint32_t tx_cpu_changes = 0;
  uint64_t tx_cpus_seen = 0;
  // TCP_INFO, microseconds and segments as the kernel gives them.
  uint32_t tcp_samples = 0;
  uint32_t rtt_min_us = UINT32_MAX, rtt_max_us = 0, rtt_last_us = 0;
  uint32_t rttvar_max_us = 0, rttvar_last_us = 0;
  uint32_t cwnd_min = UINT32_MAX, cwnd_max = 0, cwnd_last = 0;
  uint32_t total_retrans = 0;
  uint64_t rtt_sum_us = 0;
  uint64_t delivery_rate_max = 0, delivery_rate_last = 0;  // bytes per second
};

// One sample of `fd` (a connected session socket) into `p`; `tcp` reads TCP_INFO as well.
// Errors (a socket closed under it, a kernel without the option) leave `p` as it was.
void probe_socket(int fd, bool tcp, SessionProbe& p);

}  // namespace mqb
