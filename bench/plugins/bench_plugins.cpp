// The two plugins the throughput harness runs: a publisher as fast as the bus takes it (or
// paced, stamping its send time, for the latency curves), and a counter (which, given
// `latency_out`, writes what each paced message took to reach it).
#include <citylink/plugin.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace {

citylink::Descriptor base(const std::string& id, const std::string& name, const std::string& kind) {
  citylink::Descriptor d;
  d.id = "kr.citylink.bench." + id;
  d.name = name;
  d.vendor = "CityLink benchmarks";
  d.version = "1.0.0";
  d.kind = kind;
  return d;
}

int64_t unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Publishes `count` envelopes carrying `payload_bytes` of payload; waits out backpressure.
// With `interval_us`, one every interval, each with its send time in attribute sent_ns.
class BenchPublisher : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("publisher", "Bench publisher", "source");
    d.publishes = {"bench.data"};
    return d;
  }
  explicit BenchPublisher(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto c = nlohmann::json::parse(ctx.config_json());
    count_ = c.value("count", 100000);
    payload_ = std::string(c.value("payload_bytes", 200), 'p');
    interval_ = std::chrono::microseconds(c.value("interval_us", 0));
  }
  void start() override {
    if (interval_.count() > 0) {
      thread_ = std::thread([this] { paced(); });
      return;
    }
    thread_ = std::thread([this] {
      // One envelope, serialized once: the harness measures the bus, not protobuf in the plugin.
      citylink::v1::Envelope e;
      e.set_topic("bench.data");
      e.set_schema("bench.v1.Blob");
      e.set_payload(payload_);
      const std::string bytes = e.SerializeAsString();
      // On backpressure it backs off briefly instead of spinning, as a well-behaved device
      // plugin would: a spinning publisher takes the core the router needs to drain its queue.
      for (long i = 0; i < count_ && !stop_; ++i)
        while (host_.publish_envelope("bench.data", bytes) == CITYLINK_ERR_BACKPRESSURE && !stop_)
          std::this_thread::sleep_for(std::chrono::microseconds(50));
    });
  }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~BenchPublisher() override { stop(); }

 private:
  void paced() {
    citylink::v1::Envelope e;
    e.set_topic("bench.data");
    e.set_schema("bench.v1.Blob");
    e.set_payload(payload_);
    auto next = std::chrono::steady_clock::now();
    for (long i = 0; i < count_ && !stop_; ++i) {
      std::this_thread::sleep_until(next);
      next += interval_;
      (*e.mutable_attributes())["sent_ns"] = std::to_string(unix_ns());
      const std::string bytes = e.SerializeAsString();
      while (host_.publish_envelope("bench.data", bytes) == CITYLINK_ERR_BACKPRESSURE && !stop_)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  citylink::Host host_;
  long count_ = 0;
  std::chrono::microseconds interval_{0};
  std::string payload_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Accepts every message; the host's delivered counter is what the harness reads. With
// `latency_out`, it also notes, for each message stamped with sent_ns, how long it took from
// the publisher's call to here, and writes those microseconds to that file on destroy.
class BenchCounter : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("counter", "Bench counter", "sink");
    d.subscribes = {"bench."};
    return d;
  }
  explicit BenchCounter(const citylink::InstanceContext& ctx) {
    const auto c = nlohmann::json::parse(ctx.config_json(), nullptr, false);
    if (c.is_object()) latency_out_ = c.value("latency_out", "");
  }
  void on_message(const citylink::Message& m) override {
    if (latency_out_.empty()) return;
    const auto& a = m.envelope().attributes();
    const auto it = a.find("sent_ns");
    if (it != a.end()) latencies_us_.push_back(static_cast<double>(unix_ns() - std::stoll(it->second)) / 1000.0);
  }
  ~BenchCounter() override {
    if (latency_out_.empty()) return;
    if (FILE* f = std::fopen(latency_out_.c_str(), "w")) {
      for (const double us : latencies_us_) std::fprintf(f, "%.1f\n", us);
      std::fclose(f);
    }
  }

 private:
  std::string latency_out_;
  std::vector<double> latencies_us_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(BenchPublisher, BenchCounter)
