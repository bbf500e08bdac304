// One spdlog logger for the whole host. Lines go to stderr from a thread of their own, so
// the router, the engine and a plugin's thread never wait on a blocked or slow stderr
// (review L4): the queue is bounded, and when it is full the oldest line is overwritten and
// counted (`log_lines_dropped`, `citylink_log_dropped_total`).
#include <citylink/host/error.hpp>
#include <citylink/host/logging.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <google/protobuf/stubs/logging.h>
#include <mutex>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <string>

namespace citylink::host {

namespace {

// Lines the queue holds before the oldest is overwritten: a burst of errors fits, and the
// preallocated queue costs about 1.5 MB.
constexpr std::size_t kQueueLines = 4096;
constexpr auto kFlushDeadline = std::chrono::seconds(2);

// Protobuf logs a line of its own for every string field with invalid UTF-8 it parses, so a
// plugin publishing such envelopes could flood the host's log (found by fuzzing). Its lines
// go through the host's logger instead, the first 5 and then every 1000th.
void on_protobuf_log(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  static std::atomic<uint64_t> count{0};
  const uint64_t n = count.fetch_add(1, std::memory_order_relaxed) + 1;
  if (level < google::protobuf::LOGLEVEL_FATAL && n > 5 && n % 1000 != 0) return;
  log()->log(level >= google::protobuf::LOGLEVEL_ERROR ? spdlog::level::err : spdlog::level::warn,
             "protobuf ({}:{}, #{}; repeated lines are logged every 1000th): {}", file, line, n, message);
  if (level >= google::protobuf::LOGLEVEL_FATAL) flush_log();  // protobuf aborts next
}

// The sink of a second logger on the same queue, which only ever carries numbered markers:
// the one logging thread takes the queue in order, so a marker it has seen means every line
// queued before it is written. A marker overwritten in a full queue is covered by any later
// one (the count only rises), and no sink of the host's logger is being called once a
// marker has been seen.
class FlushBarrier final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void wait_for(uint64_t ticket, std::chrono::milliseconds deadline) {
    std::unique_lock lk(seen_mu_);
    seen_cv_.wait_for(lk, deadline, [&] { return seen_ >= ticket; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const uint64_t ticket = std::strtoull(std::string(msg.payload.data(), msg.payload.size()).c_str(), nullptr, 10);
    {
      std::lock_guard lk(seen_mu_);
      seen_ = std::max(seen_, ticket);
    }
    seen_cv_.notify_all();
  }
  void flush_() override {}

 private:
  std::mutex seen_mu_;
  std::condition_variable seen_cv_;
  uint64_t seen_ = 0;
};

// Made once and never destroyed: a thread that logs during or after static destruction
// (a plugin's, a worker's) finds it whole, and an exit never joins a logging thread that a
// stuck stderr holds. What is queued at a normal exit is written first, within the deadline.
struct Logging {
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sinks;  // stderr, and what add_log_sink adds
  std::shared_ptr<FlushBarrier> barrier;
  std::shared_ptr<spdlog::logger> marker;  // the barrier's logger, on the same queue
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<uint64_t> tickets{0};

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
      sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
      sinks->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      logger = std::make_shared<spdlog::async_logger>("citylink", sinks, pool,
                                                      spdlog::async_overflow_policy::overrun_oldest);
      barrier = std::make_shared<FlushBarrier>();
      marker = std::make_shared<spdlog::async_logger>("citylink-flush", barrier, pool,
                                                      spdlog::async_overflow_policy::overrun_oldest);
      marker->set_pattern("%v");
      std::atexit([] { flush_log(); });
    }
    logger->set_pattern("%H:%M:%S.%e %^%-5l%$ %v");
    google::protobuf::SetLogHandler(&on_protobuf_log);
  }
};

Logging& logging() {
  static Logging* l = new Logging;
  return *l;
}

}  // namespace

std::shared_ptr<spdlog::logger> log() {
  static std::shared_ptr<spdlog::logger> logger = logging().logger;
  return logger;
}

void flush_log() {
  auto& l = logging();
  if (!l.barrier) {
    l.logger->flush();  // an embedding program's logger: as its own flush does
    return;
  }
  const uint64_t ticket = l.tickets.fetch_add(1, std::memory_order_relaxed) + 1;
  l.marker->info("{}", ticket);
  l.barrier->wait_for(ticket, kFlushDeadline);
}

void add_log_sink(spdlog::sink_ptr sink) {
  auto& l = logging();
  if (l.sinks) l.sinks->add_sink(std::move(sink));
  else l.logger->sinks().push_back(std::move(sink));  // an embedding program's logger
}

void remove_log_sink(const spdlog::sink_ptr& sink) {
  auto& l = logging();
  flush_log();  // what was logged while it was there reaches it
  if (l.sinks) {
    l.sinks->remove_sink(sink);
  } else {
    auto& v = l.logger->sinks();
    v.erase(std::remove(v.begin(), v.end(), sink), v.end());
  }
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
