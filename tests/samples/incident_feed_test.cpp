// incident-feed: scripted platform events, published as the platform would pass them.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;

namespace {

json event(int at_ms, const std::string& topic, const std::string& code, int status, const std::string& number) {
  return {{"at_ms", at_ms}, {"topic", topic}, {"event_code", code}, {"status", status}, {"occurrence_number", number},
          {"lat", 37.4979}, {"lon", 127.0276}, {"address", "Gangnam-daero 396, Seoul"},
          {"content", "report " + std::to_string(status)}};
}

}  // namespace

TEST_F(SampleCity, IncidentFeedPlaysOneIncidentThroughItsStatusesWithTheOccurrenceNumberAsCorrelation) {
  json script = json::array({event(0, "incident.112", "112UC001", 10, "INC-1"),
                             event(20, "incident.112", "112UC001", 40, "INC-1"),
                             event(40, "incident.112", "112UC001", 91, "INC-1"),
                             event(10, "incident.119", "119UC001", 10, "F-7")});
  script[0]["items"] = {{"caller", "010-1111-2222"}, {"kind", "assault"}};
  script[1]["lat"] = 37.4990;  // the caller moved
  for (const char* k : {"lat", "lon", "address"}) script[2].erase(k);  // the closing update repeats nothing
  add("feed", "incident_feed.so", {{"events", script}});
  console("situation-room", "incident.");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("situation-room.jsonl", 4));

  const auto inc = lines("situation-room.jsonl", [](const json& j) { return j["correlation_id"] == "INC-1"; });
  ASSERT_EQ(inc.size(), 3u);
  std::vector<int> statuses;
  for (const auto& j : inc) {
    statuses.push_back(j["payload"]["status"]);
    EXPECT_EQ(j["topic"], "incident.112");
    EXPECT_EQ(j["source"], "feed");
    EXPECT_EQ(j["schema"], "citylink.v1.PlatformEvent");
    EXPECT_EQ(j["payload"]["occurrence_number"], "INC-1");
    EXPECT_EQ(j["payload"]["event_code"], "112UC001");
    EXPECT_EQ(j["payload"]["event_name"], "112 emergency video");
    EXPECT_EQ(j["payload"]["grade"], 10);
    EXPECT_EQ(j["payload"]["sender"], "112");
    EXPECT_EQ(j["payload"]["receiver"], "UCP");
    EXPECT_EQ(j["payload"]["address"], "Gangnam-daero 396, Seoul");
    EXPECT_EQ(j["payload"]["occurred_unix_ns"], inc[0]["payload"]["occurred_unix_ns"]);  // one incident, one time
    EXPECT_EQ(j["attributes"]["event_code"], "112UC001");
  }
  EXPECT_EQ(statuses, (std::vector<int>{10, 40, 91}));  // in script order
  EXPECT_EQ(inc[0]["payload"]["items"]["caller"], "010-1111-2222");
  EXPECT_DOUBLE_EQ(inc[1]["payload"]["location"]["lat"].get<double>(), 37.4990);
  EXPECT_DOUBLE_EQ(inc[2]["payload"]["location"]["lat"].get<double>(), 37.4990);  // the last known position
  EXPECT_TRUE(contains(inc[2]["summary"], "PlatformEvent 112UC001 INC-1 (finished, grade 10) from 112")) << inc[2]["summary"];

  const auto fire = lines("situation-room.jsonl", [](const json& j) { return j["correlation_id"] == "F-7"; });
  ASSERT_EQ(fire.size(), 1u);
  EXPECT_EQ(fire[0]["topic"], "incident.119");
  EXPECT_EQ(fire[0]["payload"]["sender"], "119");
}

TEST_F(SampleCity, IncidentFeedSendsAnEventWithoutPositionWhenTheScriptHasNone) {
  add("feed", "incident_feed.so",
      {{"events", {{{"topic", "incident.moj"}, {"event_code", "MOJUC110"}, {"occurrence_number", "M-1"},
                    {"items", {{"violation", "device_damage"}}}, {"sender", "MOJ-CENTRE"}}}}});
  collector("incident.");
  console("moj", "incident.moj");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("moj.jsonl", 1));
  ASSERT_TRUE(wait_for("collector.jsonl", 1));
  const auto j = lines("moj.jsonl")[0];
  EXPECT_EQ(j["payload"]["location"]["lat"], 0.0);
  EXPECT_EQ(j["payload"]["sender"], "MOJ-CENTRE");
  EXPECT_EQ(j["payload"]["items"]["violation"], "device_damage");
  EXPECT_EQ(j["payload"]["status"], 10);  // default: occurred
  EXPECT_EQ(lines("collector.jsonl")[0]["correlation_id"], "M-1");
}

TEST_F(SampleCity, IncidentFeedRefusesABadScriptNamingTheFieldAndTheFix) {
  const std::vector<std::pair<json, std::string>> cases = {
      {json::object(), "field 'events': needs at least one event"},
      {{{"event", json::array()}}, "unknown field 'event'; did you mean 'events'?"},
      {{{"events", {event(0, "dispatch.112", "112UC001", 10, "I")}}},
       "field 'events[0].topic': 'dispatch.112' must be an incident topic"},
      {{{"events", {event(0, "incident.112", "112UC001", 11, "I")}}}, "field 'events[0].status': 11 is not a platform status"},
      {{{"events", {event(-5, "incident.112", "112UC001", 10, "I")}}}, "field 'events[0].at_ms': must be at least 0"},
      {{{"events", {{{"topic", "incident.112"}, {"event_code", "112UC001"}}}}},
       "field 'events[0].occurrence_number': is required"},
      {{{"events", {{{"topic", "incident.112"}, {"event_code", "112UC001"}, {"occurrence_number", "I"}, {"lat", 37.5}}}}},
       "field 'events[0].lon': give lat and lon together"},
      {{{"events", {{{"topic", "incident.112"}, {"event_code", "112UC001"}, {"occurrence_number", "I"}, {"lat", 97.5},
                     {"lon", 127.0}}}}},
       "field 'events[0].lat': must be between -90 and 90"},
      {{{"events", {{{"topic", "incident.112"}, {"event_code", "112UC001"}, {"occurrence_number", "I"},
                     {"items", {{"floor", 3}}}}}}},
       "field 'events[0].items.floor': must be a string"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) add("feed-" + std::to_string(i), "incident_feed.so", cases[i].first);
  start();
  ASSERT_EQ(host->failures().size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(contains(host->failures()[i].reason, "create failed: " + cases[i].second)) << host->failures()[i].reason;
}
