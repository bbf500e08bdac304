// The management API through real HTTP against a real host: a city with the 112 scenario,
// a real agency plugin, an audit log, and the bus observed as it runs.
#include <citylink/platform/platform.hpp>
#include <citylink/host/audit_store.hpp>
#include <citylink/host/event_feed.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/management_server.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/envelope.pb.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <citylink/host/child_process.hpp>

#include "bus_recorder.hpp"
#include "header_flood.hpp"
#include "scenario_fixture.hpp"
#include "test_support.hpp"

using namespace citylink::host;
using namespace citylink::test;
using nlohmann::json;

namespace {

const std::string kViewer = "viewer-token-0123456789abcdef";
const std::string kOperator = "operator-token-0123456789abcdef";
const std::string kAdmin = "admin-token-0123456789abcdef";

struct ManagementApi : ::testing::Test {
  TempDir dir;
  BusRecorder bus;
  std::unique_ptr<Host> host;
  std::shared_ptr<Publisher> feed;
  std::unique_ptr<httplib::Client> http;
  std::string extra_http;  // more host.http settings
  std::string scenario = "{radius_m: 500, max_cameras: 2}";  // emergency_video_112's settings
  bool tls = false;        // the client speaks HTTPS

  void SetUp() override {}

  void start() {
    write_file(dir / "admin.token", kAdmin + "\n");
    const std::string yaml =
        "city: api-test\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) + "]\n" +
        "host:\n  audit_log: " + (dir / "audit.db").string() +
        "\n  http:\n    listen: 127.0.0.1:0\n" + extra_http +
        "    tokens:\n"
        "      - {name: vera, role: viewer, token_sha256: " + keys::sha256_hex(kViewer.data(), kViewer.size()) + "}\n" +
        "      - {name: olga, role: operator, token_sha256: " + keys::sha256_hex(kOperator.data(), kOperator.size()) +
        "}\n      - {name: adam, role: admin, token_file: admin.token}\n"
        "scenarios:\n  emergency_video_112: " + scenario + "\n" +
        "plugins:\n"
        "  - instance: agency-112\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n"
        "    config: {out: " + (dir / "agency.jsonl").string() + "}\n    recipient: \"112\"\n"
        "    grants: {subscribe: [grant., dispatch.]}\n"
        "  - instance: spare\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n"
        "    enabled: false\n    config: {out: " + (dir / "spare.jsonl").string() + "}\n";
    auto config = citylink::platform::parse_city_config(yaml, "api-test.yaml", dir.path());
    config.incident_authority.push_back({"112UC001", "incident.112", {"platform-feed"}, 0});
    host = std::make_unique<Host>(std::move(config));
    citylink::platform::add_scenario_engine(*host);
    host->set_worker_command({CITYLINK_BIN, "worker"});
    bus.attach(*host);
    host->start();
    feed = host->router().add_publisher("platform-feed", {"*"}, std::make_shared<InstanceCounters>());
    feed->open();
    if (!host->management()) return;
    http = std::make_unique<httplib::Client>((tls ? "https://127.0.0.1:" : "http://127.0.0.1:") +
                                             std::to_string(host->management()->port()));
    http->enable_server_certificate_verification(false);  // the test's self-signed certificate
  }
  void start_ok() {
    start();
    ASSERT_TRUE(host->failures().empty()) << host->failures()[0].instance_id << ": " << host->failures()[0].reason;
    ASSERT_NE(host->management(), nullptr);
  }
  void TearDown() override {
    if (host) host->stop();
  }

