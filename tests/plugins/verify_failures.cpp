// Plugins that each break one rule `citylink plugin verify` checks, so every check is shown
// failing on a real plugin file (and passing on the well-behaved ones elsewhere in the zoo).
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace {

citylink::Descriptor base(const std::string& id, const std::string& name) {
  citylink::Descriptor d;
  d.id = "kr.citylink.test." + id;
  d.name = name;
  d.vendor = "CityLink tests";
  d.version = "1.0.0";
  d.kind = "sensor";
  d.description = "A verify fixture: breaks one rule on purpose.";
  return d;
}

// Declares a config schema but never reads its config: create accepts text that is not even
// JSON, so a city's typo would run silently with defaults (check bad-config).
class IgnoresConfig : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("ignores-config", "Ignores its config");
    d.config_schema = R"({"type":"object","properties":{"interval_ms":{"type":"integer"}}})";
    return d;
  }
  explicit IgnoresConfig(const citylink::InstanceContext&) {}
};

// Starts its worker thread in the constructor and only stop() ends it, so an instance the
// host destroys without starting (another plugin failed first) leaves the thread running
// (check destroy-without-start).
class ThreadInCreate : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() { return base("thread-in-create", "Starts a thread in create"); }
  explicit ThreadInCreate(const citylink::InstanceContext&) : stop_(std::make_shared<std::atomic<bool>>(false)) {
    // The thread shares only the flag, so it touches no freed memory once destroy returns.
    std::thread([flag = stop_] {
      while (!*flag) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }).detach();
  }
  void stop() override { *stop_ = true; }

 private:
  std::shared_ptr<std::atomic<bool>> stop_;
};

// stop() waits for a device that never answers: longer than verify's bound of 5 s, so a host
// shutting down would wait on it too (the stop bound, reported by check lifecycle).
class SlowStop : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() { return base("slow-stop", "Takes 6 s to stop"); }
  explicit SlowStop(const citylink::InstanceContext&) {}
  void stop() override {
    if (!stopped_.exchange(true)) std::this_thread::sleep_for(std::chrono::seconds(6));
  }

 private:
  std::atomic<bool> stopped_{false};
};

// Trusts the payload of what it subscribes to: a reading that does not parse, or has no
// sensor id, kills the process (check malformed-payload). Envelopes on other topics and
// with other schemas it handles, so the other delivery checks pass.
class TrustsPayload : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("trusts-payload", "Trusts its payloads");
    d.kind = "sink";
    d.subscribes = {"sensor.reading"};
    return d;
  }
  explicit TrustsPayload(const citylink::InstanceContext&) {}
  void on_message(const citylink::Message& m) override {
    if (m.envelope().schema() != "citylink.v1.SensorReading") return;
    citylink::v1::SensorReading r;
    if (!r.ParseFromString(m.envelope().payload()) || r.sensor_id().empty()) std::abort();
  }
};

// Announces itself from its constructor, before start: the host refuses that publish, so
// the announcement is lost (check lifecycle).
class PublishesInCreate : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    auto d = base("publishes-in-create", "Publishes in create");
    d.publishes = {"sensor.reading"};
    return d;
  }
  explicit PublishesInCreate(const citylink::InstanceContext& ctx) {
    citylink::v1::SensorReading r;
    r.set_sensor_id("too-early");
    (void)ctx.host().publish("sensor.reading", r);
  }
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(IgnoresConfig, ThreadInCreate, SlowStop, TrustsPayload, PublishesInCreate)
