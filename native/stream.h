// Bulk-transfer workloads (netperf TCP_STREAM / TCP_MAERTS, UDP_STREAM), both sides. Which side
// sends is per session (SessionConfig::sends), so TCP_MAERTS and --bidir are the same table with
// other directions.
#pragma once
#include <string>

#include "session_engine.h"

namespace mqb {
const Workload* stream_workload(const std::string& name, Side side);
}
