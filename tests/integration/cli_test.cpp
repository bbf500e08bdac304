// The `citylink` command as a user runs it: a real child process, real plugin files.
#include "cli_runner.hpp"
#include "test_support.hpp"

#include <citylink/host/child_process.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace citylink::host;
using citylink::test::citylink_bin;
using citylink::test::cli;
using citylink::test::has;
using citylink::test::sample_plugin;
using citylink::test::TempDir;
using citylink::test::zoo;
using json = nlohmann::json;

TEST(Cli, Version) {
  const auto r = cli({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r.out, "(ABI 1.1)")) << r.out;
}

TEST(Cli, InspectPrintsTheDescriptorAsTextAndJson) {
  auto r = cli({"plugin", "inspect", sample_plugin("water_level_sensor").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "kr.citylink.samples.water-level-sensor")) << r.out;
  EXPECT_TRUE(has(r.out, "publishes   sensor.reading   (requested)")) << r.out;
  r = cli({"plugin", "inspect", "--json", zoo("zoo_behaviour").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["abi"], "1.0");
  EXPECT_EQ(j["plugins"].size(), 8u);
}

TEST(Cli, InspectReportsAPluginThatCrashesWhileLoading) {
  const auto r = cli({"plugin", "inspect", zoo("zoo_crash_on_init").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "crashed: killed by signal 11 (SIGSEGV) while loading")) << r.err;
}

TEST(Cli, InspectReportsBrokenFilesClearly) {
  auto r = cli({"plugin", "inspect", zoo("not_a_library").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "no ELF header")) << r.err;
  r = cli({"plugin", "inspect", "--json", zoo("zoo_abi_minor").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(nlohmann::json::parse(r.out)["error"].get<std::string>(), "ABI 1.99")) << r.out;
}

TEST(Cli, VerifyPassesAGoodPlugin) {
  const auto r = cli({"plugin", "verify", "--json", sample_plugin("console_sink").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["passed"], j["total"]);
  EXPECT_EQ(j["total"], 15);  // preflight, exports, load, then 12 checks for its one plugin
}

TEST(Cli, VerifyRunsOneCheckByNameAndRefusesAnUnknownName) {
  auto r = cli({"plugin", "verify", "--json", "--check", "lifecycle", sample_plugin("console_sink").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["total"], 1);
  EXPECT_EQ(j["checks"][0]["check"], "kr.citylink.samples.console-sink lifecycle");
  r = cli({"plugin", "verify", "--check", "lifecycel", sample_plugin("console_sink").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "--check 'lifecycel' is not a check; the checks are: preflight, exports, load")) << r.err;
  r = cli({"plugin", "verify", "--plugin", "kr.citylink.samples.console-snk", sample_plugin("console_sink").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "--plugin 'kr.citylink.samples.console-snk' is not in ")) << r.err;
  EXPECT_TRUE(has(r.err, "; it holds: kr.citylink.samples.console-sink")) << r.err;
  r = cli({"plugin", "verify", "--jobs", "0", sample_plugin("console_sink").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "--jobs '0' is not a number of checks to run at once (1 to 64)")) << r.err;
}

TEST(Cli, VerifyCatchesPublishingAfterStopAndAThreadOutlivingDestroy) {
  auto verdict = [&](const std::string& mode, const std::string& check) {
    const auto r = cli({"plugin", "verify", "--json", "--check", check, "--config",
                        R"({"mode":")" + mode + R"(","out":"/dev/null"})", zoo("zoo_behaviour").string()});
    const auto all = nlohmann::json::parse(r.out);
    for (const auto& c : all["checks"])
      if (c["check"] == "kr.citylink.test.rogue " + check) return c;
    return nlohmann::json();
  };
  auto c = verdict("publish-after-stop", "no-publish-after-stop");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "publish call(s) after stop returned (last on 'test.ok')")) << c;
  c = verdict("thread-after-destroy", "no-threads-after-destroy");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "thread(s) the plugin started still run after destroy returned")) << c;
  c = verdict("outside-grants", "no-threads-after-destroy");  // the same plugin, well-behaved in this respect
  EXPECT_TRUE(c["ok"].get<bool>()) << c;
}

