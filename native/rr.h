// Request/response workloads (netperf TCP_RR, UDP_RR, TCP_CRR), both sides.
// A transaction is `request_size` bytes one way and `response_size` bytes back; its latency
// runs from queuing the request to having read the whole response. `burst` keeps that many
// transactions in flight per session (netperf -b): requests are written back to back and each
// completed response queues the next request.
#pragma once
#include <string>

#include "session_engine.h"

namespace mqb {
const Workload* rr_workload(const std::string& name, Side side);
}
