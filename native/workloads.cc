// The workload table, joined from its halves: the request/response workloads (rr.cc) and the
// bulk-transfer ones (stream.cc). Callers look a workload up once and hand the entry to the
// engine (SessionEngine(cfg, workload)), so the engine itself never sees a workload name.
#include "rr.h"
#include "session_engine.h"
#include "stream.h"

namespace mqb {

const Workload* find_workload(const std::string& name, Side side) {
  if (const Workload* w = rr_workload(name, side)) return w;
  return stream_workload(name, side);
}

}  // namespace mqb