  void publish(const std::string& topic, const google::protobuf::Message& m) {
    citylink::v1::Envelope e;
    e.set_schema(m.GetTypeName());
    e.set_payload(m.SerializeAsString());
    const auto bytes = e.SerializeAsString();
    ASSERT_EQ(feed->publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr), CITYLINK_OK);
  }
  void cameras_and_incident(const std::string& number) {
    for (int i = 0; i < 2; ++i) {
      citylink::v1::CameraInfo c;
      auto [lat, lon] = offset(kLat, kLon, 100.0 * (i + 1), 0);
      c.set_camera_id("cam-" + std::to_string(i));
      c.mutable_position()->set_lat(lat);
      c.mutable_position()->set_lon(lon);
      c.set_field_of_view_deg(90);
      c.set_range_m(100);
      c.set_stream_uri("rtsp://user:secret@vms.test/cam-" + std::to_string(i));
      c.set_status(citylink::v1::CAMERA_STATE_ONLINE);
      publish("camera.info", c);
    }
    // Incidents are served before camera messages: wait until the engine knows the cameras.
    ASSERT_TRUE(eventually([&] { return citylink::platform::scenario_engine(*host)->camera_registry().size() == 2; }));
    publish("incident.112", event("112UC001", number, 10, kLat, kLon));
  }
  httplib::Headers auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  json get(const std::string& path, const std::string& token, int expect = 200) {
    auto r = http->Get(path.c_str(), auth(token));
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  json post(const std::string& path, const std::string& token, const std::string& body, int expect) {
    auto r = http->Post(path.c_str(), auth(token), body, "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  std::vector<citylink::v1::VideoShareGrant> grants_on_bus() {
    return bus.payloads<citylink::v1::VideoShareGrant>("grant.video");
  }
  std::vector<StoredAuditRecord> audit(const std::string& action) {
    AuditQuery q;
    std::vector<StoredAuditRecord> out;
    for (auto& r : host->audit_store()->query(q))
      if (r.record.action() == action) out.push_back(std::move(r));
    return out;
  }
  std::string state_of(const std::string& id) { return get("/api/instances/" + id, kViewer)["state"]; }
};

TEST_F(ManagementApi, NoTokenIs401AWrongRoleIs403AndBothAreAuditedWithoutTheToken) {
  start_ok();
  auto r = http->Get("/api/instances");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"citylink\"");
  EXPECT_NE(json::parse(r->body)["error"].get<std::string>().find("bearer token"), std::string::npos);
  get("/api/instances", "not-a-token", 401);
  post("/api/instances/agency-112/disable", kViewer, "", 403);
  post("/api/instances/agency-112/disable", kOperator, "", 403);
  EXPECT_EQ(state_of("agency-112"), "running");  // nothing changed
  const auto denied = audit("operator.denied");
  ASSERT_EQ(denied.size(), 4u);
  EXPECT_EQ(denied[0].record.actor(), "http:127.0.0.1");
  EXPECT_EQ(denied[2].record.actor(), "operator:vera");
  EXPECT_NE(denied[2].record.detail().find("POST /api/instances/agency-112/disable: 403"), std::string::npos);
  for (const auto& d : denied) {
    EXPECT_EQ(d.record.detail().find(kViewer), std::string::npos);
    EXPECT_EQ(d.record.detail().find("not-a-token"), std::string::npos);
  }
  EXPECT_TRUE(host->audit_store()->verify().ok);
  EXPECT_EQ(get("/api/whoami", kAdmin)["name"], "adam");  // the token from token_file
}

TEST_F(ManagementApi, HealthReadinessAndTheApiDescriptionNeedNoTokenAndDescribeEveryRoute) {
  start_ok();
  auto h = http->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto ready = http->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(json::parse(ready->body)["ready"], true);
  auto doc = http->Get("/api/openapi.json");
  ASSERT_TRUE(doc);
  const auto spec = json::parse(doc->body);
  EXPECT_EQ(spec["openapi"], "3.0.3");
  for (const char* path : {"/api/instances", "/api/instances/{id}/disable", "/api/incidents", "/api/grants",
                           "/api/grants/{id}/revoke", "/api/cameras", "/api/audit", "/api/audit/verify",
                           "/api/transparency", "/api/events", "/metrics", "/healthz", "/readyz"})
    EXPECT_TRUE(spec["paths"].contains(path)) << path;
  EXPECT_EQ(spec["paths"]["/api/grants/{id}/revoke"]["post"]["x-citylink-role"], "operator");
  auto missing = http->Get("/api/nothing-here", auth(kViewer));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(json::parse(missing->body)["error"].get<std::string>().find("openapi.json"), std::string::npos);
}

