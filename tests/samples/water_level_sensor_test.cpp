// water-level-sensor: noisy readings, and configured floods that rise, hold and clear.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;

TEST_F(SampleCity, WaterLevelSensorPublishesNoisyReadingsAroundTheBaseLevel) {
  add("gauge", "water_level_sensor.so",
      {{"sensor_id", "WL-GANGNAM-1"}, {"interval_ms", 1}, {"count", 30}, {"base_level_m", 0.3}, {"noise_m", 0.01},
       {"zone", "flood-prone-road:gangnam-daero"}});
  console("room", "sensor.reading");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("room.jsonl", 30));
  std::set<double> values;
  for (const auto& j : lines("room.jsonl")) {
    const auto& r = j["payload"];
    EXPECT_EQ(r["sensor_id"], "WL-GANGNAM-1");
    EXPECT_EQ(r["kind"], "water_level");
    EXPECT_EQ(r["unit"], "m");
    EXPECT_EQ(r["zone"], "flood-prone-road:gangnam-daero");
    EXPECT_NEAR(r["value"].get<double>(), 0.3, 0.1);
    values.insert(r["value"].get<double>());
  }
  EXPECT_GT(values.size(), 20u);  // noisy, not constant
}

TEST_F(SampleCity, WaterLevelSensorFloodEventRampsUpHoldsAndClears) {
  add("gauge", "water_level_sensor.so",
      {{"interval_ms", 2},
       {"base_level_m", 0.2},
       {"noise_m", 0.005},
       {"events", {{{"at_ms", 30}, {"duration_ms", 150}, {"rise_m", 0.5}, {"ramp_ms", 20}}}}});
  console("room", "sensor.reading");
  ASSERT_EQ(start_and_get_failure(), "");
  // Wait for a reading after the event has ended.
  auto in_event = [](const json& j) { return j["payload"]["attributes"].contains("event"); };
  ASSERT_TRUE(eventually([&] {
    const auto all = lines("room.jsonl");
    bool seen = false;
    for (const auto& j : all) {
      if (in_event(j)) seen = true;
      else if (seen) return true;
    }
    return false;
  }));
  const auto all = lines("room.jsonl");
  ASSERT_FALSE(in_event(all.front()));
  EXPECT_NEAR(all.front()["payload"]["value"].get<double>(), 0.2, 0.05);  // before: the base level
  double peak = 0;
  std::size_t last_event = 0;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (in_event(all[i])) peak = std::max(peak, all[i]["payload"]["value"].get<double>()), last_event = i;
  EXPECT_NEAR(peak, 0.7, 0.05);  // the hold: base + rise
  ASSERT_LT(last_event + 1, all.size());
  EXPECT_NEAR(all[last_event + 1]["payload"]["value"].get<double>(), 0.2, 0.05);  // after: back to the base
}

TEST_F(SampleCity, WaterLevelSensorRefusesABadConfigNamingTheFieldAndTheFix) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"interval_ms", 0}}, "field 'interval_ms': must be at least 1"},
      {{{"lat", 123.0}}, "field 'lat': must be between -90 and 90"},
      {{{"event", json::array()}}, "unknown field 'event'; did you mean 'events'?"},
      {{{"events", {{{"at_ms", 10}, {"duration_ms", 100}}}}}, "field 'events[0].rise_m': is required"},
      {{{"events", {{{"at_ms", 10}, {"duration_ms", 100}, {"rise_m", 0.4}, {"ramp_ms", 200}}}}},
       "field 'events[0].ramp_ms': must be between 0 and 100"},
      {{{"events", {{{"at", 10}, {"duration_ms", 100}, {"rise_m", 0.4}}}}}, "unknown field 'events[0].at'"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) add("wl-" + std::to_string(i), "water_level_sensor.so", cases[i].first);
  start();
  ASSERT_EQ(host->failures().size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(contains(host->failures()[i].reason, cases[i].second)) << i << ": " << host->failures()[i].reason;
}