// Review L1: plugin code shares the check's process; what it prints is not the check's answer.
TEST(Cli, APluginThatPrintsAPassingVerdictAndExitsFailsTheCheck) {
  const auto r = cli({"plugin", "verify", "--json", "--check", "lifecycle", "--plugin", "kr.citylink.test.rogue",
                      "--config", R"({"mode":"forge-verdict"})", zoo("zoo_behaviour").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["checks"].size(), 1u) << r.out;
  EXPECT_FALSE(j["checks"][0]["ok"].get<bool>()) << j;
  EXPECT_TRUE(has(j["checks"][0]["detail"], "without a verdict")) << j;
  EXPECT_TRUE(has(j["checks"][0]["detail"], "forged")) << j;  // its print is shown, as its stderr
}

// Review L5: a duration that is not a finite number in range is refused, not cast.
TEST(Cli, DurationsThatAreNotFiniteNumbersAreRefusedByName) {
  for (const std::string bad : {"nan", "inf", "1e30", "-1", "5s"}) {
    auto r = cli({"plugin", "verify", "--timeout", bad, sample_plugin("console_sink").string()});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_TRUE(has(r.err, "--timeout '" + bad + "' is not a number of seconds from 0 to 3600")) << r.err;
    r = cli({"run", "--config", "/nonexistent.yaml", "--for", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_TRUE(has(r.err, "--for '" + bad + "' is not a number of seconds from 0 to 31622400")) << r.err;
  }
}

TEST(Cli, VerifyFlagsATestKindAndAConfigThatBreaksTheSchema) {
  auto r = cli({"plugin", "verify", "--json", "--check", "descriptor", zoo("zoo_behaviour").string()});
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(j["checks"][0]["detail"], "kind 'test' is for test fixtures")) << j;
  r = cli({"plugin", "verify", "--json", "--check", "config-schema", "--config", R"({"interval_ms": -5})",
           sample_plugin("water_level_sensor").string()});
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(j["checks"][0]["detail"], "config/interval_ms")) << j;
}

TEST(Cli, VerifyFailsOnlyTheChecksAPluginCrashesOrHangsIn) {
  auto r = cli({"plugin", "verify", "--json", zoo("zoo_crash_on_message").string()});
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : j["checks"]) by[c["check"]] = c;
  EXPECT_TRUE(by["kr.citylink.test.c-plugin lifecycle"]["ok"].get<bool>());
  EXPECT_FALSE(by["kr.citylink.test.c-plugin unknown-topic"]["ok"].get<bool>());
  EXPECT_TRUE(has(by["kr.citylink.test.c-plugin unknown-topic"]["detail"], "SIGSEGV"));

  r = cli({"plugin", "verify", "--json", "--timeout", "2", zoo("zoo_hang_on_message").string()});
  EXPECT_EQ(r.exit_code, 1);
  j = nlohmann::json::parse(r.out);
  for (const auto& c : j["checks"]) {
    if (c["check"] == "kr.citylink.test.c-plugin malformed-envelope") {
      EXPECT_TRUE(has(c["detail"], "hung")) << c;
    }
  }
}

