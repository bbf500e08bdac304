// The live event stream behind the management API: incidents, grants, dispatches and
// instance state changes, fanned out to every listener without ever blocking the city.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace citylink::host {

// One event: its type ("incident", "grant", "dispatch", "instance") and a JSON object.
struct FeedEvent {
  uint64_t seq = 0;
  std::string type;
  std::string json;
};

// Thread-safety: every member may be called from any thread. publish() never blocks on a
// listener: a listener that falls `queue_limit` events behind is cut off (its stream ends,
// counted in dropped_listeners()), so a slow browser cannot hold up the host.
class EventFeed {
 public:
  class Listener {
   public:
    // The next event, waiting at most `timeout`; nullopt on time-out, and once the listener
    // was cut off or the feed closed (then closed() is true).
    std::optional<FeedEvent> next(std::chrono::milliseconds timeout);
    bool closed() const;
    bool overflowed() const;

   private:
    friend class EventFeed;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<FeedEvent> queue_;
    std::size_t limit_ = 0;
    bool closed_ = false;
    bool overflowed_ = false;
  };

  explicit EventFeed(std::size_t queue_limit = 1000) : queue_limit_(queue_limit) {}

  // A new listener, or nullptr when `max_listeners` are already listening.
  std::shared_ptr<Listener> listen(std::size_t max_listeners);
  void unlisten(const std::shared_ptr<Listener>& l);
  // Cheap check for producers: build an event only when someone listens.
  bool has_listeners() const { return listeners_.load(std::memory_order_relaxed) > 0; }
  void publish(const std::string& type, std::string json);
  // Ends every stream (host stopping).
  void close();
  uint64_t published() const { return seq_.load(); }
  uint64_t dropped_listeners() const { return dropped_.load(); }

 private:
  std::size_t queue_limit_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Listener>> list_;
  std::atomic<std::size_t> listeners_{0};
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace citylink::host
