// A publisher's budget for telemetry: how many normal-class messages a second one instance
// may put on the bus (`publish_rate` in the city config). A plugin that publishes faster is
// paced in its own thread, and one that floods is refused there, before its messages cost
// the router or the engine anything: it cannot take the CPU that a 112 report needs
// (docs/reliability.md, "A plugin that floods").
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace citylink::host {

// A token bucket of `per_second` messages a second that holds a tenth of a second's worth,
// so a quiet publisher may send that many at once. Safe from any thread.
class PublishRate {
 public:
  static constexpr uint32_t kUnlimited = 0;
  static constexpr uint32_t kDefault = 10000;  // host.publish_rate when the config says nothing
  // The longest take() sleeps: a publish over the rate returns within this.
  static constexpr std::chrono::microseconds kMaxWait{1000};

  explicit PublishRate(uint32_t per_second = kUnlimited) { set(per_second); }

  // The budget from now on; kUnlimited lifts it. Starts full.
  void set(uint32_t per_second);
  uint32_t per_second() const { return per_second_.load(std::memory_order_relaxed); }
  bool limited() const { return per_second() != kUnlimited; }

  // Takes one message from the budget. When it is spent, the caller's thread sleeps until
  // its turn if that comes within `max_wait` (true), or else sleeps `max_wait` and gets
  // false: a publisher that tries again at once is paced instead of spinning on a core.
  bool take(std::chrono::microseconds max_wait = kMaxWait);

  // What a refused publisher is told, and the log says: who, the limit, and the fix.
  std::string refusal(std::string_view source, std::string_view topic) const;

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int kBurstsPerSecond = 10;
  double burst() const { return std::max(1.0, per_second() / double(kBurstsPerSecond)); }

  std::mutex mu_;
  std::atomic<uint32_t> per_second_{kUnlimited};  // read without the lock: unlimited costs nothing
  double tokens_ = 0;  // below 0: owed to callers sleeping until their turn
  Clock::time_point last_{};
};

}  // namespace citylink::host
