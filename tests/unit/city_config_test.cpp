#include "test_support.hpp"

#include <citylink/platform/platform.hpp>
#include <citylink/host/city_config.hpp>
#include <citylink/host/error.hpp>
#include <gtest/gtest.h>

#include <sstream>

using namespace citylink::host;
using citylink::test::TempDir;

namespace {

// Parses `yaml` with a real plugin file named gauge.so next to it.
struct Fixture {
  TempDir dir;
  Fixture() { citylink::test::write_file(dir / "gauge.so", "x"); }
  CityConfig parse(const std::string& yaml) { return parse_city_config(yaml, "city.yaml", dir.path()); }
  std::string error(const std::string& yaml) {
    try {
      parse(yaml);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

}  // namespace

TEST(CityConfig, ReadsEveryField) {
  Fixture f;
  const auto c = f.parse(R"(
citylink: 1
city: suwon
host:
  log_level: debug
  max_message_bytes: 65536
  queue_depth: 500
plugins:
  - instance: gauge-1
    plugin: kr.acme.gauge
    file: gauge.so
    config:
      interval_ms: 250
      label: "007"
      ratio: 0.5
      on: true
      tags: [a, b]
    grants:
      publish: [sensor.reading, "camera.*"]
      subscribe: [incident.]
)");
  EXPECT_EQ(c.city, "suwon");
  EXPECT_EQ(c.host.log_level, "debug");
  EXPECT_EQ(c.host.max_message_bytes, 65536u);
  EXPECT_EQ(c.host.queue_depth, 500);
  ASSERT_EQ(c.plugins.size(), 1u);
  const auto& p = c.plugins[0];
  EXPECT_EQ(p.instance_id, "gauge-1");
  EXPECT_EQ(p.plugin_id, "kr.acme.gauge");
  EXPECT_EQ(p.file, f.dir / "gauge.so");
  EXPECT_EQ(nlohmann::json::parse(p.config_json),
            nlohmann::json::parse(R"({"interval_ms":250,"label":"007","ratio":0.5,"on":true,"tags":["a","b"]})"));
  EXPECT_EQ(p.publish_grants, (std::vector<std::string>{"sensor.reading", "camera.*"}));
  EXPECT_EQ(p.subscriptions, (std::vector<std::string>{"incident."}));
  EXPECT_FALSE(p.grants_requested);
}

TEST(CityConfig, NothingIsGrantedUnlessTheConfigSaysSo) {
  Fixture f;
  const auto c = f.parse("plugins:\n  - instance: a\n    file: gauge.so\n  - instance: b\n    file: gauge.so\n"
                         "    grants: requested\n");
  EXPECT_FALSE(c.plugins[0].has_grants);
  EXPECT_FALSE(c.plugins[0].grants_requested);
  EXPECT_TRUE(c.plugins[0].publish_grants.empty());
  EXPECT_TRUE(c.plugins[0].subscriptions.empty());
  EXPECT_TRUE(c.plugins[1].grants_requested);
  EXPECT_NE(f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grants: everything\n")
                .find("city.yaml:4:13: plugins[0].grants: 'everything' is not a grant; write `grants: requested`"),
            std::string::npos);
}

TEST(CityConfig, TheEnginesNamespacesCannotBeGrantedToAPlugin) {
  Fixture f;
  for (const char* t : {"grant.video.112", "dispatch.*", "audit.", "camera.ptz", "grant"}) {
    const auto e = f.error(std::string("plugins:\n  - instance: a\n    file: gauge.so\n    grants: {publish: [") + t + "]}\n");
    EXPECT_NE(e.find("plugins[0].grants.publish[0]: '" + std::string(t) + "' is published only by the scenario engine"),
              std::string::npos)
        << e;
  }
  // Wider grants are fine: the router still keeps the engine's topics out of them.
  EXPECT_NO_THROW(f.parse("plugins:\n  - instance: a\n    file: gauge.so\n    grants: {publish: [\"*\", camera.*]}\n"));
}

TEST(CityConfig, AgencyTrafficNeedsARecipientBinding) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grants: {subscribe: [dispatch.119]}\n");
  EXPECT_NE(e.find("plugins[0].grants.subscribe[0]: 'dispatch.119' carries outputs addressed to agencies; bind the "
                   "instance to its agency with `recipient: NAME`"),
            std::string::npos)
      << e;
  const auto c = f.parse("plugins:\n  - instance: fire\n    file: gauge.so\n    recipient: \"119\"\n"
                         "    grants: {subscribe: [dispatch.119]}\n");
  EXPECT_EQ(c.plugins[0].recipient, "119");
  EXPECT_NE(f.error("plugins:\n  - instance: a\n    file: gauge.so\n    recipient: \"a/b\"\n").find("is not a recipient name"),
            std::string::npos);
}

TEST(CityConfig, InstanceNamesAreRestrictedAndTheHostsNamesReserved) {
  Fixture f;
  for (const char* name : {"scenario-engine", "host", "router", "auditor"}) {
    const auto e = f.error(std::string("plugins:\n  - instance: ") + name + "\n    file: gauge.so\n");
    EXPECT_NE(e.find("'" + std::string(name) + "' is reserved for the host; choose another name"), std::string::npos) << e;
  }
  for (const char* name : {"\"Gauge\"", "\"a b\"", "\"a\\nb\"", "-a", "\"a_b\"", "\"\""}) {
    const auto e = f.error(std::string("plugins:\n  - instance: ") + name + "\n    file: gauge.so\n");
    EXPECT_NE(e.find("is not an instance name; use 1-64 lower-case letters, digits and '-'"), std::string::npos) << e;
  }
}

TEST(CityConfig, IncidentAuthorityNamesCodesTopicsAndKnownSources) {
  Fixture f;
  const std::string plugins = "plugins:\n  - instance: feed\n    file: gauge.so\n";
  const auto c = f.parse(plugins + "incident_authority:\n  112UC001: {topic: incident.112, sources: [feed]}\n");
  ASSERT_EQ(c.incident_authority.size(), 1u);
  EXPECT_EQ(c.incident_authority[0].event_code, "112UC001");
  EXPECT_EQ(c.incident_authority[0].topic, "incident.112");
  EXPECT_EQ(c.incident_authority[0].sources, (std::vector<std::string>{"feed"}));
  // Which codes exist is the platform's vocabulary: the runtime keeps any code, and the
  // platform's loader refuses one it does not know, with its line.
  const std::string unknown = plugins + "incident_authority:\n  112UC999: {topic: incident.112, sources: [feed]}\n";
  EXPECT_EQ(f.parse(unknown).incident_authority.at(0).event_code, "112UC999");
  try {
    (void)citylink::platform::parse_city_config(unknown, "city.yaml", f.dir.path());
    ADD_FAILURE() << "the platform accepted an unknown event code";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "city.yaml:5: incident_authority.112UC999: unknown event code '112UC999'; known: 112UC001"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NE(f.error(plugins + "incident_authority:\n  112UC001: {topic: dispatch.112, sources: [feed]}\n")
                .find("'dispatch.112' is not an incident topic"),
            std::string::npos);
  EXPECT_NE(f.error(plugins + "incident_authority:\n  112UC001: {topic: incident.112, sources: [fed]}\n")
                .find("incident_authority.112UC001.sources[0]: 'fed' is not an instance of this city"),
            std::string::npos);
}

TEST(CityConfig, CameraOwnersNeedPrefixesOfTheirOwn) {
  Fixture f;
  const auto c = f.parse("plugins:\n  - instance: a\n    file: gauge.so\n    cameras: {id_prefix: GN-, stream_base: "
                         "\"rtsp://vms.a/\", max: 20}\n");
  EXPECT_EQ(c.plugins[0].cameras.id_prefix, "GN-");
  EXPECT_EQ(c.plugins[0].cameras.stream_base, "rtsp://vms.a/");
  EXPECT_EQ(c.plugins[0].cameras.max, 20u);
  const auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    cameras: {id_prefix: GN}\n"
                         "  - instance: b\n    file: gauge.so\n    cameras: {id_prefix: GN-2}\n");
  EXPECT_NE(e.find("plugins[1].cameras.id_prefix: 'GN-2' overlaps the prefix 'GN' of instance 'a'"), std::string::npos) << e;
}

TEST(CityConfig, DuplicateKeysAliasLoopsAndAliasBombsAreRefusedWithTheirLines) {
  Fixture f;
  // M10 of the review: yaml-cpp reads the first of two keys, the JSON of `config:` the last.
  auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grants: requested\n    grants: {publish: [x]}\n");
  EXPECT_NE(e.find("city.yaml:5:5: plugins[0].grants: written twice (first on line 4); keep one"), std::string::npos) << e;
  e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    config: {k: 1, k: 2}\n");
  EXPECT_NE(e.find("plugins[0].config.k: written twice"), std::string::npos) << e;
  // `&a [*a]`: yaml-cpp builds a real cycle; it used to crash the loader (SIGSEGV).
  e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    config: &a {sensor_id: WL-1, extra: [*a]}\n");
  EXPECT_NE(e.find("nested more than 64 levels deep (an alias that refers to itself?)"), std::string::npos) << e;
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i)
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + std::string("*a") + std::to_string(i - 1) +
            ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  // Ten to the eighth values once expanded: the budget stops it early.
  std::string in_config = "plugins:\n  - instance: a\n    file: gauge.so\n    config:\n";
  std::istringstream lines(bomb);
  for (std::string l; std::getline(lines, l);) in_config += "      " + l + "\n";
  e = f.error(in_config);
  EXPECT_NE(e.find("values after expanding aliases; the plugin config is too large"), std::string::npos) << e;
}

TEST(CityConfig, UnknownFieldNamesFileLineColumnFieldAndTheChoices) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grnats: {}\n");
  EXPECT_NE(e.find("city.yaml:4:5: plugins[0].grnats: unknown field 'grnats'"), std::string::npos) << e;
  EXPECT_NE(e.find("grants"), std::string::npos) << e;
}

