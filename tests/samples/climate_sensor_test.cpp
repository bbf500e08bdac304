// climate-sensor: temperature and humidity per tick, heat waves and cold snaps.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;

TEST_F(SampleCity, ClimateSensorPublishesTemperatureAndHumidityEachTick) {
  add("school-gate", "climate_sensor.so",
      {{"sensor_id", "CL-1"}, {"interval_ms", 1}, {"count", 10}, {"zone", "child-protection:daechi-elementary"},
       {"lat", 37.4995}, {"lon", 127.0633}});
  console("room", "sensor.reading");
  collector("sensor.reading");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("room.jsonl", 20));
  ASSERT_TRUE(wait_for("collector.jsonl", 20));
  const auto got = lines("room.jsonl");
  ASSERT_EQ(got.size(), 20u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& r = got[i]["payload"];
    EXPECT_EQ(r["sensor_id"], "CL-1");
    EXPECT_EQ(r["zone"], "child-protection:daechi-elementary");
    EXPECT_EQ(r["position"]["lat"], 37.4995);
    EXPECT_EQ(r["kind"], i % 2 == 0 ? "temperature" : "humidity");  // one pair per tick, in order
    EXPECT_EQ(r["unit"], i % 2 == 0 ? "degC" : "%");
    EXPECT_NEAR(r["value"].get<double>(), i % 2 == 0 ? 24 : 55, i % 2 == 0 ? 2 : 10);
    EXPECT_EQ(got[i]["attributes"]["kind"], r["kind"]);
  }
  EXPECT_EQ(lines("collector.jsonl")[0]["sensor_id"], "CL-1");
}

TEST_F(SampleCity, ClimateSensorHeatWaveAndColdSnapMoveTheReadingsAndPass) {
  add("playground", "climate_sensor.so",
      {{"interval_ms", 2},
       {"base_temp_c", 22},
       {"noise_temp_c", 0.1},
       {"base_humidity_pct", 60},
       {"events", {{{"kind", "heat_wave"}, {"at_ms", 20}, {"duration_ms", 120}, {"delta_c", 14}, {"ramp_ms", 20}},
                   {{"kind", "cold_snap"}, {"at_ms", 200}, {"duration_ms", 120}, {"delta_c", 30}, {"ramp_ms", 20},
                    {"humidity_delta_pct", -50}}}}});
  console("room", "sensor.reading");
  ASSERT_EQ(start_and_get_failure(), "");
  auto event = [](const json& j) { return j["payload"]["attributes"].value("event", ""); };
  // Wait for a reading after the cold snap.
  ASSERT_TRUE(eventually([&] {
    bool cold = false;
    for (const auto& j : lines("room.jsonl")) {
      if (event(j) == "cold_snap") cold = true;
      else if (cold && event(j).empty()) return true;
    }
    return false;
  }));
  double hottest = -100, coldest = 100;
  for (const auto& j : lines("room.jsonl")) {
    const auto& r = j["payload"];
    const double v = r["value"];
    if (r["kind"] == "humidity") {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 100);
      continue;
    }
    if (event(j) == "heat_wave") hottest = std::max(hottest, v);
    if (event(j) == "cold_snap") coldest = std::min(coldest, v);
    if (event(j).empty()) {
      EXPECT_NEAR(v, 22, 1.5) << j.dump();
    }
  }
  EXPECT_NEAR(hottest, 36, 1.5);  // 22 + 14
  EXPECT_NEAR(coldest, -8, 1.5);  // 22 - 30
}

TEST_F(SampleCity, ClimateSensorRefusesABadConfigNamingTheFieldAndTheFix) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"zone", "school"}}, "field 'zone': 'school' must name a child protection zone"},
      {{{"base_humidity_pct", 120}}, "field 'base_humidity_pct': must be between 0 and 100"},
      {{{"events", {{{"kind", "storm"}, {"at_ms", 1}, {"duration_ms", 10}, {"delta_c", 5}}}}},
       "field 'events[0].kind': 'storm' is not one of: heat_wave, cold_snap"},
      {{{"events", {{{"at_ms", 1}, {"duration_ms", 10}, {"delta_c", 5}}}}}, "field 'events[0].kind': is required"},
      {{{"events", {{{"kind", "heat_wave"}, {"at_ms", 1}, {"duration_ms", 10}, {"delta_c", -5}}}}},
       "field 'events[0].delta_c': must be between 0 and 60"},
      {{{"interval", 100}}, "unknown field 'interval'; did you mean 'interval_ms'?"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) add("cl-" + std::to_string(i), "climate_sensor.so", cases[i].first);
  start();
  ASSERT_EQ(host->failures().size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(contains(host->failures()[i].reason, cases[i].second)) << i << ": " << host->failures()[i].reason;
}