TEST_F(ManagementApi, InstancesShowDescriptorGrantsAndStateAndAreDisabledEnabledAndRestartedAtRuntime) {
  start_ok();
  const auto list = get("/api/instances", kViewer);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["instance_id"], "agency-112");
  EXPECT_EQ(list[0]["state"], "running");
  EXPECT_EQ(list[0]["descriptor"]["id"], "kr.citylink.test.collector");
  EXPECT_EQ(list[0]["granted"]["subscribe"], json({"grant.", "dispatch."}));
  EXPECT_EQ(list[1]["state"], "disabled");
  EXPECT_EQ(list[1]["enabled_in_config"], false);
  get("/api/instances/nobody", kViewer, 404);
  post("/api/instances/nobody/restart", kAdmin, "", 404);

  // The agency goes away and comes back while the city runs; what the engine decides
  // meanwhile is not delivered to it (the router counts it), and after it is.
  EXPECT_EQ(post("/api/instances/agency-112/disable", kAdmin, "", 200)["state"], "disabled");
  post("/api/instances/agency-112/disable", kAdmin, "", 409);
  EXPECT_EQ(host->registry().instance("agency-112"), nullptr);
  EXPECT_EQ(post("/api/instances/agency-112/enable", kAdmin, "", 200)["state"], "running");
  post("/api/instances/agency-112/enable", kAdmin, "", 409);
  cameras_and_incident("112-300");
  ASSERT_TRUE(eventually([&] { return !read_jsonl(dir / "agency.jsonl").empty(); }));
  EXPECT_EQ(post("/api/instances/agency-112/restart", kAdmin, "", 200)["state"], "running");
  // An instance the config left disabled can be started by an operator too.
  EXPECT_EQ(post("/api/instances/spare/enable", kAdmin, "", 200)["state"], "running");
  const auto changes = audit("operator.instance.disable");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].record.actor(), "operator:adam");
  EXPECT_EQ(audit("operator.instance.enable").size(), 2u);
  EXPECT_EQ(audit("operator.instance.restart").size(), 1u);
}

TEST_F(ManagementApi, A112IncidentShowsItsGrantAndAnOperatorRevokesItWithAReasonThatIsAudited) {
  start_ok();
  cameras_and_incident("112-777");
  ASSERT_TRUE(eventually([&] { return !grants_on_bus().empty(); }));
  const auto incidents = get("/api/incidents?state=open", kViewer);
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0]["occurrence_number"], "112-777");
  EXPECT_EQ(incidents[0]["open"], true);
  EXPECT_EQ(incidents[0].dump().find("test incident"), std::string::npos);  // content is not the operator's
  ASSERT_EQ(incidents[0]["live_grants"].size(), 1u);
  get("/api/incidents?state=sideways", kViewer, 400);
  const auto grants = get("/api/grants", kViewer);
  ASSERT_EQ(grants.size(), 1u);
  const std::string id = grants[0]["grant_id"];
  EXPECT_EQ(grants[0]["recipient"], "112");
  EXPECT_GT(grants[0]["seconds_left"].get<int>(), 60);
  EXPECT_EQ(grants.dump().find("secret"), std::string::npos);  // stream URIs carry credentials
  const auto cams = get("/api/cameras", kViewer);
  EXPECT_EQ(cams["type"], "FeatureCollection");
  ASSERT_EQ(cams["features"].size(), 2u);
  EXPECT_EQ(cams["features"][0]["geometry"]["type"], "Point");
  EXPECT_EQ(cams["features"][0]["properties"]["camera_id"], "cam-0");
  EXPECT_EQ(cams["features"][0]["properties"]["fov_deg"], 90.0);

  // Bad requests change nothing.
  post("/api/grants/" + id + "/revoke", kViewer, R"({"reason": "x"})", 403);
  post("/api/grants/" + id + "/revoke", kOperator, "{not json", 400);
  post("/api/grants/" + id + "/revoke", kOperator, "{}", 400);
  post("/api/grants/" + id + "/revoke", kOperator, "{\"reason\": \"" + std::string(100000, 'x') + "\"}", 413);
  const std::string flood = citylink::test::send_header_flood(host->management()->port(), "GET /api/grants HTTP/1.1");
  EXPECT_EQ(flood.rfind("HTTP/1.1 431 ", 0), 0u) << flood.substr(0, 200);
  EXPECT_NE(flood.find(R"("status":431)"), std::string::npos);
  EXPECT_EQ(get("/api/grants", kViewer).size(), 1u);

  const auto revoked = post("/api/grants/" + id + "/revoke", kOperator, R"({"reason": "wrong camera set"})", 200);
  EXPECT_EQ(revoked["action"], "ACTION_REVOKE");
  EXPECT_EQ(get("/api/grants", kViewer).size(), 0u);
  // The agency is told, and the audit log names the operator and the reason.
  ASSERT_TRUE(eventually([&] {
    for (const auto& g : grants_on_bus())
      if (g.grant_id() == id && g.action() == citylink::v1::VideoShareGrant::ACTION_REVOKE) return true;
    return false;
  }));
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : audit("video_grant.revoke"))
      if (r.record.grant_id() == id && r.record.actor() == "operator:olga" &&
          r.record.detail().find("wrong camera set") != std::string::npos)
        return true;
    return false;
  }));
  // Revoking it again (it is no longer live) is a clear error.
  const auto again = post("/api/grants/" + id + "/revoke", kOperator, R"({"reason": "twice"})", 404);
  EXPECT_NE(again["error"].get<std::string>().find("not live"), std::string::npos);

  const auto records = get("/api/audit?incident=112-777", kViewer);
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[0]["action"], "video_grant.issue");
  get("/api/audit?from=yesterday", kViewer, 400);
  EXPECT_EQ(get("/api/audit/verify", kViewer)["ok"], true);
  const std::string metrics = http->Get("/metrics", auth(kViewer))->body;
  EXPECT_NE(metrics.find("citylink_http_denied_total 1"), std::string::npos);
}