TEST(CityConfig, MissingPluginFileSaysWhereItLooked) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: nowhere.so\n");
  EXPECT_NE(e.find("city.yaml:3:11: plugins[0].file: plugin file 'nowhere.so' not found"), std::string::npos) << e;
  EXPECT_NE(e.find((f.dir / "nowhere.so").string()), std::string::npos) << e;
}

TEST(CityConfig, DuplicateInstanceNamesBothLines) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n  - instance: a\n    file: gauge.so\n");
  EXPECT_NE(e.find("city.yaml:4:15: plugins[1].instance: duplicate instance 'a' (first used on line 2)"),
            std::string::npos)
      << e;
}

TEST(CityConfig, QueueBytesAndCriticalTopicsAreChecked) {
  Fixture f;
  std::string e = f.error("host:\n  queue_bytes: 100000\nplugins: []\n");
  EXPECT_NE(e.find("host.queue_bytes: 100000 bytes cannot hold one message of host.max_message_bytes (1048576)"),
            std::string::npos)
      << e;
  e = f.error("host:\n  critical_topics: [incident.*, Dispatch]\nplugins: []\n");
  EXPECT_NE(e.find("host.critical_topics[1]: 'Dispatch' is not a topic"), std::string::npos) << e;
}

// Review H7: every queue is bounded, but their sum is checked against a budget the city sets.
TEST(CityConfig, TheQueuesWorstCaseMustFitTheMemoryBudget) {
  Fixture f;
  const std::string three = "  - instance: a\n    file: gauge.so\n  - instance: b\n    file: gauge.so\n"
                            "  - instance: c\n    file: gauge.so\n    enabled: false\n";
  // Two enabled instances and the engine: 3 x 4 queues x 64 MiB = 768 MiB.
  auto c = f.parse("host:\n  memory_budget_mb: 768\nplugins:\n" + three);
  EXPECT_EQ(citylink::host::queue_memory_bound(c), uint64_t{768} << 20);
  const std::string e = f.error("host:\n  memory_budget_mb: 767\nplugins:\n" + three);
  EXPECT_NE(e.find("city.yaml:2:21: host.memory_budget_mb: the bus's queues may hold up to 768 MiB (3 participants x "
                   "4 queues x host.queue_bytes 64 MiB), more than the budget of 767 MiB; lower host.queue_bytes, "
                   "enable fewer instances, or raise the budget"),
            std::string::npos)
      << e;
  c = f.parse("host:\n  memory_budget_mb: 767\n  queue_bytes: 16777216\nplugins:\n" + three);  // 16 MiB queues fit
  EXPECT_EQ(c.host.memory_budget_mb, 767u);
}

