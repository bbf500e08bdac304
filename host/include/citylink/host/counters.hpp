// Per-instance traffic counters: updated lock-free by the router and dispatch threads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace citylink::host {

// Why the router refused a message.
// loop: a peer host forwarded an envelope whose origin is this city (a forwarding loop).
enum class RejectReason : int { oversize = 0, malformed, bad_topic, topic_mismatch, not_granted, reserved, loop, count };

const char* to_string(RejectReason r);

struct CounterSnapshot {
  uint64_t published = 0;       // accepted by the router and forwarded
  uint64_t delivered = 0;       // on_message calls that returned OK
  uint64_t failed = 0;          // on_message calls that returned an error (or threw)
  uint64_t dropped_outgoing = 0;  // publish() refused: the instance's outgoing queue was full
  uint64_t dropped_incoming = 0;  // the instance's incoming queue was full
  uint64_t dropped_stopped = 0;   // publish() after stop, or delivery while not running
  uint64_t dropped_critical = 0;  // of the drops above, critical messages (each also logged by name)
  uint64_t lost_in_worker = 0;    // handed to an isolated instance's worker that ended before handling them
  uint64_t restarts = 0;          // worker restarts (isolation: process)
  uint64_t overruns = 0;          // in-process on_message calls that ran past their watchdog budget
  uint64_t refused_durable = 0;   // publish() refused: a durable subscriber's outbox could not take it
  uint64_t refused_rate = 0;      // publish() refused: over the instance's publish_rate (telemetry)
  // Durable subscriptions (docs/delivery.md).
  uint64_t durable_accepted = 0;  // envelopes written to the outbox for this instance
  uint64_t acked = 0;             // ... acked by it (and forgotten)
  uint64_t redelivered = 0;       // deliveries that were redeliveries
  uint64_t dead_lettered = 0;     // messages moved to the dead-letter table (each also logged)
  uint64_t outbox_failures = 0;   // outbox writes that failed (each retried; logged)
  uint64_t outbox_depth = 0;      // gauge: envelopes waiting for its ack
  uint64_t outbox_oldest_ms = 0;  // gauge: age of the oldest of them
  std::array<uint64_t, static_cast<int>(RejectReason::count)> rejected{};
  uint64_t rejected_total() const;
};

class InstanceCounters {
 public:
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> dropped_outgoing{0};
  std::atomic<uint64_t> dropped_incoming{0};
  std::atomic<uint64_t> dropped_stopped{0};
  std::atomic<uint64_t> dropped_critical{0};
  std::atomic<uint64_t> lost_in_worker{0};
  std::atomic<uint64_t> restarts{0};
  std::atomic<uint64_t> overruns{0};
  std::atomic<uint64_t> refused_durable{0};
  std::atomic<uint64_t> refused_rate{0};
  std::atomic<uint64_t> durable_accepted{0};
  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> redelivered{0};
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> outbox_failures{0};
  std::atomic<uint64_t> outbox_depth{0};
  std::atomic<int64_t> outbox_oldest_unix_ms{0};  // 0: empty
  std::array<std::atomic<uint64_t>, static_cast<int>(RejectReason::count)> rejected{};

  void reject(RejectReason r) { rejected[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }
  CounterSnapshot snapshot() const;
};

}  // namespace citylink::host