TEST_F(ManagementApi, TheTransparencyReportCountsGrantsByPurposeWithoutPersonalDataOrIds) {
  start_ok();
  cameras_and_incident("112-901");
  ASSERT_TRUE(eventually([&] { return get("/api/grants", kViewer).size() == 1; }));
  post("/api/grants/" + get("/api/grants", kViewer)[0]["grant_id"].get<std::string>() + "/revoke", kOperator,
       R"({"reason": "test"})", 200);
  ASSERT_TRUE(eventually([&] { return audit("video_grant.revoke").size() == 1; }));
  const auto now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char month[8];
  std::strftime(month, sizeof month, "%Y-%m", &tm);
  const auto report = get(std::string("/api/transparency?month=") + month, kViewer);
  ASSERT_EQ(report["video_grants"].size(), 1u) << report.dump();
  const auto& g = report["video_grants"][0];
  EXPECT_EQ(g["recipient"], "112");
  EXPECT_EQ(g["grants_issued"], 1);
  EXPECT_EQ(g["revoked"], 1);
  EXPECT_EQ(g["revoked_by_operator"], 1);
  EXPECT_EQ(g["cameras_shared"], 2);
  EXPECT_FALSE(g["purpose"].get<std::string>().empty());
  EXPECT_FALSE(g["duration_seconds"].is_null());
  const std::string text = report.dump();
  EXPECT_EQ(text.find("112-901"), std::string::npos);
  EXPECT_EQ(text.find("cam-"), std::string::npos);
  get("/api/transparency?month=2026-13", kViewer, 400);
  get("/api/transparency", kViewer, 400);
  // The same report from the command line.
  const auto cli = run_child({CITYLINK_BIN, "audit", "transparency", (dir / "audit.db").string(), "--month", month},
                             std::chrono::seconds(30));
  EXPECT_TRUE(cli.ok()) << cli.err;
  EXPECT_EQ(json::parse(cli.out)["video_grants"], report["video_grants"]);
}

TEST_F(ManagementApi, TheEventStreamCarriesIncidentsGrantsDispatchesAndInstanceChanges) {
  extra_http = "    max_event_clients: 2\n";
  start_ok();
  std::mutex mu;
  std::string seen;
  std::atomic<bool> stop{false};
  httplib::Client stream("127.0.0.1", host->management()->port());
  stream.set_read_timeout(10, 0);
  std::thread reader([&] {
    stream.Get("/api/events", auth(kViewer), [&](const char* data, size_t n) {
      std::lock_guard lk(mu);
      seen.append(data, n);
      return !stop.load();
    });
  });
  auto saw = [&](const std::string& what) {
    std::lock_guard lk(mu);
    return seen.find(what) != std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return host->events()->has_listeners(); }));
  cameras_and_incident("112-555");
  post("/api/instances/spare/enable", kAdmin, "", 200);
  EXPECT_TRUE(eventually([&] { return saw("event: incident") && saw("event: grant") && saw("event: instance"); }));
  EXPECT_TRUE(saw("\"occurrence_number\":\"112-555\""));
  EXPECT_TRUE(saw("\"instance_id\":\"spare\""));
  // A second stream is allowed, a third is refused: the limit protects the host's threads.
  httplib::Client second("127.0.0.1", host->management()->port());
  std::thread second_reader([&] {
    second.Get("/api/events", auth(kViewer), [&](const char*, size_t) { return !stop.load(); });
  });
  ASSERT_TRUE(eventually([&] { return host->events()->published() > 0 && host->management()->requests() >= 3; }));
  ASSERT_TRUE(eventually([&] {
    auto r = http->Get("/api/events", auth(kViewer));
    return r && r->status == 503;
  }));
  stop = true;
  host->stop();  // open streams end with the host
  reader.join();
  second_reader.join();
}

