// The scenario engine on the real bus: a city with scenarios enabled, messages published
// through the real router, outputs received by a real collector plugin.
#include <citylink/platform/platform.hpp>
#include <citylink/host/audit_store.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/wall_clock.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/platform/scenarios/grant_recovery.hpp>
#include <citylink/v1/audit.pb.h>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "bus_recorder.hpp"
#include "host_support.hpp"
#include "scenario_fixture.hpp"
#include "test_support.hpp"

using namespace citylink::test;

namespace {

struct EngineFixture : ::testing::Test {
  TempDir dir;
  // Before `host`, so they outlive the router thread that writes them.
  std::string audit_log;  // host.audit_log when set before start()
  std::string incident_book;  // host.incident_book when set before start()
  int queue_depth = 0;    // host.queue_depth when set before start()
  std::string extra_plugins;  // more plugin entries, when set before start()
  std::vector<std::string> incident_sources = {"platform-feed"};  // authorised for every code
  bool record_bus = true;     // every message kept for seen(); off where a flood would fill memory
  std::function<int64_t()> wall_clock;  // the engine's wall clock, when set before start()
  std::function<void(Host&)> before_start;  // runs just before host->start(), when set
  BusRecorder bus;
  template <class T>
  std::vector<T> seen(const std::string& topic_prefix) {
    return bus.payloads<T>(topic_prefix);
  }
  std::unique_ptr<Host> host;
  ScenarioEngine* engine = nullptr;  // the host's
  std::shared_ptr<Publisher> feed;

  // The agency is bound to recipient 112, the privacy office to the auditor; the test's own
  // publisher "platform-feed" is authorised for every event code on its topic.
  void start(const std::string& scenarios_yaml) {
    auto collector = [&](const std::string& name, const std::string& file, const std::string& recipient,
                         const std::string& subscribe) {
      return "  - instance: " + name + "\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n" +
             "    config: {out: " + (dir / file).string() + "}\n    recipient: \"" + recipient +
             "\"\n    grants: {subscribe: [" + subscribe + "]}\n";
    };
    const std::string yaml = "city: engine-test\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                             "]\nscenarios:\n" + scenarios_yaml + "plugins:\n" +
                             collector("agency", "agency.jsonl", "112", "grant., dispatch., camera.ptz, incident.disaster") +
                             collector("privacy", "audit.jsonl", "auditor", "audit.") + extra_plugins;
    auto config = citylink::platform::parse_city_config(yaml, "engine-test.yaml", dir.path());
    for (const auto& [code, topic] : std::vector<std::pair<std::string, std::string>>{
             {"112UC001", "incident.112"}, {"112UC120", "incident.112"}, {"119UC001", "incident.119"},
             {"WPSSF110", "incident.vulnerable"}, {"MOJUC110", "incident.moj"}})
      config.incident_authority.push_back({code, topic, incident_sources, 0});
    if (!audit_log.empty()) config.host.audit_log = audit_log;
    if (!incident_book.empty()) config.host.incident_book = incident_book;
    if (queue_depth > 0) config.host.queue_depth = queue_depth;
    host = std::make_unique<Host>(std::move(config));
    engine = citylink::platform::add_scenario_engine(*host);
    if (wall_clock) engine->set_wall_clock(wall_clock);
    host->set_worker_command({CITYLINK_BIN, "worker"});
    if (record_bus) bus.attach(*host);  // every message as it travels, for the checks below
    if (before_start) before_start(*host);
    host->start();
    ASSERT_TRUE(host->failures().empty());
    ASSERT_NE(engine, nullptr);
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
  std::vector<nlohmann::json> received() {
    auto all = read_jsonl(dir / "agency.jsonl");
    for (auto& j : read_jsonl(dir / "audit.jsonl")) all.push_back(std::move(j));
    return all;
  }
  std::size_t count(const std::string& topic) {
    std::size_t n = 0;
    for (const auto& j : received()) n += j["topic"] == topic;
    return n;
  }
  uint64_t counter(const std::string& key) {
    const auto c = engine->counters();
    auto it = c.find(key);
    return it == c.end() ? 0 : it->second;
  }
};

// Under ASan the process's memory is mostly the sanitizer's (quarantine, shadow), and a
// slowed publisher no longer outruns the router: the memory and backpressure checks of the
// flood test hold in the normal build only; its delivery checks hold in both.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPlainBuild = false;
#else
constexpr bool kPlainBuild = true;
#endif

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

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

// Review M7: the engine measured its deadlines on the wall clock, so an NTP step back of
// 30 minutes let every grant live 30 minutes longer, and a step forward of 10 minutes made
// every camera stale at once. Its deadlines now run on the steady clock; what it sends still
// says the wall clock's time.
TEST_F(EngineFixture, AStepOfTheWallClockNeitherStretchesAGrantNorMakesCamerasStale) {
  // Shared with the clock: the host (and so the engine, which reads the clock while it
  // revokes at its stop) outlives this body.
  auto step = std::make_shared<std::atomic<int64_t>>(0);
  wall_clock = [step] { return citylink::host::unix_now_ns() + step->load(); };
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2, grant_minutes: 0.03, renew_before_seconds: 0}\n");
  publish("camera.info", camera("cam-0", 100));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  publish("incident.112", event("112UC001", "112-801", 10, kLat, kLon), "112-801");
  ASSERT_TRUE(eventually([&] { return seen<citylink::v1::VideoShareGrant>("grant.video.112").size() == 1u; }));

