// The scenario engine on the real bus: a city with scenarios enabled, messages published
// through the real router, outputs received by a real collector plugin.
#include <citylink/host/error.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/scenarios/engine.hpp>
#include <citylink/v1/envelope.pb.h>

#include "scenario_fixture.hpp"
#include "test_support.hpp"

using namespace citylink::test;

namespace {

struct EngineFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<Host> host;
  std::shared_ptr<Publisher> feed;

  void start(const std::string& scenarios_yaml) {
    const std::string yaml = "city: engine-test\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                             "]\nscenarios:\n" + scenarios_yaml +
                             "plugins:\n  - instance: agency\n    file: zoo_behaviour.so\n"
                             "    plugin: kr.citylink.test.collector\n    config: {out: " +
                             (dir / "agency.jsonl").string() +
                             "}\n    grants: {subscribe: [grant., dispatch., audit., camera.ptz, incident.disaster]}\n";
    host = std::make_unique<Host>(parse_city_config(yaml, "engine-test.yaml", dir.path()));
    host->start();
    ASSERT_TRUE(host->failures().empty());
    ASSERT_NE(host->scenario_engine(), nullptr);
    feed = host->router().add_publisher("platform-feed", {"*"}, std::make_shared<InstanceCounters>());
    feed->open();
  }
  void publish(const std::string& topic, const google::protobuf::Message& m, const std::string& correlation = "") {
    citylink::v1::Envelope e;
    e.set_schema(m.GetTypeName());
    e.set_payload(m.SerializeAsString());
    e.set_correlation_id(correlation);
    const auto bytes = e.SerializeAsString();
    ASSERT_EQ(feed->publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr), CITYLINK_OK);
  }
  std::vector<nlohmann::json> received() { return read_jsonl(dir / "agency.jsonl"); }
  std::size_t count(const std::string& topic) {
    std::size_t n = 0;
    for (const auto& j : received()) n += j["topic"] == topic;
    return n;
  }
  uint64_t counter(const std::string& key) {
    const auto c = host->scenario_engine()->counters();
    auto it = c.find(key);
    return it == c.end() ? 0 : it->second;
  }
};

citylink::v1::CameraInfo camera(const std::string& id, double north_m) {
  auto [lat, lon] = offset(kLat, kLon, north_m, 0);
  citylink::v1::CameraInfo c;
  c.set_camera_id(id);
  c.mutable_position()->set_lat(lat);
  c.mutable_position()->set_lon(lon);
  c.set_field_of_view_deg(90);
  c.set_range_m(100);
  c.set_stream_uri("rtsp://vms.test/" + id);
  c.set_status(citylink::v1::CAMERA_STATE_ONLINE);
  return c;
}

}  // namespace

TEST_F(EngineFixture, A112ReportBecomesAGrantAnAuditRecordAndARevocationOnFinish) {
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  for (int i = 0; i < 3; ++i) publish("camera.info", camera("cam-" + std::to_string(i), 100.0 * (i + 1)));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 3; }));
  publish("incident.112", event("112UC001", "112-777", 10, kLat, kLon), "112-777");
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 1 && count("audit.video_grant") == 1; }));
  publish("incident.112", event("112UC001", "112-777", 91, kLat, kLon), "112-777");
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 2 && count("audit.video_grant") == 2; }));
  for (const auto& j : received()) {
    EXPECT_EQ(j["source"], ScenarioEngine::kSource);
    EXPECT_EQ(j["correlation_id"], "112-777");
  }
}

TEST_F(EngineFixture, BadInputIsRejectedCountedAndTheEngineKeepsGoing) {
  start("  emergency_video_112:\n");
  publish("camera.info", camera("cam-1", 50));
  auto no_pos = event("112UC001", "A", 10, kLat, kLon);
  no_pos.clear_location();
  publish("incident.112", no_pos);
  publish("incident.112", event("112UC001", "B", 10, 123.0, kLon));  // outside WGS84
  publish("incident.112", event("XYZ", "C", 10, kLat, kLon));        // unknown code
  citylink::v1::SensorReading nan;
  nan.set_sensor_id("S");
  nan.set_value(std::nan(""));
  publish("sensor.reading", nan);
  citylink::v1::TrackingInfo unknown_cam;
  unknown_cam.set_track_id("T");
  unknown_cam.set_camera_id("nope");
  publish("analytics.tracking", unknown_cam);
  publish("incident.112", event("112UC001", "D", 10, kLat, kLon));
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 1; }));
  EXPECT_EQ(counter("incidents/rejected"), 3u);
  EXPECT_EQ(counter("sensors/not_a_number"), 1u);
  EXPECT_EQ(counter("tracking/unknown_camera"), 1u);
}

TEST_F(EngineFixture, ScenarioConfigMistakesNameTheLineAndField) {
  try {
    parse_city_config("scenarios:\n  emergency_video_112: {radius_m: far}\nplugins: []\n", "c.yaml", dir.path());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml:2:35: scenarios.emergency_video_112.radius_m: expected a number"),
              std::string::npos)
        << e.what();
  }
  try {
    parse_city_config("scenarios:\n  emergency_vidoe_112: {}\nplugins: []\n", "c.yaml", dir.path());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown field 'emergency_vidoe_112'"), std::string::npos) << e.what();
  }
}
