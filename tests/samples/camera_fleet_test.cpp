// camera-fleet: cameras from a list, a CSV and a grid; heartbeats; PTZ; scheduled outages.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;

namespace {

const json kTwoCameras = json::array(
    {{{"camera_id", "CAM-1"}, {"name", "Gangnam station exit 10"}, {"lat", 37.4979}, {"lon", 127.0276},
      {"heading_deg", 0}, {"fov_deg", 90}, {"range_m", 100}, {"ptz", true}},
     {{"camera_id", "CAM-2"}, {"lat", 37.4990}, {"lon", 127.0280}, {"heading_deg", 180}, {"ptz", false},
      {"stream_uri", "rtsp://10.1.2.3/live/2"}}});

json info_of(const std::vector<json>& lines, const std::string& id) {
  for (const auto& j : lines)
    if (j["payload"]["camera_id"] == id) return j["payload"];
  return nullptr;
}

}  // namespace

TEST_F(SampleCity, CameraFleetAnnouncesCamerasFromAListACsvAndAGrid) {
  citylink::test::write_file(dir / "cams.csv",
                             "camera_id,name,lat,lon,heading_deg,fov_deg,range_m,ptz,stream_uri\n"
                             "# a comment line\n"
                             "CSV-1,\"Teheran-ro, north side\",37.5000,127.0300,90,60,120,true,\n"
                             "CSV-2,Yeoksam park,37.5010,127.0310,270,120,50,no,rtsp://vms.example.city/custom\n"
                             "\n"
                             "CSV-3,,37.5020,127.0320,,,,,\n");
  add("vms", "camera_fleet.so",
      {{"cameras", kTwoCameras},
       {"csv", path("cams.csv")},
       {"grid", {{"origin_lat", 37.51}, {"origin_lon", 127.04}, {"rows", 2}, {"cols", 3}, {"spacing_m", 150},
                 {"heading_pattern", "cycle"}, {"ptz_every", 2}, {"id_prefix", "GN"}}},
       {"heartbeat_ms", 60000}});
  console("registry", "camera.info");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("registry.jsonl", 11));
  const auto got = lines("registry.jsonl");
  ASSERT_EQ(got.size(), 11u);  // announced once: announce_interval_ms is 30 s by default

  const auto c1 = info_of(got, "CAM-1");
  EXPECT_EQ(c1["name"], "Gangnam station exit 10");
  EXPECT_EQ(c1["stream_uri"], "rtsp://vms.example.city/CAM-1");
  EXPECT_EQ(c1["ptz_capable"], true);
  EXPECT_EQ(c1["status"], "ONLINE");
  EXPECT_EQ(info_of(got, "CAM-2")["stream_uri"], "rtsp://10.1.2.3/live/2");
  EXPECT_EQ(info_of(got, "CAM-2")["range_m"], 80.0);  // fleet default

  const auto s1 = info_of(got, "CSV-1");
  EXPECT_EQ(s1["name"], "Teheran-ro, north side");
  EXPECT_EQ(s1["heading_deg"], 90.0);
  EXPECT_EQ(s1["field_of_view_deg"], 60.0);
  EXPECT_EQ(s1["ptz_capable"], true);
  EXPECT_EQ(s1["stream_uri"], "rtsp://vms.example.city/CSV-1");
  EXPECT_EQ(info_of(got, "CSV-2")["stream_uri"], "rtsp://vms.example.city/custom");
  EXPECT_EQ(info_of(got, "CSV-2")["ptz_capable"], false);
  EXPECT_EQ(info_of(got, "CSV-3")["name"], "CSV-3");

  // The grid: rows go north, columns east, spacing_m apart; headings cycle N, E, S, W.
  const auto g00 = info_of(got, "GN-R00C00"), g01 = info_of(got, "GN-R00C01"), g10 = info_of(got, "GN-R01C00");
  ASSERT_FALSE(g00.is_null());
  ASSERT_FALSE(info_of(got, "GN-R01C02").is_null());
  EXPECT_DOUBLE_EQ(g00["position"]["lat"].get<double>(), 37.51);
  EXPECT_NEAR(haversine_m(37.51, 127.04, g01["position"]["lat"], g01["position"]["lon"]), 150, 0.5);
  EXPECT_NEAR(haversine_m(37.51, 127.04, g10["position"]["lat"], g10["position"]["lon"]), 150, 0.5);
  EXPECT_NEAR(initial_bearing(37.51, 127.04, g01["position"]["lat"], g01["position"]["lon"]), 90, 0.1);
  EXPECT_EQ(g00["heading_deg"], 0.0);
  EXPECT_EQ(g01["heading_deg"], 90.0);
  EXPECT_EQ(info_of(got, "GN-R00C02")["heading_deg"], 180.0);
  EXPECT_EQ(g10["heading_deg"], 270.0);
  EXPECT_EQ(g00["ptz_capable"], true);  // every 2nd camera
  EXPECT_EQ(g01["ptz_capable"], false);
}

