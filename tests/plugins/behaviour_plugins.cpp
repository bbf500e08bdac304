// One library, several test plugins, each doing one thing the host must handle.
#include <citylink/plugin.hpp>
#include <citylink/v1/platform_event.pb.h>
#include <citylink/v1/sensor.pb.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

namespace {

nlohmann::json parse_config(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw citylink::ConfigError("config must be a JSON object");
  return j;
}

citylink::Descriptor base(const std::string& id, const std::string& name) {
  citylink::Descriptor d;
  d.id = "kr.citylink.test." + id;
  d.name = name;
  d.vendor = "CityLink tests";
  d.version = "1.0.0";
  d.kind = "test";
  return d;
}

// create always fails with a message, like a plugin given a config it cannot use.
class CreateFails : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() { return base("create-fails", "Create fails"); }
  explicit CreateFails(const citylink::InstanceContext&) {
    throw citylink::ConfigError("field 'camera_url' is required; set it to the camera's RTSP address");
  }
};

// start fails, after create succeeded.
class StartFails : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() { return base("start-fails", "Start fails"); }
  explicit StartFails(const citylink::InstanceContext&) {}
  void start() override { throw citylink::Error(CITYLINK_ERR_UNAVAILABLE, "device at 10.0.0.9 does not answer"); }
};

// on_message throws every time.
class Throws : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("throws", "Throws in on_message");
    d.subscribes = {"test."};
    return d;
  }
  explicit Throws(const citylink::InstanceContext&) {}
  void on_message(const citylink::Message&) override { throw std::runtime_error("boom on purpose"); }
};

// Publishes `count` messages on `topic` from its own thread, then stops; `pause_ms` after
// every 100 gives a stream a lower bound on its length, whatever the machine's speed;
// `pad_bytes` makes each message's payload that much bigger.
// `log_lines` times `log_text` are written to the host's log first (a flood, a forged line).
// `refusals_out`: at stop, the number of publishes refused for good (neither OK nor
// BACKPRESSURE) is written there, so a test sees what the plugin was told.
class Publisher : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("publisher", "Test publisher");
    d.publishes = {"test.data", "test.other"};
    // Stricter than the code, which takes any count: the host's schema check is what refuses.
    d.config_schema = R"({"type":"object","properties":{"count":{"type":"integer","minimum":0},
      "topic":{"type":"string"},"correlation_id":{"type":"string"},"pause_ms":{"type":"integer","minimum":0},
      "start_delay_ms":{"type":"integer","minimum":0},"log_lines":{"type":"integer","minimum":0},
      "log_text":{"type":"string"},"refusals_out":{"type":"string"},"pad_bytes":{"type":"integer","minimum":0}}})";
    return d;
  }
  explicit Publisher(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    auto c = parse_config(ctx.config_json());
    topic_ = c.value("topic", "test.data");
    count_ = c.value("count", 10);
    correlation_ = c.value("correlation_id", "");
    retry_ = c.value("retry_on_backpressure", true);
    pause_ = std::chrono::milliseconds(c.value("pause_ms", 0));
    start_delay_ = std::chrono::milliseconds(c.value("start_delay_ms", 0));
    log_lines_ = c.value("log_lines", 0);
    log_text_ = c.value("log_text", "");
    refusals_out_ = c.value("refusals_out", "");
    pad_ = std::string(c.value("pad_bytes", 0), 'p');
  }
  void start() override {
    std::this_thread::sleep_for(start_delay_);  // a device that takes its time to come up
    for (int i = 0; i < log_lines_; ++i) host_.warn(log_text_);
    thread_ = std::thread([this] {
      for (int i = 0; i < count_ && !stop_; ++i) {
        citylink::v1::SensorReading r;
        r.set_sensor_id("seq-" + std::to_string(i));
        r.set_value(i);
        citylink_status st;
        if (!pad_.empty()) r.set_zone(pad_);
        while ((st = host_.publish(topic_, r, correlation_, {{"seq", std::to_string(i)}})) == CITYLINK_ERR_BACKPRESSURE &&
               retry_ && !stop_)
          std::this_thread::yield();
        if (st != CITYLINK_OK && st != CITYLINK_ERR_BACKPRESSURE) ++refused_;
        if (pause_.count() > 0 && i % 100 == 99) std::this_thread::sleep_for(pause_);
      }
    });
  }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (!refusals_out_.empty()) std::ofstream(refusals_out_) << refused_ << "\n";
  }
  ~Publisher() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  citylink::Host host_;
  std::string topic_, correlation_, refusals_out_, pad_;
  uint64_t refused_ = 0;  // the publishing thread's, read after it ended
  int count_ = 0, log_lines_ = 0;
  std::string log_text_;
  bool retry_ = true;
  std::chrono::milliseconds pause_{0}, start_delay_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Publishes one bad message of the configured kind, then one good one on test.ok. Three modes
