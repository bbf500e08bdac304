// The wall clock as envelopes, stores and views carry it: Unix time in nanoseconds or
// milliseconds (steady_clock is for durations; this is for timestamps others read).
#pragma once

#include <chrono>
#include <cstdint>

namespace citylink::host {

inline int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace citylink::host