TEST(CityConfig, IsolationAndWorkerSettingsAreReadAndChecked) {
  Fixture f;
  const auto c = f.parse(
      "plugins:\n  - instance: a\n    file: gauge.so\n    isolation: process\n"
      "    worker: {restart_limit: 2, backoff_ms: 50, heartbeat_timeout_ms: 800, memory_mb: 512, open_files: 64, "
      "cpu_seconds: 30}\n  - instance: b\n    file: gauge.so\n  - instance: c\n    file: gauge.so\n    trusted: true\n"
      "  - instance: d\n    file: gauge.so\n    isolation: none\n");
  EXPECT_TRUE(c.plugins[0].isolated());
  EXPECT_EQ(c.plugins[0].restart_limit, 2);
  EXPECT_EQ(c.plugins[0].backoff_ms, 50);
  EXPECT_EQ(c.plugins[0].heartbeat_timeout_ms, 800);
  EXPECT_EQ(c.plugins[0].memory_mb, 512u);
  EXPECT_EQ(c.plugins[0].open_files, 64u);
  EXPECT_EQ(c.plugins[0].cpu_seconds, 30u);
  // Secure by default: what the city does not vouch for runs in a worker process.
  EXPECT_TRUE(c.plugins[1].isolated());
  EXPECT_FALSE(c.plugins[2].isolated());  // trusted: the host's process
  EXPECT_FALSE(c.plugins[3].isolated());  // said explicitly
  std::string e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    isolation: sandbox\n");
  EXPECT_NE(e.find("plugins[0].isolation: 'sandbox' is not an isolation; use `process`"), std::string::npos) << e;
  e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    worker: {restarts: 3}\n");
  EXPECT_NE(e.find("plugins[0].worker.restarts: unknown field"), std::string::npos) << e;
  e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    worker: {heartbeat_timeout_ms: 10}\n");
  EXPECT_NE(e.find("plugins[0].worker.heartbeat_timeout_ms"), std::string::npos) << e;
}