  *step = -int64_t{30} * 60 * 1'000'000'000;  // the wall clock goes back 30 minutes
  ASSERT_TRUE(eventually([&] { return seen<citylink::v1::VideoShareGrant>("grant.video.112").size() == 2u; },
                         std::chrono::seconds(30)))
      << "the grant of 1.8 s did not expire";
  const auto expired = seen<citylink::v1::VideoShareGrant>("grant.video.112")[1];
  EXPECT_EQ(expired.action(), citylink::v1::VideoShareGrant::ACTION_EXPIRE);
  // Sent in the wall clock's time, now 30 minutes back.
  EXPECT_LT(std::llabs(expired.expires_unix_ns() - wall_clock()), int64_t{60} * 1'000'000'000);

  *step = int64_t{10} * 60 * 1'000'000'000;  // and then 10 minutes ahead of the true time
  publish("incident.112", event("112UC001", "112-802", 10, kLat, kLon), "112-802");
  ASSERT_TRUE(eventually([&] { return seen<citylink::v1::VideoShareGrant>("grant.video.112").size() == 3u; }))
      << "no grant: the camera announced a moment ago counted as stale";
  const auto issued = seen<citylink::v1::VideoShareGrant>("grant.video.112")[2];
  EXPECT_EQ(issued.camera_ids(0), "cam-0");
  EXPECT_LT(std::llabs(issued.issued_unix_ns() - wall_clock()), int64_t{60} * 1'000'000'000);
  EXPECT_EQ(counter("emergency_video_112/no_cameras"), 0u);
}

TEST_F(EngineFixture, BadInputIsRejectedCountedAndTheEngineKeepsGoing) {
  start("  emergency_video_112:\n");
  publish("camera.info", camera("cam-1", 50));
  // Incidents are critical traffic and may overtake earlier telemetry; order holds within a class.
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
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
  EXPECT_EQ(counter("incidents/rejected"), 2u);
  EXPECT_EQ(counter("incidents/not_authorised"), 1u);  // XYZ: no source may raise it
  // The telemetry was published before D, but D (critical) may overtake it (seen under ASan).
  EXPECT_TRUE(eventually([&] { return counter("sensors/not_a_number") == 1u; })) << counter("sensors/not_a_number");
  EXPECT_TRUE(eventually([&] { return counter("tracking/unknown_camera") == 1u; }))
      << counter("tracking/unknown_camera");
}

// Review M12: a tracking update's position goes to the patrol car and its heading and speed
// choose the cameras ahead; a sensor's position goes into the disaster incident.
TEST_F(EngineFixture, TrackingAndSensorPositionsHeadingsAndSpeedsAreCheckedAtTheInput) {
  start("  cctv_tracking: {}\n"
        "  disaster:\n    recipient: \"112\"\n    rules:\n"
        "      - {name: flood, zone_prefix: flood, kind: water_level, raise_above: 0.5, clear_below: 0.4, "
        "hold_seconds: 0}\n");
  publish("camera.info", camera("cam-1", 50));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  auto track = [](const std::string& id) {
    citylink::v1::TrackingInfo t;
    t.set_track_id(id);
    t.set_camera_id("cam-1");
    t.mutable_position()->set_lat(kLat);
    t.mutable_position()->set_lon(kLon);
    t.set_heading_deg(90);
    t.set_speed_mps(10);
    return t;
  };
  auto no_position = track("no-position");
  no_position.clear_position();
  publish("analytics.tracking", no_position);
  auto null_island = track("null-island");
  null_island.mutable_position()->set_lat(0);
  null_island.mutable_position()->set_lon(0);
  publish("analytics.tracking", null_island);
  auto nan_heading = track("nan-heading");
  nan_heading.set_heading_deg(std::nan(""));
  publish("analytics.tracking", nan_heading);
  auto huge_heading = track("huge-heading");
  huge_heading.set_heading_deg(1e300);  // static_cast<int> of it was undefined behaviour
  publish("analytics.tracking", huge_heading);
  auto fast = track("fast");
  fast.set_speed_mps(1e300);  // made the look-ahead radius the whole registry
  publish("analytics.tracking", fast);
  auto backwards = track("backwards");
  backwards.set_speed_mps(-3);
  publish("analytics.tracking", backwards);
  publish("analytics.tracking", track("good"));

  citylink::v1::SensorReading off_earth;
  off_earth.set_sensor_id("W-1");
  off_earth.set_kind("water_level");
  off_earth.set_zone("flood:1");
  off_earth.set_value(0.9);
  off_earth.mutable_position()->set_lat(123);
  off_earth.mutable_position()->set_lon(kLon);
  publish("sensor.reading", off_earth);
  auto no_fix = off_earth;  // (0, 0): raised, but at no place rather than at the null island
  no_fix.set_sensor_id("W-2");
  no_fix.mutable_position()->set_lat(0);
  no_fix.mutable_position()->set_lon(0);
  publish("sensor.reading", no_fix);

  ASSERT_TRUE(eventually([&] { return count("dispatch.disaster") == 1; }));
  EXPECT_TRUE(eventually([&] {
    return counter("tracking/bad_position") == 2 && counter("tracking/bad_heading") == 2 &&
           counter("tracking/bad_speed") == 2 && counter("sensors/bad_position") == 1;
  })) << counter("tracking/bad_position") << " " << counter("tracking/bad_heading") << " "
      << counter("tracking/bad_speed") << " " << counter("sensors/bad_position");
  const auto dispatches = seen<citylink::v1::DispatchSupport>("dispatch.disaster");
  ASSERT_EQ(dispatches.size(), 1u);
  EXPECT_FALSE(dispatches[0].has_position());
  EXPECT_EQ(dispatches[0].cameras_size(), 0);
  EXPECT_NE(dispatches[0].text().find("W-2"), std::string::npos) << dispatches[0].text();
  const auto incidents = seen<citylink::v1::PlatformEvent>("incident.disaster");
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_FALSE(incidents[0].has_location());
}

// Review M8: dispatch_119 sending to a recipient nobody was bound to gave a fire console
// that received nothing and an exit status of 0, with no word at start.
TEST_F(EngineFixture, ARecipientNoInstanceIsBoundToIsCountedAtStart) {
  start("  emergency_video_112: {}\n"                 // 112: the agency is bound to it
        "  dispatch_119: {recipient: \"119-typo\"}\n"  // bound to nothing
        "  disaster: {recipient: \"119-typo\"}\n");    // the same one, counted once
  EXPECT_EQ(counter("config/unbound_recipient"), 1u);
}

TEST_F(EngineFixture, ScenarioConfigMistakesNameTheLineAndField) {
  try {
    citylink::platform::parse_city_config("scenarios:\n  emergency_video_112: {radius_m: far}\nplugins: []\n", "c.yaml", dir.path());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.yaml:2:35: scenarios.emergency_video_112.radius_m: expected a number"),
              std::string::npos)
        << e.what();
  }
  try {
    citylink::platform::parse_city_config("scenarios:\n  emergency_vidoe_112: {}\nplugins: []\n", "c.yaml", dir.path());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown field 'emergency_vidoe_112'"), std::string::npos) << e.what();
  }
}

// Issue 7 item 7: with host.audit_log set, every audit record the engine publishes is
// first appended to the hash-chained log, and the published record carries its hash.
TEST_F(EngineFixture, AuditRecordsAreStoredInTheChainBeforeTheyArePublished) {
  const auto db = dir / "audit.db";
  audit_log = db.string();
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  publish("camera.info", camera("cam-1", 100));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  publish("incident.112", event("112UC001", "112-A", 10, kLat, kLon), "112-A");
  publish("incident.112", event("112UC001", "112-A", 91, kLat, kLon), "112-A");
  ASSERT_TRUE(eventually([&] { return count("audit.video_grant") == 2; }));
  host->stop();
  AuditStore store(db, AuditStore::OpenMode::read_only);
  const auto v = store.verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records_checked, 2u);
  const auto stored = store.query({});
  ASSERT_EQ(stored.size(), 2u);
  const auto audit_seen = seen<citylink::v1::AuditRecord>("audit.");
  ASSERT_EQ(audit_seen.size(), 2u);
  EXPECT_EQ(audit_seen[0].hash(), stored[0].record.hash());
  EXPECT_EQ(audit_seen[1].hash(), stored[1].record.hash());
  EXPECT_FALSE(stored[0].record.hash().empty());
  EXPECT_EQ(stored[1].record.previous_hash(), stored[0].record.hash());
}

