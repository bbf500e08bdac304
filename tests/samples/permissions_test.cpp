// What a municipality allows, and nothing more: each attack of the security review (C1,
// C2, C3, H1, M9) played with real plugins through the real router and scenario engine.
#include "sample_fixture.hpp"

#include <citylink/platform/platform.hpp>
#include <citylink/platform/scenarios/engine.hpp>

using namespace citylink::samples_test;

namespace {

// Messages only the engine may send, addressed to 112 and to the auditor.
const json kAgencyTraffic = json::array(
    {{{"topic", "dispatch.112"}, {"type", "dispatch"}, {"correlation_id", "I-1"}, {"personal_data", {{"name", "Kim"}}},
      {"purpose", "rescue"}},
     {{"topic", "grant.video.112"}, {"type", "grant"}, {"correlation_id", "I-1"}, {"cameras", 2}},
     {{"topic", "audit.video_grant"}, {"type", "audit"}, {"correlation_id", "I-1"}}});

uint64_t engine_counter(citylink::host::Host& h, const std::string& key) {
  const auto c = citylink::platform::scenario_engine(h)->counters();
  auto it = c.find(key);
  return it == c.end() ? 0 : it->second;
}

const citylink::host::CounterSnapshot& counters_of(const std::vector<citylink::host::InstanceStatus>& all,
                                                  const std::string& id) {
  for (const auto& s : all)
    if (s.instance_id == id) return s.counters;
  throw std::runtime_error("no instance " + id);
}

}  // namespace

// C1: a console added without `grants:` used to receive every agency's grants, dispatches,
// audit records and raw incidents, because its descriptor asked for them.
TEST_F(SampleCity, AnInstanceWithoutGrantsReceivesNothingWhateverItsDescriptorAsks) {
  engine_says(kAgencyTraffic);
  add("feed", "incident_feed.so",
      {{"events", json::array({{{"topic", "incident.vulnerable"}, {"event_code", "WPSSF110"},
                               {"occurrence_number", "V-1"}, {"lat", 37.5}, {"lon", 127.0},
                               {"items", {{"name", "Kim"}, {"phone", "010-1"}}}}})}});
  plugins += "  - instance: some-vendor-sink\n    file: agency_console.so\n    config: {name: vendor, quiet: true, out: " +
             path("vendor.jsonl") + "}\n";
  console("police", "dispatch.112, grant.video, incident.", "112");  // the reference: it gets everything
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("police.jsonl", 3));
  host->stop();
  EXPECT_TRUE(lines("vendor.jsonl").empty());
  EXPECT_EQ(counters_of(host->status(), "some-vendor-sink").delivered, 0u);
}

// C1: accepting a console's request is not enough to read agency traffic; it must be bound
// to the recipient the traffic is addressed to.
TEST_F(SampleCity, AcceptingTheRequestWithoutARecipientGivesNoAgencyTraffic) {
  engine_says(kAgencyTraffic);
  add("vendor-console", "agency_console.so", {{"name", "vendor"}, {"out", path("vendor.jsonl")}, {"quiet", true}});
  console("police", "dispatch.112, grant.video", "112");
  console("privacy-office", "audit.", "auditor");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("police.jsonl", 2));
  ASSERT_TRUE(wait_for("privacy-office.jsonl", 1));
  host->stop();
  EXPECT_TRUE(lines("vendor.jsonl").empty());
  for (const auto& j : lines("police.jsonl")) EXPECT_NE(j["schema"], "citylink.v1.AuditRecord");
}

