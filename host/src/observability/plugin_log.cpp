// Plugin log lines: escaped, cut and rate-limited per instance.
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>

#include <algorithm>
#include <cstdio>

namespace citylink::host {

namespace {

spdlog::level::level_enum to_spdlog(citylink_log_level l) {
  switch (l) {
    case CITYLINK_LOG_TRACE: return spdlog::level::trace;
    case CITYLINK_LOG_DEBUG: return spdlog::level::debug;
    case CITYLINK_LOG_INFO: return spdlog::level::info;
    case CITYLINK_LOG_WARN: return spdlog::level::warn;
    case CITYLINK_LOG_ERROR: return spdlog::level::err;
  }
  // A level this host does not know (a newer plugin, or a worker's bytes): as loud as its
  // nearest known one, never dropped.
  return l > CITYLINK_LOG_ERROR ? spdlog::level::err : spdlog::level::trace;
}

}  // namespace

std::string escape_log_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 8);
  for (const char ch : text) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

PluginLog::PluginLog(std::string instance_id) : id_(std::move(instance_id)) {}

void PluginLog::write(citylink_log_level level, std::string_view message) {
  uint64_t reported = 0;
  {
    std::lock_guard lk(mu_);
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(kBurst, tokens_ + std::chrono::duration<double>(now - refilled_).count() * kRate);
    refilled_ = now;
    if (tokens_ < 1) {
      ++suppressed_total_;
      if (held_back_++ == 0)
        log()->warn("[{}] this plugin writes more than {} log lines a second: its lines are held back and counted "
                    "until it slows down",
                    id_, static_cast<int>(kRate));
      return;
    }
    tokens_ -= 1;
    std::swap(reported, held_back_);
  }
  if (reported > 0)
    log()->warn("[{}] {} log line(s) of this plugin were held back (more than {} a second)", id_, reported,
                static_cast<int>(kRate));
  log()->log(to_spdlog(level), "[{}] {}", id_, escape_log_text(message));
}

uint64_t PluginLog::suppressed_total() const {
  std::lock_guard lk(mu_);
  return suppressed_total_;
}

}  // namespace citylink::host