// The log is read when the engine starts: a grant this run issued before the recovery ran
// (a bridge replaying an open incident during start-up) is never taken for a crashed run's.
TEST_F(EngineFixture, RecoveryNeverRevokesAGrantOfTheCurrentRun) {
  audit_log = (dir / "audit.db").string();
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  publish("camera.info", camera("cam-1", 100));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  publish("incident.112", event("112UC001", "112-NOW", 10, kLat, kLon), "112-NOW");
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 1; }));
  engine->revoke_grants_left_alive();  // as if start-up had only now finished
  publish("incident.112", event("112UC001", "112-LATER", 10, kLat, kLon), "112-LATER");
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 2; }));
  EXPECT_EQ(counter("grants/revoked_at_start"), 0u);
  for (const auto& g : seen<citylink::v1::VideoShareGrant>("grant.video.112"))
    EXPECT_EQ(g.action(), citylink::v1::VideoShareGrant::ACTION_ISSUE) << g.grant_id();
}

// Issue 8 / C4 of the review: a flood of camera.info once made the engine's single inbox
// drop a 112 report. Incidents now wait in the engine's critical queue, which no volume of
// telemetry fills, and are handled first.
TEST_F(EngineFixture, AFloodOfTelemetryCannotDropOrDelayA112Report) {
  queue_depth = 20;
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  auto flood_counters = std::make_shared<InstanceCounters>();
  auto flood = host->router().add_publisher("vms", {"camera.info"}, flood_counters);
  flood->open();
  citylink::v1::Envelope e;
  e.set_schema("citylink.v1.CameraInfo");
  auto publish_flood = [&](int from, int n) {
    for (int i = from; i < from + n; ++i) {
      e.set_payload(camera("flood-" + std::to_string(i), 5000.0 + i).SerializeAsString());
      const auto bytes = e.SerializeAsString();
      flood->publish("camera.info", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr);
    }
  };
  publish_flood(0, 20000);
  publish("incident.112", event("112UC001", "112-FLOOD", 10, kLat, kLon), "112-FLOOD");
  publish_flood(20000, 20000);
  ASSERT_TRUE(eventually([&] { return counter("incidents/opened") == 1; }));
  host->stop();
  EXPECT_EQ(engine->bus_counters().dropped_critical, 0u);
  EXPECT_EQ(host->router().critical_dropped(), 0u);
}