// abi.h: a second stop returns at once. A plugin that releases its resources again crashes the
// host that stops it twice (shutdown after a failed start, a supervisor's retry).
TEST(Cli, VerifyCatchesAStopThatIsNotIdempotent) {
  const auto r = cli({"plugin", "verify", "--json", zoo("zoo_stop_not_idempotent").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : j["checks"]) by[c["check"]] = c;
  EXPECT_TRUE(by["kr.citylink.test.c-plugin lifecycle"]["ok"].get<bool>()) << by["kr.citylink.test.c-plugin lifecycle"];
  ASSERT_TRUE(by.count("kr.citylink.test.c-plugin double-stop"));
  EXPECT_FALSE(by["kr.citylink.test.c-plugin double-stop"]["ok"].get<bool>());
  EXPECT_TRUE(has(by["kr.citylink.test.c-plugin double-stop"]["detail"], "SIGABRT"))
      << by["kr.citylink.test.c-plugin double-stop"];
  // A plugin built with newer 1.x headers (longer structs, 1.0 stamp) runs its lifecycle here.
  const auto newer = cli({"plugin", "verify", "--json", "--check", "lifecycle", zoo("zoo_newer_headers").string()});
  EXPECT_EQ(newer.exit_code, 0) << newer.out << newer.err;
  // The same file with an idempotent stop passes the check.
  const auto good = cli({"plugin", "verify", "--json", "--check", "double-stop", zoo("zoo_c_plugin").string()});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
}

// Each remaining conformance check, failing on a plugin that breaks its rule, with a detail
// that says what to fix; the same plugins pass the checks they do not break.
TEST(Cli, VerifyFailsEachCheckOnAPluginThatBreaksItsRule) {
  auto one = [&](const std::string& file, const std::string& check, const std::string& plugin) {
    std::vector<std::string> argv = {"plugin", "verify", "--json", "--check", check, file};
    if (!plugin.empty()) argv.insert(argv.end(), {"--plugin", "kr.citylink.test." + plugin});  // not the slow-stop one's 5 s
    const auto r = cli(argv);
    EXPECT_EQ(nlohmann::json::parse(r.out)["checks"].size(), 1u) << r.out;  // that check, of that plugin only
    const auto all = nlohmann::json::parse(r.out);
    for (const auto& c : all["checks"])
      if (c["check"] == (plugin.empty() ? check : "kr.citylink.test." + plugin + " " + check)) return c;
    ADD_FAILURE() << "no verdict for " << check << " in " << r.out << r.err;
    return nlohmann::json{{"ok", true}, {"detail", ""}};
  };
  const std::string failures = zoo("zoo_verify_failures").string();

  auto c = one(zoo("zoo_extra_export").string(), "exports", "");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "zoo_leaked_helper")) << c;
  EXPECT_TRUE(has(c["detail"], "citylink_add_plugin()")) << c;
  EXPECT_TRUE(one(zoo("zoo_c_plugin").string(), "exports", "")["ok"].get<bool>());

  c = one(failures, "bad-config", "ignores-config");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "create accepted config 'this is not JSON'")) << c;

  c = one(failures, "destroy-without-start", "thread-in-create");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "still run after destroy without start")) << c;
  EXPECT_TRUE(one(failures, "no-threads-after-destroy", "thread-in-create")["ok"].get<bool>());

  c = one(failures, "lifecycle", "slow-stop");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "it must return within 5000 ms")) << c;

  c = one(failures, "lifecycle", "publishes-in-create");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "1 publish call(s) before start (last on 'sensor.reading')")) << c;

  c = one(failures, "malformed-payload", "trusts-payload");
  EXPECT_FALSE(c["ok"].get<bool>()) << c;
  EXPECT_TRUE(has(c["detail"], "SIGABRT")) << c;
  EXPECT_TRUE(one(failures, "malformed-envelope", "trusts-payload")["ok"].get<bool>());
  EXPECT_TRUE(one(failures, "unknown-topic", "trusts-payload")["ok"].get<bool>());
}

// A config that breaks the plugin's schema: a warning naming the field and the option by
// default, a refused instance (the city runs on) with --strict-config.
TEST(Cli, RunWarnsAboutAConfigThatBreaksTheSchemaAndStrictConfigRefusesIt) {
  TempDir dir;
  citylink::test::write_file(dir / "city.yaml", "city: t\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                                                    "]\nplugins:\n  - instance: water\n    file: zoo_behaviour.so\n"
                                                    "    plugin: kr.citylink.test.publisher\n    grants: requested\n"
                                                    "    config: {count: -3}\n");
  const std::string field = "city.yaml:4: plugins['water'].config/count is -3, below the minimum 0";
  auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, field + " (the plugin's config_schema; with host.strict_config or --strict-config this "
                                 "refuses the instance)")) << r.err;
  EXPECT_TRUE(has(r.err, "[water] started")) << r.err;
  r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.2", "--strict-config"});
  EXPECT_EQ(r.exit_code, 4) << r.err;  // degraded: the city ran without water
  EXPECT_TRUE(has(r.out, "not started: water: ")) << r.out;
  EXPECT_TRUE(has(r.out, "degraded: water did not run to the end (exit code 4)")) << r.out;
  EXPECT_TRUE(has(r.out, field + " (the plugin's config_schema; fix the config, host.strict_config is on)")) << r.out;
  EXPECT_FALSE(has(r.err, "[water] started")) << r.err;
}