TEST_F(ManagementApi, RevokingAGrantThatAlreadyExpiredIsAClearErrorAndChangesNothing) {
  scenario = "{radius_m: 500, max_cameras: 2, grant_minutes: 0.01, renew_before_seconds: 0}";  // 0.6 s, no renewal
  start_ok();
  cameras_and_incident("112-808");
  std::string id;
  ASSERT_TRUE(eventually([&] {
    for (const auto& g : grants_on_bus())
      if (g.action() == citylink::v1::VideoShareGrant::ACTION_EXPIRE) id = g.grant_id();
    return !id.empty();
  }));
  EXPECT_EQ(get("/api/grants", kViewer).size(), 0u);
  const auto r = post("/api/grants/" + id + "/revoke", kOperator, R"({"reason": "too late"})", 404);
  EXPECT_NE(r["error"].get<std::string>().find("has expired"), std::string::npos);
  EXPECT_TRUE(audit("video_grant.revoke").empty());
}

TEST_F(ManagementApi, WithTlsTheApiSpeaksOnlyHttpsAndABadCertificateStopsOnlyTheApi) {
  const auto made = run_child({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                               "/CN=127.0.0.1", "-keyout", (dir / "api.key").string(), "-out", (dir / "api.crt").string()},
                              std::chrono::seconds(60));
  ASSERT_TRUE(made.ok()) << made.err;
  extra_http = "    tls: {cert: api.crt, key: api.key}\n";
  tls = true;
  start_ok();
  EXPECT_EQ(get("/api/whoami", kViewer)["name"], "vera");
  EXPECT_TRUE(host->management()->url().rfind("https://", 0) == 0);
  httplib::Client plain("127.0.0.1", host->management()->port());
  const auto r = plain.Get("/healthz");
  EXPECT_TRUE(!r || r->status != 200);  // clear text gets no answer
  host->stop();

  // A certificate that is not one: the API is reported as not started, the city runs.
  write_file(dir / "api.crt", "not a certificate\n");
  http.reset();
  feed.reset();  // its socket belongs to the host's context
  host.reset();
  start();
  ASSERT_EQ(host->failures().size(), 1u);
  EXPECT_EQ(host->failures()[0].instance_id, "http");
  EXPECT_NE(host->failures()[0].reason.find("host.http.tls"), std::string::npos);
  EXPECT_EQ(host->management(), nullptr);
  EXPECT_EQ(host->registry().instance("agency-112")->state(), InstanceState::running);
}

TEST(EventFeed, AListenerThatFallsBehindIsCutOffAndThePublisherNeverWaits) {
  EventFeed feed(5);
  auto slow = feed.listen(4);
  auto fast = feed.listen(4);
  ASSERT_TRUE(slow && fast);
  for (int i = 0; i < 5; ++i) {
    feed.publish("grant", "{}");
    ASSERT_TRUE(fast->next(std::chrono::milliseconds(0)));
  }
  feed.publish("grant", "{}");  // the sixth: slow has 5 waiting
  EXPECT_TRUE(slow->closed());
  EXPECT_TRUE(slow->overflowed());
  EXPECT_FALSE(slow->next(std::chrono::milliseconds(0)));
  EXPECT_FALSE(fast->closed());
  EXPECT_TRUE(fast->next(std::chrono::milliseconds(0)));
  EXPECT_EQ(feed.dropped_listeners(), 1u);
  EXPECT_TRUE(feed.listen(2));  // its place is free again
  EXPECT_FALSE(feed.listen(2));
}

}  // namespace