// Issue 8: a flood of 1,000,000 messages from one plugin on a topic the engine reads. The
// host's memory stays bounded (every queue is), another plugin's stream is served whole, and
// every 112 report sent while the flood runs becomes a grant.
TEST_F(EngineFixture, AMillionMessageFloodFromOnePluginKeepsMemoryBoundedServesTheOthersAndEvery112Report) {
  constexpr int kFlood = 1'000'000, kReports = 40, kOthers = 2000;
  record_bus = false;  // the test's own copy of a million messages is not the host's memory
  extra_plugins =
      "  - instance: flooder\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
      "    enabled: false\n    isolation: none\n    grants: {publish: [sensor.reading]}\n"
      // The worst case: an operator lifted its publish_rate, so the flood reaches the router.
      "    publish_rate: unlimited\n"
      "    config: {count: " + std::to_string(kFlood) + ", topic: sensor.reading, retry_on_backpressure: false}\n"
      "  - instance: other\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
      "    enabled: false\n    grants: {publish: [test.data]}\n    config: {count: " + std::to_string(kOthers) + "}\n"
      "  - instance: other-reader\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n"
      "    grants: {subscribe: [test.]}\n    config: {out: " + (dir / "other.jsonl").string() + "}\n";
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  for (int i = 0; i < 3; ++i) publish("camera.info", camera("cam-" + std::to_string(i), 100.0 * (i + 1)));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 3; }));
  const std::size_t rss_before = rss_bytes();
  std::size_t rss_peak = rss_before;
  host->enable_instance("flooder", "test");
  host->enable_instance("other", "test");
  auto attempts = [&] {
    const auto c = counters_of(*host, "flooder");
    return c.published + c.dropped_outgoing + c.rejected_total();
  };
  // Each report waits for the flood to be a little further on, so all are sent inside it:
  // the last at a tenth of it, which leaves the rest of the flood (a few hundred ms even
  // now that a refused publish costs little) for a loaded machine to come back to this thread.
  uint64_t during = 0;
  for (int k = 0; k < kReports; ++k) {
    ASSERT_TRUE(eventually([&] { return attempts() >= uint64_t(k) * kFlood / (10 * kReports); }));
    rss_peak = std::max(rss_peak, rss_bytes());
    const std::string id = "112-F" + std::to_string(k);
    publish("incident.112", event("112UC001", id, 10, kLat, kLon), id);
    during = attempts();
  }
  EXPECT_LT(during, uint64_t(kFlood)) << "the flood was over before the last report";
  ASSERT_TRUE(eventually([&] { return counter("incidents/opened") == uint64_t(kReports); }, std::chrono::seconds(60)));
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == std::size_t(kReports); }, std::chrono::seconds(60)));
  ASSERT_TRUE(eventually([&] { return attempts() >= uint64_t(kFlood); }, std::chrono::seconds(100)));
  ASSERT_TRUE(eventually([&] { return read_jsonl(dir / "other.jsonl").size() == std::size_t(kOthers); },
                         std::chrono::seconds(60)));
  rss_peak = std::max(rss_peak, rss_bytes());
  EXPECT_EQ(host->router().critical_dropped(), 0u);
  if (!kPlainBuild) return;
  // The flood outran the bus somewhere: at the flooder's own queue or, now that the router
  // keeps up with one publisher, at a reader's (the engine's) queue.
  uint64_t overflowed = 0;
  for (const auto& st : host->status()) overflowed += st.counters.dropped_outgoing + st.counters.dropped_incoming;
  EXPECT_GT(overflowed, 0u) << "no queue was ever full: this was no flood";
  // Every queue is bounded, so the flood costs its queues' worth, not its size (1,000,000
  // messages of ~100 bytes would be ~100 MB and more).
  EXPECT_LT(rss_peak - rss_before, std::size_t{64} << 20)
      << "RSS grew from " << (rss_before >> 20) << " MB to " << (rss_peak >> 20) << " MB";
}