// Review L4: a plugin's log lines, in-process or from its worker, stay on their own line
// (a newline or an ANSI escape cannot forge a host line) and a flood is held back and said.
TEST(Cli, APluginCannotForgeOrFloodTheHostsLog) {
  TempDir dir;
  const std::string forged = "[2026-12-03 00:00:00.000] [error] [scenario-engine] FORGED grant revoked";
  std::string plugins;
  for (const char* name : {"inproc", "isolated"})
    plugins += std::string("  - instance: ") + name +
               "\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n    grants: requested\n" +
               (std::string(name) == "inproc" ? "    trusted: true\n" : "") +
               "    config: {count: 0, log_lines: 1000, log_text: \"x\\n" + forged + "\\x1b[2J\"}\n";
  citylink::test::write_file(dir / "city.yaml", "city: t\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                                                    "]\nplugins:\n" + plugins);
  const auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has(r.err, "\n" + forged)) << "a plugin wrote a line of its own into the host's log";
  for (const std::string name : {"inproc", "isolated"}) {
    EXPECT_TRUE(has(r.err, "[" + name + "] x\\n" + forged + "\\x1b[2J")) << name;
    EXPECT_TRUE(has(r.err, "[" + name + "] this plugin writes more than 50 log lines a second")) << name;
    std::size_t lines = 0;
    for (auto at = r.err.find("[" + name + "] x\\n"); at != std::string::npos; at = r.err.find("[" + name + "] x\\n", at + 1))
      ++lines;
    EXPECT_LT(lines, 1000u) << name << ": nothing was held back";
  }
}

TEST(Cli, VerifyCatchesAPluginPublishingOutsideItsDeclaredTopics) {
  // The rogue plugin's descriptor declares test.ok/test.data; in outside-grants mode it publishes camera.ptz.
  const auto r = cli({"plugin", "verify", "--json", "--config", R"({"mode":"outside-grants","out":"/dev/null"})",
                      zoo("zoo_behaviour").string()});
  const auto j = nlohmann::json::parse(r.out);
  bool seen = false;
  for (const auto& c : j["checks"])
    if (c["check"] == "kr.citylink.test.rogue publish-grants") {
      seen = true;
      EXPECT_FALSE(c["ok"].get<bool>());
      EXPECT_TRUE(has(c["detail"], "camera.ptz")) << c;
    }
  EXPECT_TRUE(seen);
}

// Issue 8, safe mode: after an unclean shutdown the next start says so, and --safe-mode
// starts the city without the plugins it does not vouch for.
TEST(Cli, AStartAfterAnUncleanShutdownSaysSoAndSafeModeLeavesThirdPartyPluginsOut) {
  TempDir dir;
  std::filesystem::create_directories(dir / "state");
  // What a killed run leaves: its marker, naming a process that no longer exists.
  citylink::test::write_file(dir / "state" / "citylink.running", "pid 999999999\nstarted 2026-12-01T01:02:03Z\n");
  const std::string sink = sample_plugin("console_sink").string();
  citylink::test::write_file(dir / "city.yaml", "host:\n  state_dir: state\nplugins:\n"
                                                "  - instance: ours\n    file: " + sink +
                                                    "\n    trusted: true\n    grants: requested\n"
                                                    "  - instance: vendor-x\n    file: " + sink +
                                                    "\n    grants: requested\n");
  auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.2", "--safe-mode"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "the previous run of this city (pid 999999999, started 2026-12-01T01:02:03Z) did not shut "
                         "down cleanly"))
      << r.err;
  EXPECT_TRUE(has(r.err, "safe mode: third-party plugin instances not started: vendor-x")) << r.err;
  EXPECT_TRUE(has(r.err, "[ours] started")) << r.err;
  EXPECT_FALSE(has(r.err, "[vendor-x] started")) << r.err;
  // A clean stop takes the marker away, so the next start is quiet about it.
  EXPECT_FALSE(std::filesystem::exists(dir / "state" / "citylink.running"));
  r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has(r.err, "did not shut down cleanly")) << r.err;
  EXPECT_TRUE(has(r.err, "[vendor-x] started")) << r.err;
}

