// Snapshots of the per-instance counters.
#include <citylink/host/counters.hpp>

namespace citylink::host {

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::oversize: return "oversize";
    case RejectReason::malformed: return "malformed";
    case RejectReason::bad_topic: return "bad_topic";
    case RejectReason::topic_mismatch: return "topic_mismatch";
    case RejectReason::not_granted: return "not_granted";
    case RejectReason::reserved: return "reserved";
    case RejectReason::count: break;
  }
  return "unknown";
}

uint64_t CounterSnapshot::rejected_total() const {
  uint64_t n = 0;
  for (auto v : rejected) n += v;
  return n;
}

CounterSnapshot InstanceCounters::snapshot() const {
  CounterSnapshot s;
  s.published = published.load(std::memory_order_relaxed);
  s.delivered = delivered.load(std::memory_order_relaxed);
  s.failed = failed.load(std::memory_order_relaxed);
  s.dropped_outgoing = dropped_outgoing.load(std::memory_order_relaxed);
  s.dropped_incoming = dropped_incoming.load(std::memory_order_relaxed);
  s.dropped_critical = dropped_critical.load(std::memory_order_relaxed);
  s.lost_in_worker = lost_in_worker.load(std::memory_order_relaxed);
  s.restarts = restarts.load(std::memory_order_relaxed);
  s.dropped_stopped = dropped_stopped.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < s.rejected.size(); ++i) s.rejected[i] = rejected[i].load(std::memory_order_relaxed);
  return s;
}

}  // namespace citylink::host
