// Test-only plugin: tries to publish, at configured times, what only the host's scenario
// engine may send (DispatchSupport, VideoShareGrant, AuditRecord, PtzCommand): the forger
// the router must refuse (tests/samples/permissions_test.cpp).
#include <citylink/plugin.hpp>

#include "engine_stand_in.hpp"

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace {

using json = nlohmann::json;
using citylink::samples_test::engine_envelope;

class Emitter : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.test.samples-emitter";
    d.name = "Samples test emitter";
    d.vendor = "CityLink tests";
    d.version = "1.0.0";
    d.kind = "test";
    d.publishes = {"dispatch.", "grant.", "audit.", "camera.ptz"};
    return d;
  }
  // config: {"messages": [{"at_ms": 0, "topic": "camera.ptz", "type": "ptz"|"dispatch"|"grant"|"audit"|"garbage",
  //                        "correlation_id": "...", ...type fields}]}
  explicit Emitter(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    cfg_ = json::parse(ctx.config_json(), nullptr, false);
    if (!cfg_.is_object() || !cfg_.contains("messages")) throw citylink::ConfigError("field 'messages' is required");
  }
  void start() override {
    thread_ = std::thread([this] {
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& m : cfg_["messages"]) {
        while (!stop_ && std::chrono::steady_clock::now() < t0 + std::chrono::milliseconds(m.value("at_ms", 0)))
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (stop_) return;
        send(m);
      }
    });
  }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~Emitter() override { stop(); }

 private:
  void send(const json& m) { host_.publish_envelope(m.value("topic", ""), engine_envelope(m)); }

  citylink::Host host_;
  json cfg_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(Emitter)
