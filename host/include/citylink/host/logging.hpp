// The host's logger: spdlog, one shared sink, plugin lines tagged with their instance id.
#pragma once

#include <memory>
#include <spdlog/logger.h>
#include <string>

namespace citylink::host {

std::shared_ptr<spdlog::logger> log();
// "trace", "debug", "info", "warn", "error", "off"; throws ConfigError on anything else.
void set_log_level(const std::string& level);

}  // namespace citylink::host
