// Per-thread placement: pinning a worker to one CPU and moving it into a network namespace.
// Both act on the calling thread only (sched_setaffinity(0) and setns are per-thread on Linux),
// so each engine worker calls them first thing, before it opens its sockets: a socket stays in
// the namespace it was created in.
#pragma once
#include <functional>
#include <string>

namespace mqb {

// Pins the calling thread to `cpu`; cpu < 0 leaves it unpinned.
void pin_current_thread(int cpu);

// Moves the calling thread into /run/netns/<name>; an empty name keeps the current namespace.
void enter_netns(const std::string& name);

// Runs fn inside /run/netns/<netns> and returns when it has: on a short-lived thread that enters
// the namespace (so the calling thread, often node's main thread, never leaves its own), with an
// exception from fn rethrown here. Sockets, taps and ioctls made inside fn keep that namespace
// for their whole life. Empty netns: fn runs right here.
void in_netns(const std::string& netns, const std::function<void()>& fn);

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the one time base of every engine.
unsigned long long now_ns();

}  // namespace mqb