// H1: a plugin used to be able to forge grants and dispatches to agencies, by declaring
// the engine's topics in its descriptor or being granted "*".
TEST_F(SampleCity, APluginCannotForgeGrantsDispatchesAuditRecordsOrPtzCommands) {
  const json forged = json::array(
      {{{"at_ms", 50}, {"topic", "grant.video.112"}, {"type", "grant"}, {"correlation_id", "I-1"}, {"action", 3}},
       {{"at_ms", 50}, {"topic", "dispatch.119"}, {"type", "dispatch"}, {"recipient", "119"}, {"correlation_id", "F-1"}},
       {{"at_ms", 50}, {"topic", "audit.video_grant"}, {"type", "audit"}},
       {{"at_ms", 50}, {"topic", "camera.ptz"}, {"type", "ptz"}, {"camera_id", "CAM-1"}}});
  add("forger-requested", "samples_test_emitter.so", {{"messages", forged}});  // grants: requested
  plugins += "  - instance: forger-star\n    file: samples_test_emitter.so\n    config: " +
             json{{"messages", forged}}.dump() + "\n    grants: {publish: [\"*\"]}\n";
  console("police", "grant.video, camera.ptz", "112");
  console("fire", "dispatch.119", "119");
  console("privacy-office", "audit.", "auditor");
  ASSERT_EQ(start_and_get_failure(), "");
  const auto reserved = static_cast<int>(citylink::host::RejectReason::reserved);
  ASSERT_TRUE(citylink::test::eventually([&] {
    const auto st = host->status();
    return counters_of(st, "forger-requested").rejected[reserved] == 4 &&
           counters_of(st, "forger-star").rejected[reserved] == 4;
  }));
  host->stop();
  EXPECT_TRUE(lines("police.jsonl").empty());
  EXPECT_TRUE(lines("fire.jsonl").empty());
  EXPECT_TRUE(lines("privacy-office.jsonl").empty());
}

// M9: recipients are compared exactly, never as byte prefixes of a topic.
TEST_F(SampleCity, GrantsReachOnlyTheInstanceBoundToTheirExactRecipient) {
  engine_says(json::array({{{"topic", "grant.video.112"}, {"type", "grant"}, {"recipient", "112"}, {"grant_id", "G-1"}},
                           {{"topic", "grant.video.112-x"}, {"type", "grant"}, {"recipient", "112-x"}, {"grant_id", "G-2"}},
                           {{"topic", "grant.video.112"}, {"type", "grant"}, {"recipient", "112 "}, {"grant_id", "G-3"}}}));
  console("centre", "grant.video.112", "112");
  console("gangnam", "grant.video", "112-x");
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(wait_for("centre.jsonl", 1));
  ASSERT_TRUE(wait_for("gangnam.jsonl", 1));
  host->stop();
  ASSERT_EQ(lines("centre.jsonl").size(), 1u);
  EXPECT_EQ(lines("centre.jsonl")[0]["payload"]["grant_id"], "G-1");
  ASSERT_EQ(lines("gangnam.jsonl").size(), 1u);
  EXPECT_EQ(lines("gangnam.jsonl")[0]["payload"]["grant_id"], "G-2");
  EXPECT_EQ(host->router().undeliverable(), 1u);  // G-3: nobody is bound to "112 "
}