TEST(CityConfig, DurableSubscriptionsAndTheOutboxAreReadAndChecked) {
  Fixture f;
  const auto c = f.parse(
      "host:\n  outbox: spool/outbox.db\n  outbox_max_mb: 64\n  outbox_fsync: true\n"
      "plugins:\n  - instance: a\n    file: gauge.so\n    durable: true\n"
      "  - instance: b\n    file: gauge.so\n"
      "    durable: {topics: [dispatch.*], ack_timeout_ms: 5000, max_deliveries: 3, in_flight: 8}\n"
      "  - instance: c\n    file: gauge.so\n");
  EXPECT_EQ(c.host.outbox.filename(), "outbox.db");
  EXPECT_TRUE(c.host.outbox.is_absolute());
  EXPECT_EQ(c.host.outbox_max_mb, 64u);
  EXPECT_TRUE(c.host.outbox_fsync);
  EXPECT_TRUE(c.plugins[0].durable);
  EXPECT_TRUE(c.plugins[0].durable_topics.empty());
  EXPECT_EQ(c.plugins[0].max_deliveries, 10u);
  EXPECT_TRUE(c.plugins[1].durable);
  EXPECT_EQ(c.plugins[1].durable_topics, std::vector<std::string>{"dispatch.*"});
  EXPECT_EQ(c.plugins[1].ack_timeout_ms, 5000);
  EXPECT_EQ(c.plugins[1].max_deliveries, 3u);
  EXPECT_EQ(c.plugins[1].in_flight, 8u);
  EXPECT_FALSE(c.plugins[2].durable);  // not durable unless the city says so
  std::string e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    durable: {timeout: 5}\n");
  EXPECT_NE(e.find("plugins[0].durable.timeout: unknown field"), std::string::npos) << e;
  e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    durable: [x]\n");
  EXPECT_NE(e.find("plugins[0].durable: expected `true`, or a mapping"), std::string::npos) << e;
  e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    durable: {max_deliveries: 0}\n");
  EXPECT_NE(e.find("plugins[0].durable.max_deliveries"), std::string::npos) << e;
}

TEST(CityConfig, BadValuesAreNamed) {
  Fixture f;
  EXPECT_NE(f.error("host:\n  queue_depth: lots\nplugins: []\n").find("city.yaml:2:16: host.queue_depth: expected a whole number"),
            std::string::npos);
  EXPECT_NE(f.error("host:\n  log_level: loud\nplugins: []\n").find("host.log_level: 'loud' is not one of"),
            std::string::npos);
  EXPECT_NE(f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grants:\n      publish: [Camera]\n")
                .find("plugins[0].grants.publish[0]: 'Camera' is not a topic"),
            std::string::npos);
  EXPECT_NE(f.error("citylink: 2\nplugins: []\n").find("config format 2 is not supported"), std::string::npos);
  EXPECT_NE(f.error("city: x\n").find("plugins: missing"), std::string::npos);
  EXPECT_NE(f.error("plugins:\n  - file: gauge.so\n").find("plugins[0].instance: missing"), std::string::npos);
  EXPECT_NE(f.error("plugins:\n  - instance: a\n    file: gauge.so\n    config: [1]\n").find("plugins[0].config: expected a mapping"),
            std::string::npos);
}

