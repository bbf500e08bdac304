// sos-wearable: SOS presses of registered people, as WPSSF110 platform events.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;

namespace {

json person(const std::string& id, const json& at_ms) {
  return {{"person_id", id},         {"name", "Kim Young-hee"}, {"phone", "010-1234-5678"},
          {"guardian", "Kim Min-su"}, {"lat", 37.5665},          {"lon", 126.9780},
          {"at_ms", at_ms}};
}

}  // namespace

TEST_F(SampleCity, SosWearableReportsEachPressAsAnUrgentWpssf110WithPersonalDataItems) {
  auto p1 = person("P1", json::array({0, 40}));
  p1["finish_after_ms"] = 20;
  p1["condition"] = "dementia";
  p1["address"] = "Sejong-daero 110";
  auto p2 = person("P2", 10);
  p2["name"] = "Park Ji-ho";
  add("pendants", "sos_wearable.so", {{"persons", {p1, p2}}});
  console("112-centre", "incident.vulnerable");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("112-centre.jsonl", 5));
  const auto got = lines("112-centre.jsonl");

  std::map<std::string, std::vector<int>> statuses;  // occurrence number -> statuses in order
  for (const auto& j : got) {
    const auto& e = j["payload"];
    EXPECT_EQ(j["topic"], "incident.vulnerable");
    EXPECT_EQ(e["event_code"], "WPSSF110");
    EXPECT_EQ(e["grade"], 10);
    EXPECT_EQ(j["correlation_id"], e["occurrence_number"]);
    EXPECT_EQ(e["location"]["lat"], 37.5665);
    EXPECT_EQ(e["items"]["phone"], "010-1234-5678");
    EXPECT_EQ(e["items"]["guardian"], "Kim Min-su");
    statuses[e["occurrence_number"]].push_back(e["status"]);
  }
  EXPECT_EQ(statuses["WPSSF110-P1-1"], (std::vector<int>{10, 91}));
  EXPECT_EQ(statuses["WPSSF110-P1-2"], (std::vector<int>{10, 91}));
  EXPECT_EQ(statuses["WPSSF110-P2-1"], (std::vector<int>{10}));
  EXPECT_EQ(statuses.size(), 3u);

  const auto p2_events = lines("112-centre.jsonl", [](const json& j) { return j["correlation_id"] == "WPSSF110-P2-1"; });
  ASSERT_EQ(p2_events.size(), 1u);
  EXPECT_EQ(p2_events[0]["payload"]["items"]["name"], "Park Ji-ho");
  EXPECT_EQ(p2_events[0]["attributes"]["person_id"], "P2");
  const auto p1_first = lines("112-centre.jsonl", [](const json& j) { return j["correlation_id"] == "WPSSF110-P1-1"; });
  EXPECT_EQ(p1_first[0]["payload"]["items"]["condition"], "dementia");
  EXPECT_EQ(p1_first[0]["payload"]["address"], "Sejong-daero 110");
  EXPECT_TRUE(contains(p1_first[0]["payload"]["content"], "SOS button pressed on SOS-P1 (P1, dementia)"));
}

TEST_F(SampleCity, SosWearableRefusesABadConfigNamingTheFieldAndTheFix) {
  auto no_phone = person("P1", 0);
  no_phone.erase("phone");
  auto far = person("P1", 0);
  far["lon"] = 226.9;
  auto bad_at = person("P1", json::array({0, "later"}));
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "field 'persons': needs at least one person"},
      {{{"persons", {no_phone}}}, "field 'persons[0].phone': is required; e.g. \"phone\": \"010-1234-5678\""},
      {{{"persons", {far}}}, "field 'persons[0].lon': must be between -180 and 180"},
      {{{"persons", {bad_at}}}, "field 'persons[0].at_ms': element 1 is \"later\""},
      {{{"persons", {person("P1", 0), person("P1", 5)}}}, "person_id 'P1' appears twice"},
      {{{"persons", {person("P1", 0)}}, {"topic", "incident.x"}}, "unknown field 'topic'"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) add("sos-" + std::to_string(i), "sos_wearable.so", cases[i].first);
  start();
  ASSERT_EQ(host->failures().size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(contains(host->failures()[i].reason, cases[i].second)) << i << ": " << host->failures()[i].reason;
}
