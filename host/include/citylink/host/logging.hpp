// The host's logger: spdlog, one shared sink written from a thread of its own, plugin lines
// tagged with their instance id.
#pragma once

#include <cstdint>
#include <memory>
#include <spdlog/logger.h>
#include <string>

namespace citylink::host {

// Never blocks the caller on stderr; a line that finds the bounded queue full overwrites the
// oldest, which is counted in log_lines_dropped().
std::shared_ptr<spdlog::logger> log();
// Returns once every line logged before the call is written, or after 2 s (a stuck
// stderr). Before an _exit, and before reading what a sink was given; a normal exit does it.
// With a logger an embedding program registered as "citylink", only asks it to flush.
void flush_log();
// Adds or removes a sink (a test's capture, an embedding program's file); any thread. After
// remove_log_sink returns, the sink is never called again.
void add_log_sink(spdlog::sink_ptr sink);
void remove_log_sink(const spdlog::sink_ptr& sink);
// Lines overwritten in the full queue since the process started.
uint64_t log_lines_dropped();
// "trace", "debug", "info", "warn", "error", "off"; throws ConfigError on anything else.
void set_log_level(const std::string& level);

}  // namespace citylink::host
