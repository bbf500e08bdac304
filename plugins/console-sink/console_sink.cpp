// A sink that plays an operator's console: logs one line per message it receives.
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <atomic>
#include <nlohmann/json.hpp>

namespace {

class ConsoleSink : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.console-sink";
    d.name = "Console sink";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "sink";
    d.description = "Logs every message it receives; subscribe it to what you want to watch.";
    d.subscribes = {"sensor.", "incident.", "dispatch.", "grant.", "audit."};
    d.config_schema = R"({"type":"object","properties":{"label":{"type":"string"}},"additionalProperties":false})";
    return d;
  }

  explicit ConsoleSink(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = nlohmann::json::parse(ctx.config_json(), nullptr, false);
    if (!cfg.is_object()) throw citylink::ConfigError("config must be a JSON object");
    for (const auto& [key, value] : cfg.items()) {
      (void)value;
      if (key != "label") throw citylink::ConfigError("unknown config field '" + key + "'; known: label");
    }
    label_ = cfg.value("label", "console");
  }

  void on_message(const citylink::Message& m) override {
    const auto& env = m.envelope();
    ++received_;
    if (auto r = m.payload<citylink::v1::SensorReading>()) {
      host_.info(label_ + ": " + std::string(m.topic()) + " from " + env.source() + ": " + r->sensor_id() + " " +
                 r->kind() + " = " + std::to_string(r->value()) + " " + r->unit());
    } else {
      host_.info(label_ + ": " + std::string(m.topic()) + " from " + env.source() + ": " + env.schema() + " (" +
                 std::to_string(env.payload().size()) + " bytes)");
    }
  }

  void stop() override { host_.info(label_ + ": received " + std::to_string(received_.load()) + " message(s)"); }

 private:
  citylink::Host host_;
  std::string label_;
  std::atomic<uint64_t> received_{0};
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(ConsoleSink)
