// The in-process watchdog: one thread for the process samples every watched instance; the
// dispatch thread's hot path is two compare-and-swaps on one atomic, no clock and no lock.
#include "plugin_watchdog.hpp"

#include <citylink/host/logging.hpp>

#include <thread>
#include <vector>

namespace citylink::host {

namespace {

// seq_: even while idle, odd inside an on_message (each call its own odd value), this once
// abandoned. Only the dispatch thread moves it forward; abandoning takes it from a stuck odd
// value, so exactly one of "the call returned" and "the call was abandoned" wins.
constexpr uint64_t kAbandoned = ~uint64_t{0};
constexpr auto kTick = std::chrono::milliseconds(50);

long long ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Never destroyed: its thread runs for the life of the process and must not meet a
// destroyed list while the process exits.
struct WatchList {
  std::mutex mu;
  std::vector<std::weak_ptr<PluginWatchdog>> items;

  void add(std::weak_ptr<PluginWatchdog> w) {
    std::lock_guard lk(mu);
    if (items.empty() && !started) {
      started = true;
      std::thread([this] { run(); }).detach();
    }
    items.push_back(std::move(w));
  }

 private:
  bool started = false;
  [[noreturn]] void run() {
    while (true) {
      std::this_thread::sleep_for(kTick);
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard lk(mu);
      for (std::size_t i = 0; i < items.size();) {
        if (auto w = items[i].lock()) {
          w->check(now);
          ++i;
        } else {
          items[i] = std::move(items.back());
          items.pop_back();
        }
      }
    }
  }
};

WatchList& watch_list() {
  static auto* list = new WatchList;
  return *list;
}

}  // namespace

PluginWatchdog::PluginWatchdog(std::string instance_id, WatchdogSettings settings,
                               std::shared_ptr<InstanceCounters> counters)
    : id_(std::move(instance_id)), settings_(settings), counters_(std::move(counters)) {}

std::shared_ptr<PluginWatchdog> PluginWatchdog::create(std::string instance_id, WatchdogSettings settings,
                                                       std::shared_ptr<InstanceCounters> counters) {
  auto w = std::make_shared<PluginWatchdog>(std::move(instance_id), settings, std::move(counters));
  watch_list().add(w);
  return w;
}

bool PluginWatchdog::enter() {
  uint64_t s = seq_.load(std::memory_order_acquire);
  if (s == kAbandoned || !seq_.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel)) return false;
  current_ = s + 1;
  return true;
}

void PluginWatchdog::leave(std::string_view topic) {
  uint64_t s = current_;
  if (!seq_.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel)) park();
  if (reported_seq_.load(std::memory_order_relaxed) == current_) {
    std::lock_guard lk(mu_);
    log()->warn("[{}] on_message on '{}' returned after about {} ms (watchdog.message_ms {})", id_, topic,
                ms(std::chrono::steady_clock::now() - watched_since_), settings_.message.count());
  }
}

void PluginWatchdog::observe(std::chrono::steady_clock::time_point now) {
  const uint64_t s = seq_.load(std::memory_order_acquire);
  if (s == kAbandoned || (s & 1) == 0) return;
  if (s != watched_seq_) {
    // First seen now; it may have started up to one tick earlier.
    watched_seq_ = s;
    watched_since_ = now;
  }
}

void PluginWatchdog::check(std::chrono::steady_clock::time_point now) {
  std::lock_guard lk(mu_);
  observe(now);
  const uint64_t s = seq_.load(std::memory_order_acquire);
  if (s == kAbandoned || (s & 1) == 0 || s != watched_seq_ || reported_seq_.load() == s) return;
  if (now - watched_since_ < settings_.message) return;
  reported_seq_.store(s, std::memory_order_relaxed);
  const uint64_t n = counters_->overruns.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n <= 5 || n % 100 == 0)
    log()->warn("[{}] on_message has run for over {} ms (watchdog.message_ms; overrun #{}): its queue waits meanwhile; "
                "a call that never returns is abandoned at stop",
                id_, settings_.message.count(), n);
}

bool PluginWatchdog::abandon_if_stuck() {
  std::lock_guard lk(mu_);
  const auto now = std::chrono::steady_clock::now();
  observe(now);
  uint64_t s = seq_.load(std::memory_order_acquire);
  if (s == kAbandoned) return true;
  if ((s & 1) == 0 || s != watched_seq_ || now - watched_since_ < settings_.call) return false;
  if (!seq_.compare_exchange_strong(s, kAbandoned, std::memory_order_acq_rel)) return false;  // it just returned
  abandon_reason_ = "on_message had run for over " + std::to_string(settings_.call.count()) +
                    " ms at the stop (watchdog.call_ms)";
  log()->error("[{}] {}: the instance is abandoned; nothing calls it again, its library stays loaded, and the "
               "stop goes on without it",
               id_, abandon_reason_);
  return true;
}

bool PluginWatchdog::bounded(const char* what, std::function<void()> call) {
  if (abandoned()) return false;
  auto self = shared_from_this();
  auto done = std::make_shared<bool>(false);  // under mu_
  std::thread([self, done, call = std::move(call)] {
    call();
    std::unique_lock lk(self->mu_);
    if (self->seq_.load(std::memory_order_acquire) == kAbandoned) {
      lk.unlock();
      park();
    }
    *done = true;
    self->cv_.notify_all();
  }).detach();
  std::unique_lock lk(mu_);
  if (cv_.wait_for(lk, settings_.call, [&] { return *done; })) return true;
  seq_.store(kAbandoned, std::memory_order_release);
  abandon_reason_ = std::string(what) + " did not return within " + std::to_string(settings_.call.count()) +
                    " ms (watchdog.call_ms)";
  log()->error("[{}] {}: the instance is abandoned; nothing calls it again and its library stays loaded", id_,
               abandon_reason_);
  return false;
}

bool PluginWatchdog::abandoned() const { return seq_.load(std::memory_order_acquire) == kAbandoned; }

std::string PluginWatchdog::abandon_reason() const {
  std::lock_guard lk(mu_);
  return abandon_reason_;
}

void PluginWatchdog::park() {
  while (true) std::this_thread::sleep_for(std::chrono::hours(24));
}

}  // namespace citylink::host
