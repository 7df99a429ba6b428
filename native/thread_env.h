// Per-thread placement: pinning a worker to one CPU and moving it into a network namespace.
// Both act on the calling thread only (sched_setaffinity(0) and setns are per-thread on Linux),
// so each engine worker calls them first thing, before it opens its sockets: a socket stays in
// the namespace it was created in.
#pragma once
#include <string>

namespace mqb {

// Pins the calling thread to `cpu`; cpu < 0 leaves it unpinned.
void pin_current_thread(int cpu);

// Moves the calling thread into /run/netns/<name>; an empty name keeps the current namespace.
void enter_netns(const std::string& name);

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the one time base of every engine.
unsigned long long now_ns();

}  // namespace mqb