// Two hosts sharing a state folder: the second must neither take over nor remove the first's
// marker, or the first one's crash would go unreported.
TEST(Cli, AMarkerOfALiveProcessIsLeftAlone) {
  TempDir dir;
  std::filesystem::create_directories(dir / "state");
  const std::string mine = "pid " + std::to_string(::getpid()) + "\nstarted 2026-12-01T01:02:03Z\n";
  citylink::test::write_file(dir / "state" / "citylink.running", mine);
  citylink::test::write_file(dir / "city.yaml", "host:\n  state_dir: state\nplugins: []\n");
  const auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "give each host its own host.state_dir")) << r.err;
  EXPECT_FALSE(has(r.err, "did not shut down cleanly")) << r.err;
  std::ifstream in(dir / "state" / "citylink.running");
  const std::string now((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(now, mine);
}

TEST(Cli, RunReportsAConfigErrorWithItsLine) {
  TempDir dir;
  citylink::test::write_file(dir / "city.yaml", "plugins:\n  - instance: a\n    flie: x.so\n");
  const auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "city.yaml:3:5: plugins[0].flie: unknown field 'flie'")) << r.err;
}

TEST(Cli, RunsACityForABoundedTimeAndWritesMetrics) {
  TempDir dir;
  citylink::test::write_file(dir / "city.yaml",
                             "city: t\nplugin_dirs: [" + std::string(CITYLINK_SAMPLE_PLUGIN_DIR) +
                                 "]\nplugins:\n  - instance: gauge\n    file: water_level_sensor.so\n"
                                 "    config: {interval_ms: 10, count: 5}\n    grants: {publish: [sensor.reading]}\n"
                                 "  - instance: console\n    file: console_sink.so\n    grants: {subscribe: [sensor.]}\n");
  const auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "1", "--metrics",
                      (dir / "metrics.prom").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "gauge")) << r.out;
  std::ifstream m(dir / "metrics.prom");
  const std::string metrics((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(has(metrics, "citylink_published_total{instance=\"gauge\"} 5")) << metrics;
  // Review L5: a metrics file that could not be written failed silently, with exit code 0.
  const auto unwritable = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.1", "--metrics",
                               (dir / "no-such-folder" / "metrics.prom").string()});
  EXPECT_EQ(unwritable.exit_code, 1) << unwritable.err;
  EXPECT_TRUE(has(unwritable.err, "could not write the metrics to " + (dir / "no-such-folder" / "metrics.prom").string()))
      << unwritable.err;
}

TEST(Cli, RunSurvivesAPluginThatCrashesWhileLoading) {
  TempDir dir;
  citylink::test::write_file(dir / "city.yaml",
                             "city: t\nplugin_dirs: [" + std::string(CITYLINK_SAMPLE_PLUGIN_DIR) + ", " +
                                 CITYLINK_TEST_PLUGIN_DIR +
                                 "]\nplugins:\n  - instance: crasher\n    file: zoo_crash_on_init.so\n"
                                 "  - instance: gauge\n    file: water_level_sensor.so\n"
                                 "    config: {interval_ms: 10, count: 3}\n    grants: requested\n");
  const auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "0.5"});
  EXPECT_EQ(r.exit_code, 4) << r.err;  // the city ran, degraded: without the crasher
  EXPECT_TRUE(has(r.out, "not started: crasher: plugin file")) << r.out;
  EXPECT_TRUE(has(r.out, "crashed: killed by signal 11 (SIGSEGV) while loading in a probe process")) << r.out;
  EXPECT_TRUE(has(r.out, "gauge")) << r.out;
}

