// The sample plugins with the host's scenario engine: what the agencies get is what the
// engine decided from what the products reported.
#include "sample_fixture.hpp"
#include <citylink/platform/platform.hpp>

using namespace citylink::samples_test;

namespace {

std::string scenario_city_yaml(const std::string& scenarios, const SampleCity& city) {
  return "city: samples-scenarios\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) + ", " +
         CITYLINK_SAMPLE_PLUGIN_DIR + "]\nscenarios:\n" + scenarios + city.sections() + "plugins:\n" + city.plugins;
}

}  // namespace

TEST_F(SampleCity, A112ReportNearTheFleetGrantsItsNearestCamerasToThe112CentreUntilFinished) {
  // A 5 x 5 grid 100 m apart; the report is at the grid's corner camera.
  add("vms", "camera_fleet.so",
      {{"grid", {{"origin_lat", 37.5}, {"origin_lon", 127.0}, {"rows", 5}, {"cols", 5}, {"spacing_m", 100}}},
       {"heartbeat_ms", 1000}});
  const json occurred = {{"at_ms", 300}, {"topic", "incident.112"}, {"event_code", "112UC001"},
                         {"occurrence_number", "INC-9"}, {"lat", 37.5}, {"lon", 127.0}, {"content", "assault"}};
  const json finished = {{"at_ms", 400}, {"topic", "incident.112"}, {"event_code", "112UC001"}, {"status", 91},
                         {"occurrence_number", "INC-9"}};
  add("feed", "incident_feed.so", {{"events", {occurred, finished}}});
  authorise("112UC001", "incident.112", "feed");
  console("112-centre", "grant.", "112");
  console("privacy-office", "audit.", "auditor");
  const std::string yaml = scenario_city_yaml("  emergency_video_112: {radius_m: 150, max_cameras: 3}\n", *this);
  host = std::make_unique<citylink::host::Host>(citylink::platform::parse_city_config(yaml, "c.yaml", dir.path()));
  citylink::platform::add_scenario_engine(*host);
  host->set_worker_command({CITYLINK_BIN, "worker"});
  host->start();
  ASSERT_TRUE(host->failures().empty()) << host->failures()[0].reason;

  auto grant = [](const std::string& action) {
    return [=](const json& j) { return j["schema"] == "citylink.v1.VideoShareGrant" && j["payload"]["action"] == action; };
  };
  ASSERT_TRUE(wait_for("112-centre.jsonl", 1, grant("ISSUE")));
  ASSERT_TRUE(wait_for("112-centre.jsonl", 1, grant("REVOKE")));
  const auto issue = lines("112-centre.jsonl", grant("ISSUE"))[0];
  EXPECT_EQ(issue["correlation_id"], "INC-9");
  // Within 150 m of the corner: the corner, its two neighbours at 100 m (the diagonal is 141 m).
  std::set<std::string> cams;
  for (const auto& c : issue["payload"]["camera_ids"]) cams.insert(c);
  EXPECT_EQ(cams.size(), 3u);
  EXPECT_TRUE(cams.count("GRID-R00C00")) << issue.dump();
  for (const auto& uri : issue["payload"]["stream_uris"])
    EXPECT_TRUE(contains(uri, "rtsp://vms.example.city/GRID-R")) << uri;
  EXPECT_TRUE(lines("112-centre.jsonl", [](const json& j) { return j["schema"] == "citylink.v1.AuditRecord"; }).empty());
  ASSERT_TRUE(wait_for("privacy-office.jsonl", 2));
  for (const auto& a : lines("privacy-office.jsonl")) EXPECT_EQ(a["payload"]["incident_id"], "INC-9");
}

