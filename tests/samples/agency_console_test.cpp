// agency-console: a sink playing an agency; what it receives is what the city config grants.
#include "sample_fixture.hpp"

using namespace citylink::samples_test;


TEST_F(SampleCity, AgencyConsoleDecodesEveryKindOfMessageAnAgencyIsSent) {
  const int64_t expires = 1700000000LL * 1000000000LL;
  engine_says(json::array({
                     {{"topic", "dispatch.112"}, {"type", "dispatch"}, {"correlation_id", "INC-1"}, {"cameras", 3},
                      {"grant_id", "G-1"}, {"purpose", "emergency"}, {"personal_data", {{"name", "Kim"}, {"phone", "010"}}}},
                     {{"topic", "grant.video"}, {"type", "grant"}, {"correlation_id", "INC-1"}, {"cameras", 5},
                      {"grant_id", "G-1"}, {"expires_unix_ns", expires}},
                     {{"topic", "audit.video"}, {"type", "audit"}, {"correlation_id", "INC-1"}},
                     {{"topic", "camera.ptz"}, {"type", "ptz"}, {"correlation_id", "INC-1"}, {"camera_id", "CAM-9"},
                      {"pan_deg", 135.0}, {"look_at_lat", 37.5}, {"look_at_lon", 127.0}, {"track_id", "T-1"}},
                 }));
  const json report = {{"topic", "incident.112"}, {"event_code", "112UC001"}, {"occurrence_number", "INC-1"},
                       {"lat", 37.5}, {"lon", 127.03}, {"content", "assault reported"}};
  add("feed", "incident_feed.so", {{"events", json::array({report})}});
  // What the console asks for, bound to recipient 112; audit records go to the auditor.
  add("112-centre", "agency_console.so", {{"name", "112-centre"}, {"out", path("112.jsonl")}}, "", "", "112");
  add("privacy-office", "agency_console.so", {{"name", "privacy-office"}, {"out", path("audit.jsonl")}}, "audit.", "",
      "auditor");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("112.jsonl", 4));
  ASSERT_TRUE(wait_for("audit.jsonl", 1));

  std::map<std::string, json> by_schema;
  for (const auto& j : lines("112.jsonl")) {
    EXPECT_EQ(j["agency"], "112-centre");
    EXPECT_EQ(j["correlation_id"], "INC-1");
    by_schema[j["schema"]] = j;
  }
  EXPECT_EQ(by_schema.count("citylink.v1.AuditRecord"), 0u);  // addressed to the auditor, not to 112
  by_schema["citylink.v1.AuditRecord"] = lines("audit.jsonl")[0];
  const auto& d = by_schema["citylink.v1.DispatchSupport"];
  EXPECT_EQ(d["topic"], "dispatch.112");
  EXPECT_EQ(d["payload"]["cameras"].size(), 3u);
  EXPECT_EQ(d["payload"]["cameras"][1]["stream_uri"], "rtsp://vms.example.city/CAM-2");
  EXPECT_EQ(d["payload"]["personal_data"]["phone"], "010");
  EXPECT_TRUE(contains(d["summary"], "DispatchSupport 112UC001 INC-1 (occurred) to 112")) << d["summary"];
  EXPECT_TRUE(contains(d["summary"], "3 cameras (CAM-1 100 m, CAM-2 200 m, CAM-3 300 m), grant G-1")) << d["summary"];
  EXPECT_TRUE(contains(d["summary"], "personal data: name, phone")) << d["summary"];

  const auto& g = by_schema["citylink.v1.VideoShareGrant"];
  EXPECT_EQ(g["payload"]["action"], "ISSUE");
  EXPECT_EQ(g["payload"]["camera_ids"].size(), 5u);
  EXPECT_EQ(g["payload"]["expires_unix_ns"], expires);
  EXPECT_TRUE(contains(g["summary"], "VideoShareGrant ISSUE G-1 for INC-1 to 112: 5 cameras (CAM-1, CAM-2, CAM-3, CAM-4, "
                                     "CAM-5), expires "))
      << g["summary"];

  const auto& a = by_schema["citylink.v1.AuditRecord"];
  EXPECT_EQ(a["payload"]["action"], "video_grant.issue");
  EXPECT_EQ(a["payload"]["data_fields"], json::array({"name"}));
  EXPECT_TRUE(contains(a["summary"], "AuditRecord video_grant.issue by scenario:112 for INC-1 to 112")) << a["summary"];

  const auto& p = by_schema["citylink.v1.PtzCommand"];
  EXPECT_EQ(p["payload"]["camera_id"], "CAM-9");
  EXPECT_EQ(p["payload"]["look_at"]["lat"], 37.5);
  EXPECT_TRUE(contains(p["summary"], "PtzCommand CAM-9 pan 135.0 deg look at 37.50000,127.00000 track T-1")) << p["summary"];

  const auto& e = by_schema["citylink.v1.PlatformEvent"];
  EXPECT_EQ(e["payload"]["content"], "assault reported");
}