// Issue 7 item 7: a city's grants land in the hash-chained audit log; `audit verify` says
// OK, then names the record an attacker edited; `audit export` hands an inspector the records.
TEST(Cli, TheAuditLogOfARunVerifiesAndTamperingIsNamed) {
  TempDir dir;
  const json cam = {{"camera_id", "C-1"}, {"lat", 37.5}, {"lon", 127.0}};
  const json report = {{"at_ms", 300}, {"topic", "incident.112"}, {"event_code", "112UC001"},
                       {"occurrence_number", "I-1"}, {"lat", 37.5}, {"lon", 127.0}};
  citylink::test::write_file(
      dir / "city.yaml",
      "city: t\nhost: {audit_log: audit.db}\nplugin_dirs: [" + std::string(CITYLINK_SAMPLE_PLUGIN_DIR) +
          "]\nscenarios:\n  emergency_video_112: {}\n"
          "incident_authority:\n  112UC001: {topic: incident.112, sources: [feed]}\nplugins:\n"
          "  - instance: vms\n    file: camera_fleet.so\n    grants: requested\n    config: " +
          json{{"cameras", {cam}}, {"heartbeat_ms", 60000}}.dump() +
          "\n  - instance: feed\n    file: incident_feed.so\n    grants: {publish: [incident.112]}\n    config: " +
          json{{"events", {report}}}.dump() + "\n");
  auto r = cli({"run", "--config", (dir / "city.yaml").string(), "--for", "1.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::string db = (dir / "audit.db").string();
  r = cli({"audit", "verify", db});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "OK: 2 records verified")) << r.out;  // issued, then revoked when the engine stopped

  r = cli({"audit", "export", db, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto exported = json::parse(r.out);
  ASSERT_EQ(exported["records"].size(), 2u);
  EXPECT_EQ(exported["records"][0]["action"], "video_grant.issue");
  EXPECT_EQ(exported["records"][1]["action"], "video_grant.revoke");

  // An insider edits the first record's recipient column and the record itself.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  // Drop the store's guard triggers first, as an attacker with the file would.
  std::vector<std::string> triggers;
  sqlite3_exec(
      h, "SELECT name FROM sqlite_master WHERE type='trigger'",
      [](void* v, int, char** cols, char**) {
        static_cast<std::vector<std::string>*>(v)->push_back(cols[0]);
        return 0;
      },
      &triggers, nullptr);
  for (const auto& t : triggers) sqlite3_exec(h, ("DROP TRIGGER " + t).c_str(), nullptr, nullptr, nullptr);
  ASSERT_EQ(sqlite3_exec(h, "UPDATE records SET recipient = 'someone-else' WHERE seq = 1", nullptr, nullptr, &err),
            SQLITE_OK)
      << (err ? err : "");
  sqlite3_close(h);
  r = cli({"audit", "verify", db});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(has(r.out, "TAMPERED")) << r.out;
  EXPECT_TRUE(has(r.out, "record 1")) << r.out;
}

TEST(Cli, InspectFlagsWhatTheCityCanNeverGrantOrGrantsOnlyToARecipient) {
  auto r = cli({"plugin", "inspect", sample_plugin("agency_console").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "needs recipient  dispatch., grant., audit.")) << r.out;
  r = cli({"plugin", "inspect", (std::filesystem::path(CITYLINK_TEST_PLUGIN_DIR) / ".." / "samples" / "samples_test_emitter.so").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "never granted    dispatch., grant., audit., camera.ptz (published only by the scenario engine)"))
      << r.out;
}

// Review M2: SIGTERM (systemctl stop) while the city is still starting used to kill the
// process on the spot: no drain, no metrics, no clean-shutdown mark. Now it asks for a stop
// that comes as soon as the start is done.
TEST(Cli, ASigtermDuringStartStopsTheCityCleanlyInsteadOfKillingIt) {
  TempDir dir;
  const auto config = dir / "slow-start.yaml";
  citylink::test::write_file(config, "city: slow-start\nhost: {state_dir: " + dir.path().string() +
                                         "}\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                                         "]\nplugins:\n  - instance: pub\n    file: zoo_behaviour.so\n"
                                         "    plugin: kr.citylink.test.publisher\n    grants: requested\n"
                                         "    config: {count: 1, start_delay_ms: 3000}\n");
  const auto metrics = dir / "metrics.prom";
  const int pid = spawn_process({citylink_bin(), "run", "--config", config.string(), "--for", "120", "--metrics",
                                 metrics.string()},
                                {"PATH=/usr/bin:/bin"});
  // The run marker is written once the signals are held, just before the start.
  ASSERT_TRUE(citylink::test::eventually([&] { return std::filesystem::exists(dir / "citylink.running"); }));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(std::filesystem::exists(metrics));                   // the stop ran to its end
  EXPECT_FALSE(std::filesystem::exists(dir / "citylink.running"));  // and it was a clean one
}
