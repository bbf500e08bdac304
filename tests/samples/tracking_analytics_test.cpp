// tracking-analytics: a target walking past cameras it learns from camera.info, with handover.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;

namespace {

constexpr double kLat0 = 37.5, kLon = 127.0, kMetresPerDegLat = 111195.08;
double north(double metres) { return kLat0 + metres / kMetresPerDegLat; }

json camera(const std::string& id, double metres_north, double heading = 0) {
  return {{"camera_id", id}, {"lat", north(metres_north)}, {"lon", kLon}, {"heading_deg", heading},
          {"fov_deg", 90},   {"range_m", 60},               {"ptz", true}};
}

}  // namespace

TEST_F(SampleCity, TrackingAnalyticsFollowsTheTargetFromCameraToCameraWithHandover) {
  // Three cameras 100 m apart looking north up the street, each seeing 60 m of it; a fourth
  // one at B's place is offline, and one looks across the street.
  add("vms", "camera_fleet.so",
      {{"cameras", {camera("A", 0), camera("B", 100), camera("C", 200), camera("B-SPARE", 100),
                    camera("AWAY", 40, 90)}},
       {"offline", {{{"camera_id", "B-SPARE"}, {"at_ms", 0}}}},
       {"heartbeat_ms", 60000}});
  add("tracker", "tracking_analytics.so",
      {{"track_id", "T-7"},
       {"target_class", "person"},
       {"appearance", {{"upper_color", "red"}, {"height", "tall"}}},
       {"waypoints", {{{"lat", north(5)}, {"lon", kLon}}, {{"lat", north(250)}, {"lon", kLon}}}},
       {"speed_mps", 2.0},
       {"time_scale", 25},  // 50 m per real second: each camera sees the target for over a second
       {"tick_ms", 5},
       {"start_at_ms", 300},
       {"incident_id", "INC-7"}});
  console("police", "analytics.");
  ASSERT_EQ(start_and_get_failure(), "");
  auto tracking = [](const json& j) { return j["topic"] == "analytics.tracking"; };
  ASSERT_TRUE(wait_for("police.jsonl", 1, [](const json& j) {
    return j["topic"] == "analytics.tracking" && j["payload"]["camera_id"] == "C";
  }));
  ASSERT_TRUE(eventually([&] {  // the walk ends at 250 m, still in C's view
    const auto t = lines("police.jsonl", tracking);
    return !t.empty() && t.back()["payload"]["position"]["lat"].get<double>() >= north(249.9);
  }));
  const auto t = lines("police.jsonl", tracking);
  std::vector<std::string> order;  // the cameras in the order they saw the target
  for (const auto& j : t) {
    const auto& p = j["payload"];
    EXPECT_EQ(j["correlation_id"], "INC-7");
    EXPECT_EQ(p["incident_id"], "INC-7");
    EXPECT_EQ(p["track_id"], "T-7");
    EXPECT_EQ(p["target_class"], "person");
    EXPECT_EQ(p["appearance"]["upper_color"], "red");
    EXPECT_NEAR(p["heading_deg"].get<double>(), 0, 0.01);  // walking north
    EXPECT_EQ(p["speed_mps"], 2.0);
    EXPECT_TRUE(p["predicted_next_cameras"].empty());
    // The target is where the camera can see it: in range and, heading north, in front of it.
    const std::string cam = p["camera_id"];
    const double cam_m = cam == "A" ? 0 : cam == "B" ? 100 : 200;
    const double along = (p["position"]["lat"].get<double>() - kLat0) * kMetresPerDegLat;
    EXPECT_GE(along, cam_m - 1.0) << cam;  // within 1 m a camera sees all round
    EXPECT_LE(along, cam_m + 60.01) << cam;
    if (order.empty() || order.back() != cam) {
      order.push_back(cam);
      EXPECT_EQ(p["handed_over_from"], order.size() == 1 ? "" : order[order.size() - 2]) << j.dump();
    } else {
      EXPECT_EQ(p["handed_over_from"], "") << j.dump();  // set only on the update where the camera changes
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{"A", "B", "C"}));

  // One Detection per TrackingInfo. They are two messages, so the console may have written
  // either of a pair first: wait for the two counts to meet.
  const auto detection = [](const json& j) { return j["topic"] == "analytics.detection"; };
  EXPECT_TRUE(eventually([&] { return lines("police.jsonl", detection).size() == lines("police.jsonl", tracking).size(); }));
  const auto detections = lines("police.jsonl", detection);
  for (const auto& d : detections) {
    EXPECT_EQ(d["payload"]["track_id"], "T-7");
    EXPECT_EQ(d["payload"]["attributes"]["height"], "tall");
    EXPECT_GT(d["payload"]["confidence"].get<double>(), 0.5);
    EXPECT_LE(d["payload"]["confidence"].get<double>(), 0.92);
  }
}

TEST_F(SampleCity, TrackingAnalyticsFollowsAPtzCameraThatTurnsTowardsTheTarget) {
  // The only camera looks south; the target walks north past it. After the PTZ turn to
  // north (reported on camera.status) the tracker sees the target through it.
  add("vms", "camera_fleet.so", {{"cameras", {camera("P", 0, 180)}}, {"heartbeat_ms", 60000}});
  engine_says(json::array({{{"at_ms", 100}, {"topic", "camera.ptz"}, {"type", "ptz"}, {"camera_id", "P"}, {"pan_deg", 0.0}}}));
  add("tracker", "tracking_analytics.so",
      {{"track_id", "T-8"}, {"target_class", "vehicle"},
       {"waypoints", {{{"lat", north(10)}, {"lon", kLon}}, {{"lat", north(50)}, {"lon", kLon}}}},
       {"tick_ms", 5}, {"loop", true}, {"time_scale", 10}});
  collector("analytics.tracking");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("collector.jsonl", 3));
  for (const auto& j : lines("collector.jsonl")) {
    EXPECT_EQ(j["attributes"]["camera_id"], "P");
    EXPECT_EQ(j["correlation_id"], "");  // no incident configured
  }
}

TEST_F(SampleCity, TrackingAnalyticsRefusesABadConfigNamingTheFieldAndTheFix) {
  const json one_point = {{{"lat", 37.5}, {"lon", 127.0}}};
  const json two_points = {{{"lat", 37.5}, {"lon", 127.0}}, {{"lat", 37.501}, {"lon", 127.0}}};
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "field 'waypoints': needs at least two points"},
      {{{"waypoints", one_point}}, "field 'waypoints': needs at least two points"},
      {{{"waypoints", two_points}, {"target_class", "bicycle"}}, "field 'target_class': 'bicycle' is not one of: person, vehicle"},
      {{{"waypoints", {{{"lat", 37.5}}, {{"lat", 37.6}, {"lon", 127.0}}}}}, "field 'waypoints[0].lon': is required"},
      {{{"waypoints", two_points}, {"speed_mps", 0}}, "field 'speed_mps': must be between 0.01 and 100"},
      {{{"waypoints", {one_point[0], one_point[0]}}}, "the route is shorter than 1 m"},
      {{{"waypoints", two_points}, {"appearance", {{"age", 30}}}}, "field 'appearance.age': must be a string"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) add("tr-" + std::to_string(i), "tracking_analytics.so", cases[i].first);
  start();
  ASSERT_EQ(host->failures().size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(contains(host->failures()[i].reason, cases[i].second)) << i << ": " << host->failures()[i].reason;
}