// C2: a plugin granted only incident.vulnerable closed a live 112 incident, revoking the
// police video, and the platform's real update was then refused.
TEST_F(SampleCity, OnlyTheAuthorisedSourceOpensUpdatesAndClosesAnIncident) {
  const json cam = {{"camera_id", "CAM-1"}, {"lat", 37.5001}, {"lon", 127.0}};
  add("vms", "camera_fleet.so", {{"cameras", json::array({cam})}, {"heartbeat_ms", 60000}});
  const json open = {{"at_ms", 200}, {"topic", "incident.112"}, {"event_code", "112UC001"}, {"status", 10},
                     {"occurrence_number", "112-X"}, {"lat", 37.5}, {"lon", 127.0}};
  const json update = {{"at_ms", 900}, {"topic", "incident.112"}, {"event_code", "112UC001"}, {"status", 40},
                       {"occurrence_number", "112-X"}, {"lat", 37.5}, {"lon", 127.0}, {"content", "still ongoing"}};
  add("platform-feed", "incident_feed.so", {{"events", {open, update}}});
  auto forged = [](const std::string& topic) {
    return json{{"at_ms", 500}, {"topic", topic}, {"event_code", "112UC001"}, {"status", 91},
                {"occurrence_number", "112-X"}, {"lat", 37.5}, {"lon", 127.0}};
  };
  // Granted only incident.vulnerable, it closes a 112 incident there; the second tries the
  // right topic with a grant for it, but is not the source the city authorised.
  plugins += "  - instance: wearable-vendor\n    file: incident_feed.so\n    config: " +
             json{{"events", {forged("incident.vulnerable")}}}.dump() + "\n    grants: {publish: [incident.vulnerable]}\n";
  plugins += "  - instance: other-feed\n    file: incident_feed.so\n    config: " +
             json{{"events", {forged("incident.112")}}}.dump() + "\n    grants: {publish: [incident.112]}\n";
  authorise("112UC001", "incident.112", "platform-feed");
  authorise("WPSSF110", "incident.vulnerable", "wearable-vendor");
  console("112-centre", "grant.video", "112");
  scenarios = "  emergency_video_112: {}\n";
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(citylink::test::eventually([&] { return engine_counter(*host, "incidents/updated") == 1; }));
  host->stop();
  EXPECT_EQ(engine_counter(*host, "incidents/opened"), 1u);
  EXPECT_EQ(engine_counter(*host, "incidents/not_authorised"), 2u);
  EXPECT_EQ(engine_counter(*host, "incidents/closed"), 0u);
  // The police never lost video to the forged closes: the only revocations are the engine
  // re-choosing cameras for the platform's real update, and the engine's own stop.
  ASSERT_GE(lines("112-centre.jsonl").size(), 1u);
  for (const auto& j : lines("112-centre.jsonl")) {
    if (j["payload"]["action"] != "REVOKE") continue;
    EXPECT_TRUE(j["payload"]["reason"] == "incident updated; cameras re-chosen for the current position" ||
                j["payload"]["reason"] == "the scenario engine stopped")
        << j.dump();
  }
}

// Issue 7: an authorised source used the occurrence number of a 112 report before the
// platform sent it. Keyed by number alone, the platform's real report was then refused as
// "someone else's incident", and the squatter's close would have revoked police video.
// Keyed by (source, number), each source has its own incident.
TEST_F(SampleCity, ASourceSquattingAnotherSourcesOccurrenceNumberReachesOnlyItsOwnIncident) {
  const json cam = {{"camera_id", "CAM-1"}, {"lat", 37.5001}, {"lon", 127.0}};
  add("vms", "camera_fleet.so", {{"cameras", json::array({cam})}, {"heartbeat_ms", 60000}});
  auto ev = [](int at_ms, const std::string& topic, const std::string& code, int status) {
    return json{{"at_ms", at_ms}, {"topic", topic}, {"event_code", code}, {"status", status},
                {"occurrence_number", "112-S"}, {"lat", 37.5}, {"lon", 127.0}};
  };
  plugins += "  - instance: fire-feed\n    file: incident_feed.so\n    config: " +
             json{{"events", {ev(200, "incident.119", "119UC001", 10), ev(1200, "incident.119", "119UC001", 91)}}}.dump() +
             "\n    grants: {publish: [incident.119]}\n";
  add("platform-feed", "incident_feed.so",
      {{"events", {ev(700, "incident.112", "112UC001", 10), ev(1700, "incident.112", "112UC001", 40)}}});
  authorise("112UC001", "incident.112", "platform-feed");
  authorise("119UC001", "incident.119", "fire-feed");
  console("112-centre", "grant.video", "112");
  scenarios = "  emergency_video_112: {}\n";
  ASSERT_EQ(start_and_get_failure(), "");
  ASSERT_TRUE(citylink::test::eventually([&] {
    return engine_counter(*host, "incidents/updated") == 1 && engine_counter(*host, "incidents/closed") == 1;
  }));
  host->stop();
  EXPECT_EQ(engine_counter(*host, "incidents/opened"), 2u);  // the squatter's 119 and the platform's 112
  EXPECT_EQ(engine_counter(*host, "incidents/not_authorised"), 0u);
  EXPECT_EQ(engine_counter(*host, "incidents/rejected"), 0u);
  int issued = 0;
  for (const auto& j : lines("112-centre.jsonl")) {
    EXPECT_EQ(j["payload"]["incident_source"], "platform-feed") << j.dump();
    if (j["payload"]["action"] == "ISSUE") ++issued;
    if (j["payload"]["action"] != "REVOKE") continue;
    // The squatter's close revoked nothing: only the platform's own update and the stop did.
    EXPECT_TRUE(j["payload"]["reason"] == "incident updated; cameras re-chosen for the current position" ||
                j["payload"]["reason"] == "the scenario engine stopped")
        << j.dump();
  }
  EXPECT_EQ(issued, 2);  // the report, then its update
}

