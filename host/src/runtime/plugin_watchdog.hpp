// Bounds on a plugin that runs in the host's process (trusted, or `isolation: none`): a
// watchdog reports an on_message running past its budget, and the host stops waiting for a
// create, start, stop or destroy after its bound. A plugin the host stopped waiting for is
// abandoned: nothing calls it again, its library stays loaded (plugin_library.cpp keeps every
// library for the life of the process), and a host thread that comes back from it parks
// instead of touching an instance that may be gone. docs/reliability.md §3.
#pragma once

#include <citylink/host/counters.hpp>
#include <citylink/host/instance_backend.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace citylink::host {

class PluginWatchdog : public std::enable_shared_from_this<PluginWatchdog> {
 public:
  // Watched from now on by the process's one watchdog thread.
  static std::shared_ptr<PluginWatchdog> create(std::string instance_id, WatchdogSettings settings,
                                                std::shared_ptr<InstanceCounters> counters);

  // Brackets one on_message on the dispatch thread. enter() is false once abandoned (do not
  // call the plugin). leave() does not return if the instance was abandoned meanwhile: the
  // caller's objects may be gone, so the thread parks.
  bool enter();
  void leave(std::string_view topic);

  // Runs `call` on a thread of its own and waits at most settings.call. False: it did not
  // return in time and the instance is abandoned (the thread parks if it ever returns).
  // `call` must own everything it touches (it may outlive the caller) and must not throw
  // (the backend catches what a plugin throws, in_process_backend.cpp).
  bool bounded(const char* what, std::function<void()> call);

  // At stop: abandons the instance if an on_message has run past settings.call. True: the
  // dispatch thread is stuck in the plugin; do not wait for it.
  bool abandon_if_stuck();

  bool abandoned() const;
  std::string abandon_reason() const;
  const WatchdogSettings& settings() const { return settings_; }

  // Called by the watchdog thread.
  void check(std::chrono::steady_clock::time_point now);

  PluginWatchdog(std::string instance_id, WatchdogSettings settings, std::shared_ptr<InstanceCounters> counters);

 private:
  [[noreturn]] static void park();
  void observe(std::chrono::steady_clock::time_point now);  // under mu_

  const std::string id_;
  const WatchdogSettings settings_;
  std::shared_ptr<InstanceCounters> counters_;
  std::atomic<uint64_t> seq_{0};           // see plugin_watchdog.cpp
  uint64_t current_ = 0;                   // the dispatch thread's call in progress
  std::atomic<uint64_t> reported_seq_{0};  // the call the watchdog reported as overrun
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t watched_seq_ = 0;  // the call the watchdog has seen running since watched_since_
  std::chrono::steady_clock::time_point watched_since_;
  std::string abandon_reason_;
};

}  // namespace citylink::host
