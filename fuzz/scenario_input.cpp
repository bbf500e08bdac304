// The scenario engine's inputs, as a granted source sends them: camera.info and .status,
// incident.*, sensor.reading and analytics.tracking, handled by the real engine (every
// scenario of the demo city enabled, its incident authority) that publishes through a real
// router. The first byte picks the topic, the second the source; the rest is the payload,
// wrapped in an envelope with the schema that topic takes, so the fuzzer reaches past the
// envelope into the scenarios. A first byte of 0xff sends the rest as the whole envelope.
#include <citylink/platform/platform.hpp>
#include <citylink/host/city_config.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/router.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/v1/envelope.pb.h>

#include <memory>
#include <string>
#include <zmq.hpp>

#include "fuzz_target.hpp"
#include "scenarios/catalog.hpp"

namespace {

using namespace citylink::host;
namespace scenarios = citylink::platform::scenarios;

constexpr const char* kCity = R"(city: fuzz-city
scenarios:
  emergency_video_112: {radius_m: 500, max_cameras: 5, grant_minutes: 0.05, renew_before_seconds: 1}
  dispatch_112: {}
  dispatch_119: {radius_m: 400}
  disaster:
    radius_m: 300
    rules:
      - {name: flood, zone_prefix: flood, kind: water_level, raise_above: 0.5, clear_below: 0.4, hold_seconds: 0}
      - {name: cold, zone_prefix: cold, kind: temperature, raise_below: -12, clear_above: -10, hold_seconds: 0}
  vulnerable_sos:
    radius_m: 300
    recipients:
      - {name: "112", topic: dispatch.112, purpose: rescue, legal_basis: law, personal_data: [name, phone]}
  electronic_anklet: {grant_minutes: 0.05, renew_before_seconds: 0}
  cctv_tracking: {ptz: true, max_predicted: 3}
incident_authority:
  112UC001: {topic: incident.112, sources: [feed]}
  112UC120: {topic: incident.112, sources: [feed]}
  119UC001: {topic: incident.119, sources: [feed]}
  MOJUC110: {topic: incident.moj, sources: [feed]}
  WPSSF110: {topic: incident.vulnerable, sources: [wearable]}
host: {max_cameras_per_instance: 64}
plugins:
  - {instance: feed, file: feed.so, enabled: false}
  - {instance: wearable, file: wearable.so, enabled: false}
  - {instance: cams, file: cams.so, enabled: false, cameras: {id_prefix: C, max: 64}}
  - {instance: other-cams, file: cams.so, enabled: false, cameras: {id_prefix: O, max: 8}}
)";

struct Input {
  const char* topic;
  const char* schema;
};
constexpr Input kInputs[] = {
    {"camera.info", "citylink.v1.CameraInfo"},          {"camera.status", "citylink.v1.CameraStatus"},
    {"incident.112", "citylink.v1.PlatformEvent"},      {"incident.119", "citylink.v1.PlatformEvent"},
    {"incident.moj", "citylink.v1.PlatformEvent"},      {"incident.vulnerable", "citylink.v1.PlatformEvent"},
    {"sensor.reading", "citylink.v1.SensorReading"},    {"analytics.tracking", "citylink.v1.TrackingInfo"},
};
constexpr const char* kSources[] = {"feed", "wearable", "cams", "other-cams"};

// Built once: libFuzzer calls the target many times in one process, as messages reach one engine.
struct World {
  zmq::context_t ctx;
  std::unique_ptr<Router> router;
  std::unique_ptr<scenarios::ScenarioEngine> engine;
  World() {
    log()->set_level(spdlog::level::critical);  // the engine's notes would be most of the time spent
    const CityConfig config = citylink::platform::parse_city_config(kCity, "fuzz-city.yaml", "/tmp");
    router = std::make_unique<Router>(ctx);
    router->start();
    engine = std::make_unique<scenarios::ScenarioEngine>(
        scenarios::build_scenarios(config.scenarios, ConfigReader(config.source.string(), config.base_dir)), *router,
        ctx, scenarios::input_policy(config));
  }
};

World& world() {
  // Destroyed at exit, before the logger and the other statics it uses (it made them first):
  // a leaked World left the router's thread running through static destruction, where it
  // read the freed logger (a heap-use-after-free in CI's ASan run, about one run in ten).
  static World w;
  return w;
}

}  // namespace

CITYLINK_FUZZ_TARGET(scenario_input) {
  auto& w = world();
  if (size < 2) return 0;
  if (data[0] == 0xff) {
    w.engine->drive(data + 1, size - 1);
    return 0;
  }
  const Input& in = kInputs[data[0] % (sizeof kInputs / sizeof kInputs[0])];
  citylink::v1::Envelope e;
  e.set_id("fuzz");
  e.set_topic(in.topic);
  e.set_schema(in.schema);
  e.set_source(kSources[data[1] % (sizeof kSources / sizeof kSources[0])]);
  e.set_payload(std::string(reinterpret_cast<const char*>(data + 2), size - 2));
  const std::string bytes = e.SerializeAsString();
  w.engine->drive(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return 0;
}