TEST_F(SampleCity, AgencyConsoleReceivesOnlyWhatTheCityGrantsIt) {
  engine_says(json::array({{{"topic", "dispatch.119"}, {"type", "dispatch"}, {"correlation_id", "F-1"},
                            {"recipient", "119"}, {"event_code", "119UC001"}},
                           {{"topic", "dispatch.112"}, {"type", "dispatch"}, {"correlation_id", "I-1"}},
                           {{"topic", "grant.video"}, {"type", "grant"}, {"correlation_id", "I-1"}}}));
  console("fire-station", "dispatch.119", "119");
  console("police", "dispatch., grant.", "112");
  console("nosy", "dispatch., grant.", "moj");  // subscribed widely, bound to another recipient
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("police.jsonl", 2));
  ASSERT_TRUE(wait_for("fire-station.jsonl", 1));
  const auto fire = lines("fire-station.jsonl");
  ASSERT_EQ(fire.size(), 1u);
  EXPECT_EQ(fire[0]["payload"]["recipient"], "119");
  EXPECT_EQ(fire[0]["correlation_id"], "F-1");
  for (const auto& j : lines("police.jsonl")) EXPECT_EQ(j["payload"]["recipient"], "112") << j.dump();
  EXPECT_EQ(lines("police.jsonl").size(), 2u);
  EXPECT_TRUE(lines("nosy.jsonl").empty());
}

TEST_F(SampleCity, AgencyConsoleSkipsAnUnreadablePayloadAndKeepsGoing) {
  engine_says(json::array({{{"topic", "dispatch.112"}, {"type", "garbage"}},
                           {{"topic", "dispatch.112"}, {"type", "dispatch"}, {"correlation_id", "I-2"}}}));
  console("112", "dispatch.", "112");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("112.jsonl", 1));
  const auto got = lines("112.jsonl");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["correlation_id"], "I-2");
}

TEST_F(SampleCity, AgencyConsoleRefusesABadConfigNamingTheFieldAndTheFix) {
  add("a", "agency_console.so", {{"out", path("no-such-dir/x.jsonl")}});
  add("b", "agency_console.so", {{"nmae", "112"}});
  add("c", "agency_console.so", {{"quiet", "yes"}});
  add("d", "agency_console.so", {{"name", ""}});
  start();
  ASSERT_EQ(host->failures().size(), 4u);
  EXPECT_TRUE(contains(host->failures()[0].reason, "field 'out': cannot open")) << host->failures()[0].reason;
  EXPECT_TRUE(contains(host->failures()[1].reason, "unknown field 'nmae'; did you mean 'name'?")) << host->failures()[1].reason;
  EXPECT_TRUE(contains(host->failures()[2].reason, "field 'quiet': must be true or false")) << host->failures()[2].reason;
  EXPECT_TRUE(contains(host->failures()[3].reason, "field 'name': must not be empty")) << host->failures()[3].reason;
}
