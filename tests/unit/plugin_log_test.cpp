// A plugin's log lines through the one PluginLog: levels as abi.h says, and a flood that
// costs the host's log about one line a second of its own (review L4).
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

namespace {

using citylink::host::PluginLog;

// The host's logger writes into `out` while this lives.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("%l %v");
    citylink::host::log()->sinks().push_back(sink_);
    level_ = citylink::host::log()->level();
    citylink::host::log()->set_level(spdlog::level::trace);
  }
  ~CapturedLog() {
    auto& sinks = citylink::host::log()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    citylink::host::log()->set_level(level_);
  }
  std::size_t count(const std::string& needle) const {
    const auto s = out_.str();
    std::size_t n = 0;
    for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

TEST(PluginLog, EscapingKeepsALineOnItsLineWithinItsLengthAndWholeCharacters) {
  using citylink::host::escape_log_text;
  EXPECT_EQ(escape_log_text("a\nb\x1b[2J\\"), "a\\nb\\x1b[2J\\\\");
  EXPECT_EQ(escape_log_text("csi \xc2\x9b" "31m"), "csi \\u009b31m");  // U+009B, a C1 control
  EXPECT_EQ(escape_log_text("\x01\x01\x01", 10), "\\x01\\x01...");   // never past the limit but the mark
  EXPECT_EQ(escape_log_text("\xea\xb0\x80\xea\xb0\x80", 5), "\xea\xb0\x80...");  // no half of the second '가'
  EXPECT_EQ(escape_log_text("\xea\xb0\x80", 3), "\xea\xb0\x80");
}

TEST(PluginLog, AnUnknownLevelIsLoggedAsInfo) {
  CapturedLog captured;
  PluginLog log("newer");
  log.write(static_cast<citylink_log_level>(42), "from a newer SDK");
  log.write(static_cast<citylink_log_level>(-3), "from a confused one");
  EXPECT_EQ(captured.count("info [newer] from a newer SDK"), 1u) << captured.text();
  EXPECT_EQ(captured.count("info [newer] from a confused one"), 1u) << captured.text();
}

// Before: every line that got through a sustained flood said "held back" and the next one
// announced the flood again, some 100 lines a second of the host's own.
TEST(PluginLog, AFloodIsAnnouncedOnceAndSummedUpAtMostOnceASecond) {
  CapturedLog captured;
  PluginLog log("chatty");
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  std::size_t written = 0;
  while (std::chrono::steady_clock::now() < until) {
    log.write(CITYLINK_LOG_INFO, "line");
    ++written;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_GT(log.suppressed_total(), 0u) << "no flood: " << written << " lines";
  EXPECT_EQ(captured.count("this plugin writes more than"), 1u) << captured.text();
  // One summary a second while it lasts: 2 or 3 in 2.5 s, never one per line let through.
  EXPECT_LE(captured.count("were held back"), 4u);
  EXPECT_GE(captured.count("[chatty] line"), 200u);  // the burst, then the sustained rate
}

}  // namespace