TEST(CityConfig, YamlSyntaxErrorHasAPosition) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: [a\n");
  EXPECT_EQ(e.rfind("city.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

TEST(CityConfig, BareNamesAreSearchedInPluginDirsAndDisabledEntriesNeedNoFile) {
  Fixture f;
  std::filesystem::create_directories(f.dir / "lib");
  citylink::test::write_file(f.dir / "lib" / "cam.so", "x");
  const auto c = f.parse("plugin_dirs: [lib]\nplugins:\n  - instance: cam\n    file: cam.so\n"
                         "  - instance: off\n    file: missing.so\n    enabled: false\n");
  EXPECT_EQ(c.plugins[0].file, f.dir / "lib" / "cam.so");
  EXPECT_FALSE(c.plugins[1].enabled);
}

TEST(CityConfig, MissingConfigFileIsNamed) {
  try {
    load_city_config("/nonexistent/city.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/city.yaml"), std::string::npos);
  }
}

TEST(CityConfig, AHugeConfigFileIsRefusedBeforeParsing) {
  TempDir dir;
  std::string big = "plugins: []\n# " + std::string(5u << 20, 'x') + "\n";
  citylink::test::write_file(dir / "city.yaml", big);
  try {
    load_city_config(dir / "city.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 4 MiB"), std::string::npos) << e.what();
  }
}

TEST(CityConfig, LocalClientsAreNamedUniquelyAndGrantedExplicitly) {
  Fixture f;
  const auto c = f.parse(R"(
plugins:
  - {instance: gauge-1, file: gauge.so}
clients:
  - {name: ops-script, recipient: "112", grants: {publish: [incident.112], subscribe: [grant.video.112]}}
)");
  ASSERT_EQ(c.clients.size(), 1u);
  EXPECT_EQ(c.clients[0].name, "ops-script");
  EXPECT_EQ(c.clients[0].recipient, "112");
  EXPECT_EQ(c.clients[0].publish_grants, std::vector<std::string>{"incident.112"});
  EXPECT_TRUE(c.clients[0].public_key.empty());
  EXPECT_NE(f.error("plugins: [{instance: gauge-1, file: gauge.so}]\nclients: [{name: gauge-1}]\n")
                .find("already an instance or client name"),
            std::string::npos);
  EXPECT_NE(f.error("plugins: []\nclients: [{name: s, grants: requested}]\n").find("list `publish:` and `subscribe:`"),
            std::string::npos);
  EXPECT_NE(f.error("plugins: []\nclients: [{name: s, public_key: x}]\n").find("public_key"), std::string::npos);
}

TEST(CityConfig, APythonPluginNamesItsClassAndAlwaysRunsIsolated) {
  Fixture f;
  citylink::test::write_file(f.dir / "gauge.py", "x");
  const auto c = f.parse("plugins: [{instance: py-1, runtime: python, file: gauge.py, class: Gauge}]\n");
  ASSERT_EQ(c.plugins.size(), 1u);
  EXPECT_TRUE(c.plugins[0].is_python());
  EXPECT_TRUE(c.plugins[0].isolated());
  EXPECT_EQ(c.plugins[0].class_name, "Gauge");
  EXPECT_NE(f.error("plugins: [{instance: py-1, runtime: python, file: gauge.py}]\n").find("class"), std::string::npos);
  EXPECT_NE(f.error("plugins: [{instance: py-1, runtime: python, file: gauge.py, class: G, isolation: none}]\n")
                .find("always runs in its own worker process"),
            std::string::npos);
  EXPECT_NE(f.error("plugins: [{instance: g-1, file: gauge.so, class: G}]\n").find("`class` is for `runtime: python`"),
            std::string::npos);
}

TEST(CityConfig, TheManagementApiIsLoopbackOnlyWithoutTlsAndNeedsTokensRolesAndAnAuditLog) {
  Fixture f;
  const std::string hash(64, 'a');
  citylink::test::write_file(f.dir / "ops.token", "a-long-enough-random-token\n");
  const auto c = f.parse("host:\n  audit_log: audit.db\n  http:\n    listen: 127.0.0.1:9090\n    tokens:\n"
                         "      - {name: vera, role: viewer, token_sha256: " + hash + "}\n"
                         "      - {name: olga, role: operator, token_file: ops.token}\nplugins: []\n");
  EXPECT_TRUE(c.host.http.enabled);
  EXPECT_EQ(c.host.http.address, "127.0.0.1");
  EXPECT_EQ(c.host.http.port, 9090);
  ASSERT_EQ(c.host.http.tokens.size(), 2u);
  EXPECT_EQ(c.host.http.tokens[1].role, "operator");
  EXPECT_EQ(c.host.http.tokens[1].sha256_hex.size(), 64u);  // only the hash is kept
  EXPECT_FALSE(parse_city_config("plugins: []\n", "c.yaml", f.dir.path()).host.http.enabled);

  const std::string viewer = "      - {name: vera, role: viewer, token_sha256: " + hash + "}\n";
  auto err = [&](const std::string& http) { return f.error("host:\n  http:\n" + http + "plugins: []\n"); };
  EXPECT_NE(err("    listen: 0.0.0.0:8080\n    tokens:\n" + viewer).find("add `tls: {cert: FILE, key: FILE}`"),
            std::string::npos);
  EXPECT_NE(err("    listen: 127.0.0.1\n    tokens:\n" + viewer).find("is not ADDRESS:PORT"), std::string::npos);
  EXPECT_NE(err("    listen: 127.0.0.1:8080\n").find("without a token nobody may use the API"), std::string::npos);
  EXPECT_NE(err("    tokens:\n      - {name: a, role: root, token_sha256: " + hash + "}\n").find("viewer, operator, admin"),
            std::string::npos);
  EXPECT_NE(err("    tokens:\n      - {name: a, role: viewer, token_sha256: abc}\n").find("64 hex digits"),
            std::string::npos);
  EXPECT_NE(err("    tokens:\n      - {name: a, role: operator, token_sha256: " + hash + "}\n").find("set host.audit_log"),
            std::string::npos);
  citylink::test::write_file(f.dir / "short.token", "abc\n");
  EXPECT_NE(err("    tokens:\n      - {name: a, role: viewer, token_file: short.token}\n").find("shorter than 16"),
            std::string::npos);
  EXPECT_NE(err("    tokens:\n" + viewer + "      - {name: b, role: viewer, token_sha256: " + hash + "}\n")
                .find("already listed for another name"),
            std::string::npos);
}

// Issue 8: every instance and client has a telemetry budget unless the operator lifts it.
TEST(CityConfig, EveryInstanceAndClientHasAPublishRateUnlessTheConfigLiftsIt) {
  Fixture f;
  const std::string plugins =
      "plugins:\n"
      "  - {instance: a, file: gauge.so}\n"
      "  - {instance: b, file: gauge.so, publish_rate: 250}\n"
      "  - {instance: c, file: gauge.so, publish_rate: unlimited}\n"
      "clients:\n"
      "  - {name: script}\n"
      "  - {name: bulk, publish_rate: unlimited}\n";
  auto cfg = f.parse(plugins);
  EXPECT_EQ(cfg.host.publish_rate, PublishRate::kDefault);
  EXPECT_EQ(cfg.plugins[0].publish_rate, PublishRate::kDefault);
  EXPECT_EQ(cfg.plugins[1].publish_rate, 250);
  EXPECT_EQ(cfg.plugins[2].publish_rate, 0);
  EXPECT_EQ(cfg.clients[0].publish_rate, PublishRate::kDefault);
  EXPECT_EQ(cfg.clients[1].publish_rate, 0);

  cfg = f.parse("host: {publish_rate: 500}\n" + plugins);
  EXPECT_EQ(cfg.plugins[0].publish_rate, 500);
  EXPECT_EQ(cfg.plugins[1].publish_rate, 250);
  EXPECT_EQ(cfg.clients[0].publish_rate, 500);
  EXPECT_EQ(f.parse("host: {publish_rate: unlimited}\n" + plugins).plugins[0].publish_rate, 0);

  const std::string bad = f.error("plugins:\n  - {instance: a, file: gauge.so, publish_rate: fast}\n");
  EXPECT_NE(bad.find("plugins[0].publish_rate"), std::string::npos) << bad;
  EXPECT_NE(bad.find("`unlimited`"), std::string::npos) << bad;
  EXPECT_NE(f.error("host: {publish_rate: 0}\nplugins: []\n").find("host.publish_rate: must be between 1"),
            std::string::npos);
  EXPECT_NE(f.error("host: {publish_rate: -5}\nplugins: []\n").find("host.publish_rate"), std::string::npos);
}
