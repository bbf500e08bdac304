// One spdlog logger for the whole host, on stderr.
#include <citylink/host/error.hpp>
#include <citylink/host/logging.hpp>

#include <mutex>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace citylink::host {

std::shared_ptr<spdlog::logger> log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::get("citylink");
    if (!l) l = spdlog::stderr_color_mt("citylink");
    l->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
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