TEST_F(SampleCity, AFloodFromTheWaterLevelSensorIsRaisedToTheSituationRoomAndCleared) {
  add("gauge", "water_level_sensor.so",
      {{"sensor_id", "WL-1"}, {"zone", "flood-prone-road:gangnam-daero"}, {"interval_ms", 5}, {"noise_m", 0.005},
       {"base_level_m", 0.2}, {"lat", 37.5}, {"lon", 127.0},
       {"events", json::array({json{{"at_ms", 50}, {"duration_ms", 150}, {"rise_m", 0.5}, {"ramp_ms", 20}}})}});
  const json cam = {{"camera_id", "CAM-R"}, {"lat", 37.5003}, {"lon", 127.0}, {"heading_deg", 180}};
  add("vms", "camera_fleet.so", {{"cameras", json::array({cam})}});
  console("situation-room", "dispatch.disaster, incident.disaster", "situation-room");
  host = std::make_unique<citylink::host::Host>(citylink::platform::parse_city_config(
      scenario_city_yaml("  disaster:\n    rules:\n      - {name: flood, zone_prefix: flood-prone-road, kind: water_level, "
                         "raise_above: 0.5, clear_below: 0.4, hold_seconds: 0}\n",
                         *this),
      "c.yaml", dir.path()));
  citylink::platform::add_scenario_engine(*host);
  host->set_worker_command({CITYLINK_BIN, "worker"});
  host->start();
  ASSERT_TRUE(host->failures().empty()) << host->failures()[0].reason;
  auto support = [](int status) {
    return [=](const json& j) { return j["schema"] == "citylink.v1.DispatchSupport" && j["payload"]["status"] == status; };
  };
  ASSERT_TRUE(wait_for("situation-room.jsonl", 1, support(10)));  // raised
  ASSERT_TRUE(wait_for("situation-room.jsonl", 1, support(50)));  // released when the water went down
  const auto raised = lines("situation-room.jsonl", support(10))[0];
  EXPECT_EQ(raised["correlation_id"].get<std::string>().size(), 17u) << raised.dump();  // the platform's digits
  EXPECT_TRUE(contains(raised["payload"]["text"], "sensor WL-1")) << raised.dump();
  ASSERT_FALSE(raised["payload"]["cameras"].empty());
  EXPECT_EQ(raised["payload"]["cameras"][0]["camera_id"], "CAM-R");
  EXPECT_EQ(lines("situation-room.jsonl", support(10)).size(), 1u);  // no flapping on noise
}

TEST_F(SampleCity, AnSosPressReaches112WithOnlyThePersonalDataItsPurposeAllows) {
  const json person = {{"person_id", "P1"}, {"name", "Kim"}, {"phone", "010-1"}, {"guardian", "Lee"},
                       {"lat", 37.5},        {"lon", 127.0},   {"at_ms", 200}};
  add("pendants", "sos_wearable.so", {{"persons", json::array({person})}});
  const json cam = {{"camera_id", "CAM-S"}, {"lat", 37.5002}, {"lon", 127.0}};
  add("vms", "camera_fleet.so", {{"cameras", json::array({cam})}});
  authorise("WPSSF110", "incident.vulnerable", "pendants");
  console("112-centre", "dispatch.", "112");
  console("privacy-office", "audit.", "auditor");
  host = std::make_unique<citylink::host::Host>(citylink::platform::parse_city_config(
      scenario_city_yaml("  vulnerable_sos:\n    recipients:\n      - {name: \"112\", topic: dispatch.112, purpose: rescue, "
                         "legal_basis: \"PIPA Art. 18(2)3\", personal_data: [name, phone]}\n",
                         *this),
      "c.yaml", dir.path()));
  citylink::platform::add_scenario_engine(*host);
  host->set_worker_command({CITYLINK_BIN, "worker"});
  host->start();
  ASSERT_TRUE(host->failures().empty()) << host->failures()[0].reason;
  auto dispatch = [](const json& j) { return j["schema"] == "citylink.v1.DispatchSupport"; };
  ASSERT_TRUE(wait_for("112-centre.jsonl", 1, dispatch));
  const auto d = lines("112-centre.jsonl", dispatch)[0];
  EXPECT_EQ(d["correlation_id"], "WPSSF110-P1-1");
  EXPECT_EQ(d["payload"]["personal_data"], (json{{"name", "Kim"}, {"phone", "010-1"}}));  // not the guardian
  EXPECT_EQ(d["payload"]["cameras"][0]["camera_id"], "CAM-S");
  ASSERT_TRUE(wait_for("privacy-office.jsonl", 1,
                       [](const json& j) { return j["payload"].value("action", "") == "personal_data.deliver"; }));
}