// H6 of the review: a host killed mid-incident never revoked its grants. The next start
// reads the audit log and revokes, publishes and audits every grant still live there.
TEST_F(EngineFixture, GrantsACrashedRunLeftLiveAreRevokedAtTheNextStart) {
  const auto db = dir / "audit.db";
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t minute = int64_t{60} * 1'000'000'000;
  {
    // What the crashed run wrote: four grants, one of them never ended.
    AuditStore crashed(db);
    auto rec = [&](const std::string& action, const std::string& grant, const std::string& incident, int64_t until) {
      citylink::v1::AuditRecord r;
      r.set_action(action);
      r.set_grant_id(grant);
      r.set_incident_id(incident);
      r.set_incident_source("platform-feed");
      r.set_recipient("112");
      r.add_camera_ids("cam-1");
      r.set_valid_until_unix_ns(until);
      r.set_time_unix_ns(now - 5 * minute);
      crashed.append(r);
    };
    rec("video_grant.issue", "G-A-1", "A", now + 10 * minute);  // left live
    rec("video_grant.issue", "G-B-2", "B", now + 10 * minute);
    rec("video_grant.expire", "G-B-2", "B", now - minute);
    rec("video_grant.issue", "G-C-3", "C", now - minute);  // over by itself
    rec("video_grant.issue", "G-D-4", "D", now + 10 * minute);
    rec("video_grant.revoke", "", "D", now - minute);  // a scenario's revocation names the incident
  }
  audit_log = db.string();
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  ASSERT_TRUE(eventually([&] { return counter("grants/revoked_at_start") == 1 && count("grant.video.112") == 1; }));
  host->stop();
  const auto grants = seen<citylink::v1::VideoShareGrant>("grant.video.112");
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].grant_id(), "G-A-1");
  EXPECT_EQ(grants[0].action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_NE(grants[0].reason().find("stopped without revoking"), std::string::npos) << grants[0].reason();
  AuditStore store(db, AuditStore::OpenMode::read_only);
  EXPECT_TRUE(store.verify().ok);
  const auto all = store.query({});
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all.back().record.action(), "video_grant.revoke");
  EXPECT_EQ(all.back().record.grant_id(), "G-A-1");
  // A second start finds nothing left to revoke.
  EXPECT_TRUE(grants_left_alive(store, now).empty());
}

