// Where a plugin instance's code runs: in this process (through its C struct) or in a
// `citylink worker` process (through the worker protocol). The runtime calls a plugin only
// through this interface, so the same binary runs either way.
#pragma once

#include <citylink/abi.h>
#include <citylink/host/counters.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citylink::host {

// One message handed to a plugin. `topic` is NUL-terminated.
struct Delivery {
  std::string_view topic;
  const uint8_t* envelope = nullptr;
  std::size_t size = 0;
  uint64_t delivery_tag = 0;  // 0: not durable
  uint32_t redelivery_count = 0;
};

// Where a plugin's acks and nacks go (its durable queue), and whom to tell when deliveries
// handed over were lost with a worker. Empty: no durable subscription.
struct DeliveryHooks {
  std::function<citylink_status(uint64_t delivery_tag)> ack;
  std::function<citylink_status(uint64_t delivery_tag, bool requeue)> nack;
  std::function<citylink_status(uint64_t delivery_tag)> progress;  // citylink.durable/1
  std::function<void()> lost;  // any thread
  // A durable batch the backend could not take now (deliver_batch returned 0: a worker's
  // delivery window was full) can be handed over again. Any thread.
  std::function<void()> room;
};

class InstanceBackend {
 public:
  virtual ~InstanceBackend() = default;

  // Whether the plugin takes messages (its instance has on_message).
  virtual bool receives() const = 0;
  // The plugin's start. On failure returns its status and fills `error` with its message.
  virtual citylink_status start(std::string& error) = 0;
  // One delivery, on the instance's dispatch thread, never concurrently. The backend counts
  // it (delivered or failed) in the instance's counters. False: not handed over (the plugin
  // is gone for good, or stopping); a durable delivery then stays queued, any other is counted
  // as dropped.
  virtual bool deliver(const Delivery& delivery) = 0;
  // How many deliveries one deliver_batch call should carry at most. A worker takes the
  // router's batch whole (one message over its pipe); in process the default keeps pieces
  // small, so a critical message waits behind few on_message calls.
  virtual std::size_t batch_size() const { return 32; }
  // Several deliveries, in order, with deliver's rules for each. Returns how many of the
  // first were handed over; it stops at the first durable one that was not (the caller keeps
  // it and those after it queued). A backend may hand them over together (a worker gets
  // them in one message); by default each goes alone. A batch of durable deliveries is never
  // waited for: a backend that cannot take it now hands over none and calls
  // DeliveryHooks::room once it can (the dispatch thread meanwhile moves the instance's
  // queue into the outbox, which publishers to it may be waiting for).
  virtual std::size_t deliver_batch(const Delivery* deliveries, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      if (!deliver(deliveries[i]) && deliveries[i].delivery_tag != 0) return i;
    return n;
  }
  // The instance is about to stop: deliveries still queued are handed over only if the
  // plugin can take them now (a worker being restarted is not waited for).
  virtual void begin_stop() {}
  // At stop, while the dispatch thread drains: true when a delivery has been stuck in the
  // plugin past the backend's bound and the plugin was abandoned, so the dispatch thread is
  // not waited for (it parks if the call ever returns). False: keep waiting.
  virtual bool abandon_stuck_delivery() { return false; }
  // The plugin's stop; returns within the backend's bound whatever the plugin does.
  virtual void stop() = 0;
  // The plugin's destroy, after stop. Nothing reaches the plugin afterwards.
  virtual void destroy() = 0;
  // Whether the plugin gave up for good (a worker past its restart limit, an abandoned
  // in-process plugin), and why.
  virtual bool failed() const { return false; }
  virtual std::string failure() const { return {}; }
  // "in-process" or "worker pid 1234": for logs and the status table.
  virtual std::string where() const = 0;
};

// Bounds on an in-process instance (`watchdog:` in the city config; docs/reliability.md §3).
struct WatchdogSettings {
  std::chrono::milliseconds message{1000};  // an on_message running longer is reported (and counted)
  std::chrono::milliseconds call{10000};    // create, start, stop, destroy; an on_message stuck at stop
};

// Settings of an isolated instance (`isolation: process`, `worker:` in the city config).
struct WorkerSettings {
  std::vector<std::string> command;  // how to run `citylink worker` (argv before its own options)
  std::string plugin_file;           // the library, loaded in the worker after its hash is checked
  std::string plugin_sha256;         // what the host checked; the worker refuses other bytes
  std::string plugin_id;
  std::size_t max_message_bytes = 0;
  uint32_t publish_rate = 0;                          // telemetry messages a second, refused in the worker; 0: no limit
  std::vector<std::string> critical_topics;           // never limited (host.critical_topics)
  int restart_limit = 5;                              // restarts before the instance is marked failed
  std::chrono::milliseconds backoff{500};             // first restart delay, doubled each time, at most 30 s
  std::chrono::milliseconds heartbeat_timeout{5000};  // silence inside a plugin call longer than this: hung
  std::chrono::milliseconds call_timeout{10000};      // create, start, stop and destroy each
  uint64_t memory_mb = 0;                             // RLIMIT_AS; 0: no limit
  uint64_t open_files = 256;                          // RLIMIT_NOFILE
  uint64_t cpu_seconds = 0;                           // RLIMIT_CPU; 0: no limit
  // Bytes of deliveries the worker may hold without having reported them handled, besides
  // their number (host.queue_bytes: bounded like any queue). One batch always goes.
  std::size_t window_bytes = 64u << 20;
};

}  // namespace citylink::host