TEST_F(SampleCity, CameraFleetHeartbeatsReannouncesAndGoesOfflineOnSchedule) {
  add("vms", "camera_fleet.so",
      {{"cameras", kTwoCameras},
       {"heartbeat_ms", 10},
       {"announce_interval_ms", 15},
       {"offline", {{{"camera_id", "CAM-2"}, {"at_ms", 30}, {"detail", "fibre cut"}},
                    {{"camera_id", "CAM-1"}, {"at_ms", 20}, {"until_ms", 60}}}}});
  collector("camera.");
  ASSERT_EQ(start_and_get_failure(), "");
  auto status = [](const std::string& cam, const std::string& state, const std::string& reason) {
    return [=](const json& j) {
      return j["topic"] == "camera.status" && j["attributes"]["camera_id"] == cam && j["attributes"]["status"] == state &&
             (reason.empty() || j["attributes"]["reason"] == reason);
    };
  };
  ASSERT_TRUE(wait_for("collector.jsonl", 1, status("CAM-2", "OFFLINE", "offline")));
  ASSERT_TRUE(wait_for("collector.jsonl", 2, status("CAM-2", "OFFLINE", "heartbeat")));
  ASSERT_TRUE(wait_for("collector.jsonl", 1, status("CAM-1", "OFFLINE", "offline")));
  ASSERT_TRUE(wait_for("collector.jsonl", 1, status("CAM-1", "ONLINE", "online")));
  ASSERT_TRUE(wait_for("collector.jsonl", 1, [](const json& j) {
    return j["topic"] == "camera.info" && j["attributes"]["camera_id"] == "CAM-2" && j["attributes"]["status"] == "OFFLINE";
  }));
  // Once offline for good, CAM-2 never reports ONLINE again.
  bool seen_offline = false;
  for (const auto& j : lines("collector.jsonl", [](const json& j) {
         return j["topic"] == "camera.status" && j["attributes"]["camera_id"] == "CAM-2";
       })) {
    if (j["attributes"]["status"] == "OFFLINE") {
      seen_offline = true;
    } else {
      EXPECT_FALSE(seen_offline) << j.dump();
    }
  }
  EXPECT_GE(lines("collector.jsonl", [](const json& j) { return j["topic"] == "camera.info"; }).size(), 4u);
}