// H6 of the review: the incident book lived in memory only, so after a restart a "finished"
// for an incident opened before it was refused ("first report already closes it") and no
// revocation or audit record followed. With `host.incident_book` the next run reads the book
// back: the close closes it, and the closed incident still takes no update.
TEST_F(EngineFixture, AnIncidentBookCarriesIncidentsAcrossARestart) {
  incident_book = (dir / "incidents.db").string();
  record_bus = false;  // one recorder per host; this test starts two
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  publish("camera.info", camera("cam-1", 50));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  publish("incident.112", event("112UC001", "112-open", 10, kLat, kLon), "112-open");
  publish("incident.112", event("112UC001", "112-done", 10, kLat, kLon), "112-done");
  publish("incident.112", event("112UC001", "112-done", 91, kLat, kLon), "112-done");
  ASSERT_TRUE(eventually([&] { return counter("incidents/opened") == 2 && counter("incidents/closed") == 1; }));
  host->stop();  // revokes the open incident's grant, as every stop does
  feed->close();  // its socket is on the host's context
  feed.reset();
  engine = nullptr;
  host.reset();

  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  EXPECT_EQ(counter("incidents/restored"), 2u);
  auto finished = event("112UC001", "112-open", 91, 0, 0);
  finished.clear_location();  // a platform's "finished" often carries no position
  publish("incident.112", finished, "112-open");
  publish("incident.112", event("112UC001", "112-done", 40, kLat, kLon), "112-done");
  ASSERT_TRUE(eventually([&] { return counter("incidents/closed") == 1 && counter("incidents/rejected") == 1; }));
  EXPECT_EQ(counter("incidents/opened"), 0u);
  host->stop();
  feed->close();  // its socket is on the host's context
  feed.reset();
  engine = nullptr;
  host.reset();

  // And the third run finds both closed.
  IncidentJournal book(dir / "incidents.db");
  const auto all = book.load();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& inc : all) EXPECT_FALSE(inc.open) << inc.id;
}

// H6 of the review: the host stopped the engine before the plugins, so what a bridge passed
// on as it stopped (the platform's last "finished") was never handled, and the incident's
// grant went out as "engine stopping" instead. Instances that only feed the engine now stop
// first, the engine next (its last revocations still reach the agency), its receivers last.
TEST_F(EngineFixture, WhatAFeedingPluginSendsAsItStopsIsHandledBeforeTheEngineStops) {
  incident_sources = {"platform-feed", "bridge"};
  extra_plugins = "  - instance: bridge\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.incident-closer\n"
                  "    config: {number: \"112-last\", lat: " + std::to_string(kLat) + ", lon: " + std::to_string(kLon) +
                  "}\n    grants: {publish: [incident.112]}\n";
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  ASSERT_TRUE(eventually([&] { return counter("incidents/opened") == 1; }));
  // An incident of the test's own, with video, live when the city stops.
  publish("camera.info", camera("cam-1", 50));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  publish("incident.112", event("112UC001", "112-live", 10, kLat, kLon), "112-live");
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 1; }));
  feed->close();
  host->stop();
  EXPECT_EQ(counter("incidents/closed"), 1u);  // the bridge's last word was handled
  // The engine stopped before the agency's instance, so its revocation reached the agency.
  const auto grants = seen<citylink::v1::VideoShareGrant>("grant.video.112");
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[1].action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(count("grant.video.112"), 2u);
  EXPECT_EQ(counter("incidents/rejected"), 0u);
}

