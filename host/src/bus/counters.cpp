// Snapshots of the per-instance counters.
#include <citylink/host/counters.hpp>
#include <citylink/host/wall_clock.hpp>

#include <chrono>

namespace citylink::host {

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::oversize: return "oversize";
    case RejectReason::malformed: return "malformed";
    case RejectReason::bad_topic: return "bad_topic";
    case RejectReason::topic_mismatch: return "topic_mismatch";
    case RejectReason::not_granted: return "not_granted";
    case RejectReason::reserved: return "reserved";
    case RejectReason::loop: return "loop";
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
  s.overruns = overruns.load(std::memory_order_relaxed);
  s.dropped_stopped = dropped_stopped.load(std::memory_order_relaxed);
  s.refused_durable = refused_durable.load(std::memory_order_relaxed);
  s.refused_rate = refused_rate.load(std::memory_order_relaxed);
  s.durable_accepted = durable_accepted.load(std::memory_order_relaxed);
  s.acked = acked.load(std::memory_order_relaxed);
  s.redelivered = redelivered.load(std::memory_order_relaxed);
  s.dead_lettered = dead_lettered.load(std::memory_order_relaxed);
  s.outbox_failures = outbox_failures.load(std::memory_order_relaxed);
  s.outbox_depth = outbox_depth.load(std::memory_order_relaxed);
  const int64_t oldest = outbox_oldest_unix_ms.load(std::memory_order_relaxed);
  if (oldest > 0) {
    const int64_t now = unix_now_ms();
    s.outbox_oldest_ms = now > oldest ? static_cast<uint64_t>(now - oldest) : 0;
  }
  for (std::size_t i = 0; i < s.rejected.size(); ++i) s.rejected[i] = rejected[i].load(std::memory_order_relaxed);
  return s;
}

}  // namespace citylink::host
