// What a plugin writes to the host's log through citylink_host_api.log, in-process or from its
// worker process: one path for both, so neither can flood the log or forge a line (review L4).
#pragma once

#include <citylink/abi.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace citylink::host {

// Control characters (newlines, ANSI escapes) written as \n, \x1b and the like, so a text
// from outside stays on its one line and cannot pose as the host's; cut to `max_bytes`
// with "..." marking the cut.
std::string escape_log_text(std::string_view text, std::size_t max_bytes = 2048);

// One instance's lines: escaped, cut to 2 KiB, and at most kRate a second after a burst of
// kBurst. Lines held back are counted, and reported at most once a second and when the flood
// ends.
class PluginLog {
 public:
  static constexpr double kRate = 50;   // lines per second, sustained
  static constexpr double kBurst = 200;  // lines at once

  explicit PluginLog(std::string instance_id);
  void write(citylink_log_level level, std::string_view message);  // any thread
  uint64_t suppressed_total() const;

 private:
  const std::string id_;
  mutable std::mutex mu_;
  double tokens_ = kBurst;
  std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
  uint64_t held_back_ = 0;  // since the last report
  bool flooding_ = false;
  std::chrono::steady_clock::time_point reported_at_;
  uint64_t suppressed_total_ = 0;
};

}  // namespace citylink::host