// H8 of the review: cameras and incidents are bounded in number, but each one's size was
// bounded only by host.max_message_bytes (1 MiB): 10,000 cameras with a megabyte-long name
// pinned 10 GB. What the engine keeps is now bounded per item too.
TEST_F(EngineFixture, WhatTheEngineKeepsIsBoundedInSizePerItem) {
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  auto huge = camera("cam-huge", 50);
  huge.set_name(std::string(5000, 'n'));
  publish("camera.info", huge);
  publish("camera.info", camera("cam-1", 60));
  auto wordy = event("112UC001", "112-wordy", 10, kLat, kLon);
  wordy.set_content(std::string(70000, 'w'));
  publish("incident.112", wordy);
  publish("incident.112", event("112UC001", "112-plain", 10, kLat, kLon));
  ASSERT_TRUE(eventually([&] { return counter("incidents/opened") == 1 && counter("incidents/too_large") == 1; }));
  // Cameras travel in the normal queue, served after the incidents.
  EXPECT_TRUE(eventually([&] {
    return counter("camera_registry/too_large") == 1 && counter("camera_registry/cameras_announced") == 1;
  }));
}

// M8 of the review: an output the router's full queue refused was dropped ("could not
// publish"), so a burst of reports could lose grants and their audit records. The engine
// now keeps such outputs, in order, and sends them as the router catches up.
TEST_F(EngineFixture, OutputsTheRoutersFullQueueRefusesWaitInOrderAndAreSent) {
  queue_depth = 1;  // the engine's queue to the router fills at once
  record_bus = false;
  // A router slowed to about 5,000 messages a second: the engine's burst of outputs
  // certainly finds its queue full.
  before_start = [](Host& h) {
    h.router().set_observer([](std::string_view, const uint8_t*, std::size_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    });
  };
  start("  emergency_video_112: {radius_m: 500, max_cameras: 2}\n");
  auto send = [&](const std::string& topic, const google::protobuf::Message& m) {
    citylink::v1::Envelope e;
    e.set_schema(m.GetTypeName());
    e.set_payload(m.SerializeAsString());
    const auto bytes = e.SerializeAsString();
    citylink_status st;
    while ((st = feed->publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr)) ==
           CITYLINK_ERR_BACKPRESSURE)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    ASSERT_EQ(st, CITYLINK_OK);
  };
  send("camera.info", camera("cam-1", 50));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  constexpr int kReports = 60;
  for (int i = 0; i < kReports; ++i) send("incident.112", event("112UC001", "112-b" + std::to_string(i), 10, kLat, kLon));
  // The router drops at the engine's full inbox too (counted); every report that arrived is
  // a grant and an audit record sent.
  const auto arrived = [&] { return counter("incidents/opened"); };
  const auto dropped = [&] { return engine->bus_counters().dropped_incoming; };
  ASSERT_TRUE(eventually([&] { return arrived() + dropped() == kReports; }))
      << arrived() << " opened, " << dropped() << " dropped at the engine's inbox";
  ASSERT_GT(arrived(), 0u);
  ASSERT_TRUE(eventually([&] {
    return counter("emitted/grant.video.112") == arrived() && counter("emitted/audit.video_grant") == arrived();
  })) << counter("emitted/grant.video.112") << " grants, " << counter("emitted/audit.video_grant") << " audits sent of "
      << arrived() << "; held " << counter("emit_held/grant.video.112") << " + " << counter("emit_held/audit.video_grant");
  EXPECT_GT(counter("emit_held/grant.video.112") + counter("emit_held/audit.video_grant"), 0u);
  EXPECT_EQ(counter("emit_failed/grant.video.112"), 0u);
  EXPECT_EQ(counter("emit_failed/audit.video_grant"), 0u);
}

