// One spdlog logger for the whole host, on stderr.
#include <citylink/host/error.hpp>
#include <citylink/host/logging.hpp>

#include <atomic>
#include <google/protobuf/stubs/logging.h>
#include <mutex>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace citylink::host {

namespace {

// Protobuf logs a line of its own for every string field with invalid UTF-8 it parses, so a
// plugin publishing such envelopes could flood the host's log (found by fuzzing). Its lines
// go through the host's logger instead, the first 5 and then every 1000th.
void on_protobuf_log(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  static std::atomic<uint64_t> count{0};
  const uint64_t n = count.fetch_add(1, std::memory_order_relaxed) + 1;
  if (level < google::protobuf::LOGLEVEL_FATAL && n > 5 && n % 1000 != 0) return;
  log()->log(level >= google::protobuf::LOGLEVEL_ERROR ? spdlog::level::err : spdlog::level::warn,
             "protobuf ({}:{}, #{}; repeated lines are logged every 1000th): {}", file, line, n, message);
}

}  // namespace

std::shared_ptr<spdlog::logger> log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::get("citylink");
    if (!l) l = spdlog::stderr_color_mt("citylink");
    l->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
    google::protobuf::SetLogHandler(&on_protobuf_log);
    return l;
  }();
  return logger;
}

void set_log_level(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off")
    throw ConfigError("log level '" + level + "' is not one of trace, debug, info, warn, error, off");
  log()->set_level(l);
}

}  // namespace citylink::host