TEST_F(SampleCity, CameraFleetTurnsItsPtzCamerasAndReportsThePose) {
  // A point 60 m east and 60 m north of CAM-1: the bearing is close to 45 degrees.
  const double east_lat = 37.4979 + 60.0 / 111195.0, east_lon = 127.0276 + 60.0 / (111195.0 * std::cos(37.4979 * 3.14159265358979 / 180));
  add("vms", "camera_fleet.so", {{"cameras", kTwoCameras}, {"heartbeat_ms", 60000}});
  engine_says(json::array({
                        {{"at_ms", 50}, {"topic", "camera.ptz"}, {"type", "ptz"}, {"camera_id", "CAM-1"}, {"pan_deg", 450.0},
                         {"reason", "operator"}, {"correlation_id", "INC-3"}},
                        {{"at_ms", 60}, {"topic", "camera.ptz"}, {"type", "ptz"}, {"camera_id", "CAM-1"},
                         {"look_at_lat", east_lat}, {"look_at_lon", east_lon}, {"correlation_id", "INC-3"}},
                        {{"at_ms", 70}, {"topic", "camera.ptz"}, {"type", "ptz"}, {"camera_id", "CAM-2"}, {"pan_deg", 10.0}},
                        {{"at_ms", 80}, {"topic", "camera.ptz"}, {"type", "ptz"}, {"camera_id", "OTHER-9"}, {"pan_deg", 10.0}},
                    }));
  console("ops", "camera.status");
  ASSERT_EQ(start_and_get_failure(), "");
  auto ptz = [](const json& j) { return j["attributes"]["reason"] == "ptz"; };
  ASSERT_TRUE(wait_for("ops.jsonl", 3, ptz));
  const auto got = lines("ops.jsonl", ptz);
  ASSERT_EQ(got.size(), 3u);  // nothing for the camera of another fleet
  EXPECT_EQ(got[0]["payload"]["camera_id"], "CAM-1");
  EXPECT_DOUBLE_EQ(got[0]["payload"]["heading_deg"].get<double>(), 90.0);  // 450 normalised
  EXPECT_EQ(got[0]["correlation_id"], "INC-3");
  EXPECT_TRUE(contains(got[0]["payload"]["detail"], "turned to 90.0 deg (operator)")) << got[0];
  EXPECT_NEAR(got[1]["payload"]["heading_deg"].get<double>(), initial_bearing(37.4979, 127.0276, east_lat, east_lon), 0.01);
  EXPECT_NEAR(got[1]["payload"]["heading_deg"].get<double>(), 45, 0.5);
  EXPECT_EQ(got[2]["payload"]["camera_id"], "CAM-2");
  EXPECT_EQ(got[2]["payload"]["detail"], "ptz refused: fixed camera");
  EXPECT_DOUBLE_EQ(got[2]["payload"]["heading_deg"].get<double>(), 180.0);  // did not move
}

TEST_F(SampleCity, CameraFleetRefusesABadConfigNamingTheFieldAndTheFix) {
  citylink::test::write_file(dir / "bad.csv", "camera_id,name,lat,lon\nX-1,x,north,127.0\n");
  citylink::test::write_file(dir / "nohdr.csv", "id,lat,lon\nX-1,37.5,127.0\n");
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "no cameras configured; give `cameras`"},
      {{{"camras", kTwoCameras}}, "unknown field 'camras'; did you mean 'cameras'?"},
      {{{"cameras", {{{"camera_id", "A"}, {"lat", 37.5}}}}}, "field 'cameras[0].lon': is required"},
      {{{"cameras", {{{"camera_id", "A"}, {"lat", 37.5}, {"lon", 127.0}, {"fov_deg", 400}}}}},
       "field 'cameras[0].fov_deg': must be between 1 and 360"},
      {{{"cameras", {kTwoCameras[0], kTwoCameras[0]}}}, "camera_id 'CAM-1' appears twice"},
      {{{"csv", path("missing.csv")}}, "field 'csv': cannot read"},
      {{{"csv", path("bad.csv")}}, "line 2: column 'lat' is 'north'; it must be a number"},
      {{{"csv", path("nohdr.csv")}}, "the header has no 'camera_id' column"},
      {{{"grid", {{"origin_lat", 37.5}, {"origin_lon", 127.0}, {"rows", 0}, {"cols", 2}, {"spacing_m", 100}}}},
       "field 'grid.rows': must be between 1 and 1000"},
      {{{"grid", {{"origin_lat", 37.5}, {"origin_lon", 127.0}, {"rows", 1}, {"cols", 2}, {"spacing_m", 100},
                  {"heading_pattern", "spiral"}}}},
       "field 'grid.heading_pattern': 'spiral' is not one of: north, east, south, west, cycle, alternate"},
      {{{"cameras", kTwoCameras}, {"offline", {{{"camera_id", "CAM-7"}, {"at_ms", 10}}}}},
       "field 'offline[0].camera_id': 'CAM-7' is not one of this fleet's cameras"},
      {{{"cameras", kTwoCameras}, {"heartbeat_ms", 0}}, "field 'heartbeat_ms': must be at least 1"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) add("vms-" + std::to_string(i), "camera_fleet.so", cases[i].first);
  start();
  ASSERT_EQ(host->failures().size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(contains(host->failures()[i].reason, cases[i].second)) << i << ": " << host->failures()[i].reason;
}