// C3 of the review: a camera belongs to the instance that first announced it; another
// instance can neither re-announce it nor report its status.
TEST_F(EngineFixture, OnlyTheOwnerOfACameraChangesItOrReportsItsStatus) {
  start("  emergency_video_112:\n");
  publish("camera.info", camera("cam-1", 50));
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/cameras_announced") == 1; }));
  auto other = host->router().add_publisher("vendor-b", {"*"}, std::make_shared<InstanceCounters>());
  other->open();
  auto send = [&](const std::string& topic, const google::protobuf::Message& m) {
    citylink::v1::Envelope e;
    e.set_schema(m.GetTypeName());
    e.set_payload(m.SerializeAsString());
    const auto bytes = e.SerializeAsString();
    ASSERT_EQ(other->publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr), CITYLINK_OK);
  };
  auto hijack = camera("cam-1", 50);
  hijack.set_stream_uri("rtsp://attacker.example/cam-1");
  send("camera.info", hijack);
  citylink::v1::CameraStatus off;
  off.set_camera_id("cam-1");
  off.set_status(citylink::v1::CAMERA_STATE_OFFLINE);
  send("camera.status", off);
  ASSERT_TRUE(eventually([&] { return counter("camera_registry/not_owner") == 2; }));
  // The real camera still serves the next 112 report, online and with its own stream.
  publish("incident.112", event("112UC001", "112-H", 10, kLat, kLon), "112-H");
  ASSERT_TRUE(eventually([&] { return count("grant.video.112") == 1; }));
  const auto grants = seen<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 1u);
  ASSERT_EQ(grants[0].stream_uris_size(), 1);
  EXPECT_EQ(grants[0].stream_uris(0), "rtsp://vms.test/cam-1");
}

// Review H8: a camera was never forgotten, so an instance that reached its cap with cameras
// long gone (or ids it made up once) could never announce another. Driven on the test's
// thread with a retention of 1 ns: the first camera is forgotten, and the cap of one
// admits the second.
TEST(EngineRetention, ACameraNotHeardFromForTheRetentionIsForgottenAndFreesItsOwnersCap) {
  zmq::context_t ctx;
  Router router(ctx);
  router.start();
  InputPolicy policy;
  policy.cameras["cams"].max = 1;
  policy.camera_retention_ns = 1;
  ScenarioEngine engine({}, router, ctx, policy);
  auto drive = [&](const std::string& topic, const google::protobuf::Message& m) {
    citylink::v1::Envelope e;
    e.set_topic(topic);
    e.set_schema(m.GetTypeName());
    e.set_source("cams");
    e.set_payload(m.SerializeAsString());
    const auto bytes = e.SerializeAsString();
    engine.drive(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  };
  drive("camera.info", camera("cam-1", 50));
  citylink::v1::CameraStatus nothing;  // a heartbeat for no camera: a drive, so a tick
  nothing.set_camera_id("none");
  ASSERT_TRUE(eventually([&] {
    drive("camera.status", nothing);
    return engine.counters()["camera_registry/forgotten"] == 1;
  }));
  drive("camera.info", camera("cam-2", 60));
  const auto c = engine.counters();
  EXPECT_EQ(c.count("camera_registry/over_cap"), 0u) << "the forgotten camera still counted against the cap";
  EXPECT_EQ(c.at("camera_registry/cameras_announced"), 2u);
}

// Review H8, what remained: a source that opened and closed incidents fast kept every closed
// one for the whole retention (a day by default). Over host.max_closed_incidents_per_source,
// its oldest closed incident is forgotten at once, and counted.
TEST(EngineRetention, ASourceOverItsClosedIncidentCapHasItsOldestClosedOneForgottenAtOnce) {
  zmq::context_t ctx;
  Router router(ctx);
  router.start();
  InputPolicy policy;
  policy.authority.push_back({"112UC001", "incident.112", {"feed"}, 0});
  policy.max_closed_incidents_per_source = 1;
  ScenarioEngine engine({}, router, ctx, policy);
  auto report = [&](const std::string& number, citylink::v1::EventStatus status) {
    citylink::v1::PlatformEvent ev;
    ev.set_event_code("112UC001");
    ev.set_occurrence_number(number);
    ev.set_status(status);
    ev.mutable_location()->set_lat(37.5665);
    ev.mutable_location()->set_lon(126.978);
    citylink::v1::Envelope e;
    e.set_topic("incident.112");
    e.set_schema(ev.GetTypeName());
    e.set_source("feed");
    e.set_payload(ev.SerializeAsString());
    const auto bytes = e.SerializeAsString();
    engine.drive(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  };
  for (const char* number : {"N-1", "N-2", "N-3"}) {
    report(number, citylink::v1::EVENT_STATUS_OCCURRED);
    report(number, citylink::v1::EVENT_STATUS_FINISHED);
  }
  const auto c = engine.counters();
  EXPECT_EQ(c.at("incidents/closed"), 3u);
  ASSERT_EQ(c.count("incidents/retired_early"), 1u);
  EXPECT_EQ(c.at("incidents/retired_early"), 2u);
  router.stop();
}
