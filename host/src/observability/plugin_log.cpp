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
  return spdlog::level::info;  // a level this host does not know: INFO, as abi.h says
}

}  // namespace

std::string escape_log_text(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    char piece[8] = {static_cast<char>(c), 0};
    std::size_t n = 1;
    switch (c) {
      case '\n': n = 2, piece[0] = '\\', piece[1] = 'n'; break;
      case '\r': n = 2, piece[0] = '\\', piece[1] = 'r'; break;
      case '\t': n = 2, piece[0] = '\\', piece[1] = 't'; break;
      case '\\': n = 2, piece[0] = '\\', piece[1] = '\\'; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          n = static_cast<std::size_t>(std::snprintf(piece, sizeof piece, "\\x%02x", c));
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
          // U+0080..U+009F, the C1 controls: some terminals take U+009B as an escape.
          n = static_cast<std::size_t>(
              std::snprintf(piece, sizeof piece, "\\u%04x", static_cast<unsigned char>(text[++i])));
        }
    }
    if (out.size() + n > max_bytes) {
      // Never leave half a UTF-8 character before the mark.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
      if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
      out += "...";
      break;
    }
    out.append(piece, n);
  }
  return out;
}

PluginLog::PluginLog(std::string instance_id) : id_(std::move(instance_id)) {}

// A flood is announced once when it starts; what it held back is reported at most once a
// second while it lasts, and once more when it ends (the plugin has slowed down long enough to
// earn half a burst back), so a flood costs the log about one line a second of its own.
void PluginLog::write(citylink_log_level level, std::string_view message) {
  uint64_t reported = 0;
  bool ended = false;
  {
    std::lock_guard lk(mu_);
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(kBurst, tokens_ + std::chrono::duration<double>(now - refilled_).count() * kRate);
    refilled_ = now;
    if (tokens_ < 1) {
      ++suppressed_total_;
      ++held_back_;
      if (!flooding_) {
        flooding_ = true;
        reported_at_ = now;
        log()->warn("[{}] this plugin writes more than {} log lines a second: its lines are held back and counted "
                    "until it slows down",
                    id_, static_cast<int>(kRate));
      }
      return;
    }
    tokens_ -= 1;
    if (flooding_) {
      ended = tokens_ >= kBurst / 2;
      if (ended || now - reported_at_ >= std::chrono::seconds(1)) {
        std::swap(reported, held_back_);
        reported_at_ = now;
      }
      if (ended) flooding_ = false;
    }
  }
  if (reported > 0)
    log()->warn("[{}] {} log line(s) of this plugin were held back (more than {} a second){}", id_, reported,
                static_cast<int>(kRate), ended ? "; it has slowed down" : "");
  log()->log(to_spdlog(level), "[{}] {}", id_, escape_log_text(message));
}

uint64_t PluginLog::suppressed_total() const {
  std::lock_guard lk(mu_);
  return suppressed_total_;
}

}  // namespace citylink::host
