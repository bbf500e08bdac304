// One durable subscription: what its instance was sent and has not acked yet, kept in the
// outbox and redelivered after a timeout, a nack, a lost worker or a host restart, in order;
// a message delivered too often goes to the dead letters (docs/delivery.md).
#pragma once

#include <citylink/abi.h>
#include <citylink/host/counters.hpp>
#include <citylink/host/instance_backend.hpp>
#include <citylink/host/outbox.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace citylink::host {

// `durable:` of a plugin entry in the city config.
struct DurableSettings {
  std::vector<std::string> topics;  // which of its subscriptions are durable; empty: all of them
  std::chrono::milliseconds ack_timeout{30000};  // unacked this long: redelivered
  // A message whose deliveries ended this often without an ack while it was the oldest one
  // waiting (timeouts, nacks with requeue, lost workers, host crashes) is a dead letter.
  // Messages resent only to keep the order behind it are not counted against it.
  uint32_t max_deliveries = 10;
  std::size_t in_flight = 256;                   // deliveries awaiting an ack at most
};

class DurableQueue {
 public:
  // Loads what the outbox still holds for `subscriber` (after a host restart: redelivered first).
  DurableQueue(std::shared_ptr<Outbox> outbox, std::string subscriber, std::vector<std::string> topics,
               DurableSettings settings, std::shared_ptr<InstanceCounters> counters);

  // Whether a message on `topic` goes through this queue.
  bool covers(std::string_view topic) const;

  // --- The instance's dispatch thread only ---
  // Takes a message; it is stored at the next flush and only then delivered.
  void accept(std::string_view topic, const uint8_t* envelope, std::size_t size);
  std::size_t accepted_unflushed() const { return to_append_.size(); }
  // Writes what was accepted, acked, nacked and redelivered since the last flush. False when
  // the outbox refused (logged, counted; kept in memory and written by a later flush). After a
  // failure it waits a moment before trying again, unless `now_or_never` (the last flush at stop).
  bool flush(bool now_or_never = false);
  // A delivery taken from the queue; keeps its bytes alive while it is handed over.
  struct Picked {
    std::string topic;
    std::shared_ptr<const std::string> envelope;
    uint64_t tag = 0;
    uint32_t redelivery_count = 0;
    Delivery delivery() const {
      return Delivery{topic, reinterpret_cast<const uint8_t*>(envelope->data()), envelope->size(), tag,
                      redelivery_count};
    }
  };
  // The next delivery (the lowest seq ready, while fewer than in_flight await an ack), or
  // none. Dead-letters what failed too often. Its counts are written by the next flush, which
  // the caller runs before handing it over, so a plugin that crashes the host on it is counted.
  std::optional<Picked> pick();
  // The backend could not hand it over (its worker is down for good): back in the queue, uncounted.
  void unpick(const Picked& picked);
  // The last flush of a stop: true when everything was written (and the stop is marked clean).
  bool finish();
  // Redelivers what waited longer than ack_timeout; returns how long until the next deadline.
  std::chrono::milliseconds expire();

  // Called (on the acking thread, outside the queue's lock) when an ack, a nack or a lost
  // worker opened room in a full window: the dispatch thread may be asleep on its inbox.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

  // --- Any thread ---
  // Deliveries handed over and not yet acked or nacked.
  std::size_t in_flight() const {
    std::lock_guard lk(mu_);
    return in_flight_.size();
  }
  citylink_status ack(uint64_t tag);
  citylink_status nack(uint64_t tag, bool requeue);
  // citylink.durable/1: the plugin still works on it; its ack timeout starts again.
  citylink_status progress(uint64_t tag);
  // Deliveries handed over were lost (the worker died): all of them are delivered again.
  void lost_in_flight();
  // The backend can take deliveries again (a worker's window reopened): the dispatch thread
  // is woken, as by an ack.
  void room() const {
    if (wake_) wake_();
  }

 private:
  struct Row {
    std::string topic;
    std::shared_ptr<const std::string> envelope;
    int64_t accepted_unix_ms = 0;
    uint32_t deliveries = 0;
    uint32_t strikes = 0;
    uint64_t tag = 0;  // in flight under this tag; 0: ready
  };
  using Clock = std::chrono::steady_clock;

  void load_more();  // dispatch thread
  // Everything in flight goes again, in order; only the oldest (the one the plugin was on)
  // gets a strike.
  void requeue_in_flight_locked(const char* why);
  void count_locked(int64_t seq, const Row& r);
  citylink_status nack_locked(uint64_t tag, bool requeue);
  // For a tag not in flight: OK when this queue handed it out (acked, nacked, superseded).
  citylink_status settled_or_unknown(uint64_t tag) const;
  void dead_letter_locked(int64_t seq, Row& row, const std::string& reason);
  void update_gauges_locked();

  std::shared_ptr<Outbox> outbox_;
  std::string subscriber_;
  std::vector<std::string> topics_;
  DurableSettings settings_;
  std::shared_ptr<InstanceCounters> counters_;

  // Dispatch thread only.
  std::vector<std::pair<std::string, std::string>> to_append_;
  int64_t loaded_upto_ = 0;    // highest seq ever held in memory
  bool disk_backlog_ = false;  // rows past loaded_upto_ wait only on disk
  Outbox::Delivered delivered_at_start_;  // what the previous run delivered, and how it ended
  bool blamed_ = false;                   // the previous run's crash was put on its oldest delivery
  std::chrono::steady_clock::time_point retry_at_{};
  uint64_t failures_logged_ = 0;

  mutable std::mutex mu_;
  std::map<int64_t, Row> rows_;                   // in memory, by seq
  std::set<int64_t> ready_;                       // to deliver, lowest first
  struct InFlight {
    int64_t seq;
    Clock::time_point deadline;  // the latest; older entries for it in deadlines_ are stale
  };
  std::unordered_map<uint64_t, InFlight> in_flight_;              // by tag
  std::deque<std::pair<Clock::time_point, uint64_t>> deadlines_;  // oldest first (pick and progress)
  uint64_t first_tag_ = 0, next_tag_ = 0;
  uint64_t depth_ = 0;
  OutboxBatch pending_;  // acks, redeliveries and dead letters not yet written
  std::function<void()> wake_;  // set before the first delivery
};

}  // namespace citylink::host