// C3: a second vendor re-announced another vendor's camera with its own stream, and the 112
// grant carried the attacker's stream; fake cameras crowded real ones out of grants.
TEST_F(SampleCity, ACameraBelongsToItsOwnerAndFakesCannotCrowdOutRealOnes) {
  const json real = {{"camera_id", "A-1"}, {"lat", 37.5002}, {"lon", 127.0}};
  plugins += "  - instance: vendor-a\n    file: camera_fleet.so\n    config: " +
             json{{"cameras", {real}}, {"stream_base", "rtsp://vms.vendor-a/"}, {"heartbeat_ms", 60000}}.dump() +
             "\n    grants: requested\n    cameras: {id_prefix: A-, stream_base: \"rtsp://vms.vendor-a/\"}\n";
  json fakes = json::array({{{"camera_id", "A-1"}, {"lat", 37.5}, {"lon", 127.0}}});  // hijack attempt
  for (int i = 0; i < 4; ++i)
    fakes.push_back({{"camera_id", "SPOOF-" + std::to_string(i)}, {"lat", 37.5}, {"lon", 127.0 + 0.00001 * i}});
  plugins += "  - instance: vendor-b\n    file: camera_fleet.so\n    config: " +
             json{{"cameras", fakes}, {"stream_base", "rtsp://attacker.example/"}, {"heartbeat_ms", 60000}}.dump() +
             "\n    grants: requested\n    cameras: {max: 2}\n";
  // A third fleet announces with a stream outside the base the city configured for it.
  plugins += "  - instance: vendor-c\n    file: camera_fleet.so\n    config: " +
             json{{"cameras", {{{"camera_id", "C-1"}, {"lat", 37.6}, {"lon", 127.0}}}},
                  {"stream_base", "rtsp://elsewhere/"}, {"heartbeat_ms", 60000}}.dump() +
             "\n    grants: requested\n    cameras: {id_prefix: C-, stream_base: \"rtsp://vms.vendor-c/\"}\n";
  const json open = {{"at_ms", 500}, {"topic", "incident.112"}, {"event_code", "112UC001"}, {"status", 10},
                     {"occurrence_number", "112-F"}, {"lat", 37.5}, {"lon", 127.0}};
  add("platform-feed", "incident_feed.so", {{"events", {open}}});
  authorise("112UC001", "incident.112", "platform-feed");
  console("112-centre", "grant.video", "112");
  scenarios = "  emergency_video_112: {max_cameras: 5}\n";
  ASSERT_EQ(start_and_get_failure(), "");
  auto issued = [](const json& j) { return j["payload"]["action"] == "ISSUE"; };
  ASSERT_TRUE(wait_for("112-centre.jsonl", 1, issued));
  host->stop();
  const auto grant = lines("112-centre.jsonl", issued)[0]["payload"];
  std::map<std::string, std::string> streams;
  for (std::size_t i = 0; i < grant["camera_ids"].size(); ++i) streams[grant["camera_ids"][i]] = grant["stream_uris"][i];
  EXPECT_EQ(streams["A-1"], "rtsp://vms.vendor-a/A-1");
  EXPECT_EQ(streams.size(), 3u) << grant.dump();  // A-1 and the two fakes under vendor-b's cap
  EXPECT_EQ(engine_counter(*host, "camera_registry/not_owner"), 1u);
  EXPECT_EQ(engine_counter(*host, "camera_registry/over_cap"), 2u);
  EXPECT_EQ(engine_counter(*host, "camera_registry/bad_stream"), 1u);
}