// break the lifecycle instead, for `verify`: publish-after-stop (its thread goes on publishing
// after stop, until destroy), thread-after-destroy (a thread outlives destroy) and
// forge-verdict (prints a passing verdict in start and exits).
class Rogue : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("rogue", "Rogue publisher");
    d.publishes = {"test.ok", "test.data"};
    return d;
  }
  explicit Rogue(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    mode_ = parse_config(ctx.config_json()).value("mode", "outside-grants");
  }
  void start() override {
    citylink::v1::SensorReading r;
    r.set_sensor_id("rogue");
    const auto* api = host_.raw();
    auto raw = [&](const char* topic, const std::string& bytes) {
      api->publish(api, topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
    };
    citylink::v1::Envelope e;
    e.set_schema(r.GetTypeName());
    e.set_payload(r.SerializeAsString());
    if (mode_ == "outside-grants") {
      host_.publish("camera.ptz", r);
    } else if (mode_ == "oversize") {
      e.set_payload(std::string(2 << 20, 'x'));
      raw("test.data", e.SerializeAsString());
    } else if (mode_ == "garbage") {
      raw("test.data", std::string("\x0a\xff\xff\xff\xff\x01", 6));
    } else if (mode_ == "topic-mismatch") {
      e.set_topic("test.other");
      raw("test.data", e.SerializeAsString());
    } else if (mode_ == "bad-topic") {
      raw("Test..Data", e.SerializeAsString());
    } else if (mode_ == "no-schema") {
      e.clear_schema();
      raw("test.data", e.SerializeAsString());
    } else if (mode_ == "forged-source") {
      e.set_source("someone-else");
      e.set_id("forged-id");
      e.set_time_unix_ns(42);
      raw("test.ok", e.SerializeAsString());
    } else if (mode_ == "publish-after-stop") {
      late_ = std::thread([this, r] {
        while (!done_) {
          host_.publish("test.ok", r);
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
    } else if (mode_ == "thread-after-destroy") {
      // Longer than any verify child lives, however slow: the check must find it running.
      std::thread([] { std::this_thread::sleep_for(std::chrono::seconds(60)); }).detach();
    } else if (mode_ == "forge-verdict") {
      // What `verify` once read as its check's answer, then an exit before the check ran.
      std::printf("{\"ok\":true,\"detail\":\"forged\"}\n");
      std::fflush(stdout);
      _exit(0);
    }
    host_.publish("test.ok", r);
  }
  ~Rogue() override {
    done_ = true;
    if (late_.joinable()) late_.join();
  }

 private:
  citylink::Host host_;
  std::string mode_;
  std::atomic<bool> done_{false};
  std::thread late_;
};

// Appends one JSON line per received message to the file named by `out`. On a durable
// subscription `ack` says what it does with each delivery: auto (the helper acks), never,
// redelivered-only (acks only redeliveries), nack-drop (nack without requeue), nack-once
// (nack with requeue, then acks the redelivery), stale-tag (nack-once, and on the redelivery
// acks and nacks the first delivery's dead tag), check-tags (acks twice and a foreign tag,
// with progress before and after).
class Collector : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("collector", "Test collector");
    d.kind = "sink";
    d.subscribes = {"test."};
    return d;
  }
  explicit Collector(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    auto c = parse_config(ctx.config_json());
    if (!c.contains("out")) throw citylink::ConfigError("field 'out' (a file path) is required");
    drop_torn_tail(c["out"].get<std::string>());
    out_.open(c["out"].get<std::string>(), std::ios::app);
    if (!out_) throw citylink::ConfigError("cannot open 'out' file " + c["out"].get<std::string>());
    ack_ = c.value("ack", "auto");
    crash_on_ = c.value("crash_on", "");  // a sensor id that kills the process (a poison message)
    // Or on the n-th message it receives, whichever that is: once (its successor finds the
    // mark it left next to `out`, and goes on).
    crash_after_ = c.value("crash_after", 0);
    crashed_mark_ = c["out"].get<std::string>() + ".crashed";
    publish_topic_ = c.value("publish_topic", "");
    if (c.contains("publish_topics")) publish_topics_ = c["publish_topics"].get<std::vector<std::string>>();
    if (!publish_topic_.empty()) publish_topics_.push_back(publish_topic_);
    publish_count_ = c.value("publish_count", 0);
    publish_pad_ = std::string(c.value("publish_pad_bytes", 0), 'p');
    publish_after_ = std::chrono::milliseconds(c.value("publish_after_ms", 0));
  }
  // With `publish_topic` and `publish_count`, it also publishes a stream of its own while it
  // collects (a subscriber that is a publisher too), retrying what is refused for now;
  // `publish_topics` (a list) takes turns between several topics;
  // `publish_pad_bytes` makes each of those messages that much bigger; `publish_after_ms`
  // lets the rest of the city start first.
  void start() override {
    if (publish_count_ <= 0 || publish_topics_.empty()) return;
    thread_ = std::thread([this] {
      for (auto until = std::chrono::steady_clock::now() + publish_after_;
           !stop_ && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      for (int i = 0; i < publish_count_ && !stop_; ++i) {
        citylink::v1::SensorReading r;
        r.set_sensor_id("out-" + std::to_string(i));
        r.set_zone(publish_pad_);
        const std::string& topic = publish_topics_[static_cast<std::size_t>(i) % publish_topics_.size()];
        while (host_.publish(topic, r) == CITYLINK_ERR_BACKPRESSURE && !stop_) std::this_thread::yield();
      }
    });
  }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~Collector() override { stop(); }
  // A worker killed inside write() can leave half a line (the kernel stops a write between
  // pages when SIGKILL is pending). That message was not acked, so it comes again; its torn
  // record is cut off here rather than joined to the next line.
  static void drop_torn_tail(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in || in.tellg() <= 0) return;
    in.seekg(-1, std::ios::end);
    if (in.get() == '\n') return;  // whole: the usual case reads one byte
    in.seekg(0);
    const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto last_newline = all.rfind('\n');
    std::error_code ec;
    std::filesystem::resize_file(path, last_newline == std::string::npos ? 0 : last_newline + 1, ec);
  }
  bool manual_acks() const override { return ack_ != "auto"; }
  void on_message(const citylink::Message& m) override {
    const auto& e = m.envelope();
    if (crash_after_ > 0 && ++received_ == crash_after_ && !std::filesystem::exists(crashed_mark_)) {
      std::ofstream(crashed_mark_) << "crashed\n";
      std::abort();
    }
    nlohmann::json j = {{"topic", std::string(m.topic())}, {"id", e.id()},         {"source", e.source()},
                        {"time", e.time_unix_ns()},        {"schema", e.schema()}, {"correlation_id", e.correlation_id()},
                        {"attributes", nlohmann::json::object()}};
    for (const auto& [k, v] : e.attributes()) j["attributes"][k] = v;
    if (auto r = m.payload<citylink::v1::SensorReading>()) {
      j["sensor_id"] = r->sensor_id();
      if (!crash_on_.empty() && r->sensor_id() == crash_on_) std::abort();
    }
    if (auto ev = m.payload<citylink::v1::PlatformEvent>()) {
      nlohmann::json items = nlohmann::json::object();
      for (const auto& [k, v] : ev->items()) items[k] = v;
      j["event"] = {{"code", ev->event_code()},          {"number", ev->occurrence_number()},
                    {"status", static_cast<int>(ev->status())}, {"raw_status", ev->raw_status_code()},
                    {"grade", static_cast<int>(ev->grade())},  {"lat", ev->location().lat()},
                    {"lon", ev->location().lon()},         {"place", ev->place().full_text()},
                    {"content", ev->content()},            {"sender", ev->sender_system()},
                    {"occurred_ns", ev->occurred_unix_ns()}, {"items", items}};
    }
    j["redelivered"] = m.redelivered();
    j["redelivery_count"] = m.redelivery_count();
    j["durable"] = m.delivery_tag() != 0;
    out_ << j.dump() << '\n';
    out_.flush();
    if (m.delivery_tag() == 0) return;
    if (ack_ == "check-tags") {
      // What the host table says to a first ack, a repeated one and a tag it never gave;
      // and citylink.durable/1's progress before and after the ack, and on a foreign tag.
      const auto progress = host_.progress(m.delivery_tag());
      const auto first = host_.ack(m.delivery_tag());
      const auto again = host_.ack(m.delivery_tag());
      const auto unknown = host_.ack(m.delivery_tag() + (uint64_t{1} << 60));
      const auto progress_after = host_.progress(m.delivery_tag());
      const auto progress_unknown = host_.progress(m.delivery_tag() + (uint64_t{1} << 60));
      out_ << nlohmann::json{{"ack", first},
                             {"ack_again", again},
                             {"ack_unknown", unknown},
                             {"progress", progress},
                             {"progress_after_ack", progress_after},
                             {"progress_unknown", progress_unknown}}
                  .dump()
           << '\n';
      out_.flush();
    }
    if (ack_ == "stale-tag") {
      // A redelivery's tag replaces the first one; the first is dead, and calls on it do nothing.
      if (!m.redelivered()) {
        first_tag_[e.id()] = m.delivery_tag();
        host_.nack(m.delivery_tag(), true);
      } else {
        const uint64_t old = first_tag_[e.id()];
        out_ << nlohmann::json{{"tag_is_new", old != 0 && old != m.delivery_tag()},
                               {"ack_stale", host_.ack(old)},
                               {"nack_stale", host_.nack(old, true)}}
                    .dump()
             << '\n';
        out_.flush();
        host_.ack(m.delivery_tag());
      }
    }
    if (ack_ == "redelivered-only" && m.redelivered()) host_.ack(m.delivery_tag());
    if (ack_ == "nack-drop") host_.nack(m.delivery_tag(), false);
    if (ack_ == "nack-once") {
      if (m.redelivered()) host_.ack(m.delivery_tag());
      else host_.nack(m.delivery_tag(), true);
    }
  }

 private:
  citylink::Host host_;
  std::ofstream out_;
  std::string ack_, crash_on_, publish_topic_, publish_pad_, crashed_mark_;
  std::vector<std::string> publish_topics_;
  int publish_count_ = 0;
  int crash_after_ = 0, received_ = 0;
  std::chrono::milliseconds publish_after_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::map<std::string, uint64_t> first_tag_;  // stale-tag: envelope id -> its first delivery's tag
};

// Sleeps in on_message for `delay_ms`, so its queue fills and the router must drop.
class Slow : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("slow", "Slow subscriber");
    d.subscribes = {"test."};
    return d;
  }
  explicit Slow(const citylink::InstanceContext& ctx) { delay_ = parse_config(ctx.config_json()).value("delay_ms", 200); }
  void on_message(const citylink::Message&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_));
  }

 private:
  int delay_ = 200;
};

}  // namespace

