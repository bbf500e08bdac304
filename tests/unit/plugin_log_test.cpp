// A plugin's log lines through the one PluginLog: levels as abi.h says, and a flood that
// costs the host's log about one line a second of its own (review L4).
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

namespace {

using citylink::host::PluginLog;

// The host's logger writes into `out` while this lives.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("%l %v");
    citylink::host::add_log_sink(sink_);
    level_ = citylink::host::log()->level();
    citylink::host::log()->set_level(spdlog::level::trace);
  }
  ~CapturedLog() {
    citylink::host::remove_log_sink(sink_);
    citylink::host::log()->set_level(level_);
  }
  // What the logging thread has written by now: everything logged before the call.
  std::size_t count(const std::string& needle) const {
    citylink::host::flush_log();
    const auto s = out_.str();
    std::size_t n = 0;
    for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }
  std::string text() const {
    citylink::host::flush_log();
    return out_.str();
  }

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

// A sink that holds the logging thread until released: stderr to a terminal that is paused,
// or a pipe nobody reads.
class StuckSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StuckSink(std::shared_future<void> release) : release_(std::move(release)) {}
  std::size_t lines() {
    std::lock_guard lk(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    release_.wait();
    if (msg.payload.size() >= 5 && std::string_view(msg.payload.data(), 5) == "stuck") ++lines_;
  }
  void flush_() override {}

 private:
  std::shared_future<void> release_;
  std::size_t lines_ = 0;
};

// Review L4: with stderr blocked, every thread that logged (the router, the engine, a plugin)
// blocked behind it. Before, the logging thread below never finished.
TEST(HostLog, AStuckStderrNeverBlocksTheThreadsThatLogAndWhatItCouldNotTakeIsCounted) {
  std::promise<void> release;
  auto stuck = std::make_shared<StuckSink>(release.get_future().share());
  citylink::host::add_log_sink(stuck);
  const auto dropped_before = citylink::host::log_lines_dropped();
  constexpr std::size_t kLines = 20000;
  auto writer = std::async(std::launch::async, [] {
    for (std::size_t i = 0; i < kLines; ++i) citylink::host::log()->warn("stuck {}", i);
  });
  const bool finished = writer.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  release.set_value();  // whatever happened, so the test ends
  writer.wait();
  citylink::host::remove_log_sink(stuck);
  EXPECT_TRUE(finished) << "the thread that logged waited on the stuck sink";
  const auto dropped = citylink::host::log_lines_dropped() - dropped_before;
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(stuck->lines() + dropped, kLines) << "every line is written or counted";
}

}  // namespace
