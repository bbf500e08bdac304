// The two plugins the throughput harness runs: a publisher as fast as the bus takes it, and a counter.
#include <citylink/plugin.hpp>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

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

// Publishes `count` envelopes carrying `payload_bytes` of payload; waits out backpressure.
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
  }
  void start() override {
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
  citylink::Host host_;
  long count_ = 0;
  std::string payload_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Accepts every message; the host's delivered counter is what the harness reads.
class BenchCounter : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("counter", "Bench counter", "sink");
    d.subscribes = {"bench."};
    return d;
  }
  explicit BenchCounter(const citylink::InstanceContext&) {}
  void on_message(const citylink::Message&) override {}
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(BenchPublisher, BenchCounter)
