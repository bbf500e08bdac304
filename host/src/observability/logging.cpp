// One spdlog logger for the whole host. Lines go to stderr from a thread of their own, so
// the router, the engine and a plugin's thread never wait on a blocked or slow stderr
// (review L4): the queue is bounded, and when it is full the oldest line is overwritten and
// counted (`log_lines_dropped`, `citylink_log_dropped_total`).
#include <citylink/host/error.hpp>
#include <citylink/host/logging.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <condition_variable>
#include <google/protobuf/stubs/logging.h>
#include <mutex>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace citylink::host {

namespace {

// Lines the queue holds before the oldest is overwritten: a burst of errors fits, and the
// preallocated queue costs about 1.5 MB.
constexpr std::size_t kQueueLines = 4096;

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

// A sink that writes nothing and counts the flushes the logging thread has done: since that
// thread takes the queue in order, a flush it has done means every line queued before the
// flush request is written.
class FlushBarrier final : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg&) override {}
  void flush() override {
    {
      std::lock_guard lk(mu_);
      ++done_;
    }
    cv_.notify_all();
  }
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

  // Asks `logger` to flush and waits until its thread has, or `deadline` passed (a flush
  // request can be overwritten in a full queue).
  void wait(spdlog::logger& logger, std::chrono::milliseconds deadline) {
    uint64_t ticket;
    {
      std::lock_guard lk(request_mu_);  // tickets in the order their requests are queued
      ticket = ++requested_;
      logger.flush();
    }
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, deadline, [&] { return done_ >= ticket; });
  }

 private:
  std::mutex request_mu_;
  uint64_t requested_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t done_ = 0;
};

struct Logging {
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<FlushBarrier> barrier;
  std::shared_ptr<spdlog::logger> logger;

  Logging() {
    if (auto existing = spdlog::get("citylink")) {  // an embedding program set its own
      logger = existing;
    } else {
      // SIGINT and SIGTERM are for the thread that runs the city (StopSignals), never this one.
      pool = std::make_shared<spdlog::details::thread_pool>(kQueueLines, 1, [] {
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, nullptr);
      });
      barrier = std::make_shared<FlushBarrier>();
      auto err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      logger = std::make_shared<spdlog::async_logger>("citylink", spdlog::sinks_init_list{err, barrier}, pool,
                                                      spdlog::async_overflow_policy::overrun_oldest);
    }
    logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
    google::protobuf::SetLogHandler(&on_protobuf_log);
  }
  // The pool's thread writes what is queued, then ends: lines logged just before a normal
  // exit are not lost.
  ~Logging() { pool.reset(); }
};

Logging& logging() {
  static Logging l;
  return l;
}

}  // namespace

std::shared_ptr<spdlog::logger> log() {
  static std::shared_ptr<spdlog::logger> logger = logging().logger;
  return logger;
}

void flush_log() {
  auto& l = logging();
  if (l.barrier) l.barrier->wait(*l.logger, std::chrono::seconds(2));
  else l.logger->flush();
}

// The barrier stays the last sink: once it has flushed, the logging thread is done with the
// list, and a sink removed after flush_log() is never called again.
void add_log_sink(spdlog::sink_ptr sink) {
  flush_log();
  auto& sinks = log()->sinks();
  sinks.insert(logging().barrier ? sinks.end() - 1 : sinks.end(), std::move(sink));
}

void remove_log_sink(const spdlog::sink_ptr& sink) {
  flush_log();
  auto& sinks = log()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
}

uint64_t log_lines_dropped() {
  auto& l = logging();
  return l.pool ? l.pool->overrun_counter() : 0;
}

void set_log_level(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off")
    throw ConfigError("log level '" + level + "' is not one of trace, debug, info, warn, error, off");
  log()->set_level(l);
}

}  // namespace citylink::host