// A platform bridge in miniature: at start it reports 112 incident `number` at (`lat`,
// `lon`), and as it stops it sends that incident's "finished", the way a bridge passes on
// what the platform sent just before a shutdown (review H6: the host must still handle it).
class IncidentCloser : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("incident-closer", "Reports an incident at start and finishes it at stop");
    d.publishes = {"incident.112"};
    return d;
  }
  explicit IncidentCloser(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    auto c = parse_config(ctx.config_json());
    number_ = c.value("number", "112-closer");
    lat_ = c.value("lat", 37.4979);
    lon_ = c.value("lon", 127.0276);
  }
  void start() override { report(citylink::v1::EVENT_STATUS_OCCURRED); }
  void stop() override { report(citylink::v1::EVENT_STATUS_FINISHED); }

 private:
  void report(citylink::v1::EventStatus status) {
    citylink::v1::PlatformEvent ev;
    ev.set_event_code("112UC001");
    ev.set_occurrence_number(number_);
    ev.set_status(status);
    ev.mutable_location()->set_lat(lat_);
    ev.mutable_location()->set_lon(lon_);
    host_.publish("incident.112", ev, number_);
  }
  citylink::Host host_;
  std::string number_;
  double lat_, lon_;
};

CITYLINK_PLUGIN_LIBRARY(CreateFails, StartFails, Throws, Publisher, Rogue, Collector, Slow, IncidentCloser)
