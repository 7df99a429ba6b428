// The reference floor for bench/sessions.sh: the least a request/response benchmark can do per
// transaction with blocking sockets, as netperf's TCP_RR, UDP_RR and TCP_CRR do it.
//   client: TCP_RR and UDP_RR send() + recv() per transaction; TCP_CRR socket(), connect(), send(),
//           recv(), close(). Nothing else inside the loop (the clock is read through the vDSO).
//   server: one thread per port (netserver's one process per test), blocking recv() + send()
//           (UDP: recvfrom() + sendto()); TCP_CRR accept(), recv(), send(), close().
// It cannot be beaten on syscalls, so mqbench's aim is to tie it for one session and pass the sum
// of N of its clients with N sessions. Built by bench/sessions.sh with the system compiler.
//
//   ref server tcp_rr|udp_rr|tcp_crr BIND PORT NPORTS REQ RESP    (serves ports PORT..PORT+NPORTS-1)
//   ref client tcp_rr|udp_rr|tcp_crr HOST PORT SECONDS REQ RESP   -> "trans/s p50_us p99_us transactions"
// Latency: TCP_RR and UDP_RR from before send() to after the response's last recv(); TCP_CRR from
// before socket() to after close().
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum mode { TCP_RR, UDP_RR, TCP_CRR };
static enum mode mode;
static size_t req, resp;
static char buf[65536];

static void die(const char* what) {
  perror(what);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static struct sockaddr_in addr_of(const char* host, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) die("inet_pton");
  return a;
}

// Reads exactly n bytes (a response may arrive in pieces); 0 when the peer closed or failed.
static int recv_all(int fd, char* b, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, b + got, n - got, 0);
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  return 1;
}

static void* serve(void* arg) {
  struct sockaddr_in a = *(struct sockaddr_in*)arg;
  int one = 1;
  int ls = socket(AF_INET, mode == UDP_RR ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (ls < 0) die("socket");
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(ls, (struct sockaddr*)&a, sizeof(a)) < 0) die("bind");
  char* b = malloc(sizeof(buf));
  if (mode == UDP_RR) {
    for (;;) {
      struct sockaddr_in from;
      socklen_t len = sizeof(from);
      if (recvfrom(ls, b, sizeof(buf), 0, (struct sockaddr*)&from, &len) < 0) continue;
      sendto(ls, b, resp, 0, (struct sockaddr*)&from, len);
    }
  }
  if (listen(ls, 1024) < 0) die("listen");
  // Accepted sockets inherit TCP_NODELAY from the listener.
  setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  for (;;) {
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) continue;
    if (mode == TCP_CRR) {
      if (recv_all(fd, b, req)) send(fd, b, resp, MSG_NOSIGNAL);
    } else {
      while (recv_all(fd, b, req))
        if (send(fd, b, resp, MSG_NOSIGNAL) < 0) break;
    }
    close(fd);
  }
  return NULL;
}

static int cmp_u64(const void* x, const void* y) {
  uint64_t a = *(const uint64_t*)x, b = *(const uint64_t*)y;
  return a < b ? -1 : a > b;
}

static int client(const char* host, int port, double seconds) {
  struct sockaddr_in a = addr_of(host, port);
  size_t cap = 1 << 24, n = 0;
  uint64_t* lat = malloc(cap * sizeof(uint64_t));
  int fd = -1, one = 1;
  if (mode != TCP_CRR) {
    fd = socket(AF_INET, mode == UDP_RR ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (mode == TCP_RR) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (mode == UDP_RR) {  // a lost datagram: resend after 200 ms (as mqbench counts it)
      struct timeval tv = {0, 200000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    if (connect(fd, (struct sockaddr*)&a, sizeof(a)) < 0) die("connect");
  }
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), t = start;
  while (t < end) {
    uint64_t t0 = t;
    if (mode == TCP_CRR) {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof(a)) < 0) die("connect");
      if (send(fd, buf, req, MSG_NOSIGNAL) < 0 || !recv_all(fd, buf, resp)) die("tcp_crr transaction");
      close(fd);
    } else if (mode == UDP_RR) {
      if (send(fd, buf, req, 0) < 0) die("send");
      if (recv(fd, buf, sizeof(buf), 0) < 0) {
        if (errno != EAGAIN) die("recv");
        t = now_ns();
        continue;
      }
    } else {
      if (send(fd, buf, req, MSG_NOSIGNAL) < 0 || !recv_all(fd, buf, resp)) die("tcp_rr transaction");
    }
    t = now_ns();
    if (n < cap) lat[n] = t - t0;
    n++;
  }
  size_t k = n < cap ? n : cap;
  qsort(lat, k, sizeof(uint64_t), cmp_u64);
  double secs = (double)(t - start) / 1e9;
  printf("%f %.1f %.1f %zu\n", (double)n / secs, k ? lat[k / 2] / 1e3 : 0.0, k ? lat[k * 99 / 100] / 1e3 : 0.0, n);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: ref server|client tcp_rr|udp_rr|tcp_crr HOST PORT NPORTS|SECONDS REQ RESP\n");
    return 2;
  }
  mode = !strcmp(argv[2], "udp_rr") ? UDP_RR : !strcmp(argv[2], "tcp_crr") ? TCP_CRR : TCP_RR;
  req = (size_t)atol(argv[6]);
  resp = (size_t)atol(argv[7]);
  if (req < 1 || resp < 1 || req > sizeof(buf) || resp > sizeof(buf)) return 2;
  if (!strcmp(argv[1], "client")) return client(argv[3], atoi(argv[4]), atof(argv[5]));
  int ports = atoi(argv[5]);
  pthread_t th;
  for (int i = 0; i < ports; i++) {
    struct sockaddr_in* a = malloc(sizeof(*a));
    *a = addr_of(argv[3], atoi(argv[4]) + i);
    if (pthread_create(&th, NULL, serve, a)) die("pthread_create");
  }
  pause();
  return 0;
}
