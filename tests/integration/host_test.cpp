// A whole host from a city config: real plugins, real router, real files written by a collector.
#include "test_support.hpp"

#include <citylink/host/child_process.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/worker_backend.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

using namespace citylink::host;
using citylink::test::eventually;
using citylink::test::read_jsonl;
using citylink::test::TempDir;

namespace {

struct HostFixture : ::testing::Test {
  TempDir dir;
  std::string out() const { return (dir / "received.jsonl").string(); }

  // A city whose zoo library is reachable by bare name through plugin_dirs. Entries that
  // say nothing about grants are given `grants: requested` (the deny-by-default rules
  // themselves are tested in permissions_test.cpp).
  std::unique_ptr<Host> start(const std::string& plugins_yaml, const std::string& host_yaml = "") {
    const std::string yaml = "city: test-city\n" + host_yaml + "plugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                             ", " + CITYLINK_SAMPLE_PLUGIN_DIR + "]\nplugins:\n" + granting_requests(plugins_yaml);
    auto h = std::make_unique<Host>(parse_city_config(yaml, "test-city.yaml", dir.path()));
    h->set_worker_command({CITYLINK_BIN, "worker"});
    h->start();
    return h;
  }
  static std::string granting_requests(const std::string& plugins_yaml) {
    std::string out, entry;
    std::istringstream in(plugins_yaml);
    auto flush = [&] {
      if (!entry.empty() && entry.find("    grants:") == std::string::npos) entry += "    grants: requested\n";
      out += entry;
      entry.clear();
    };
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("  - ", 0) == 0) flush();
      entry += line + "\n";
    }
    flush();
    return out;
  }
  std::string collector(const std::string& name = "collector", const std::string& subscribe = "") {
    return "  - instance: " + name + "\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n" +
           "    config: {out: " + out() + "}\n" + (subscribe.empty() ? "" : "    grants: {subscribe: [" + subscribe + "]}\n");
  }
  static const InstanceStatus& status_of(const std::vector<InstanceStatus>& all, const std::string& id) {
    for (const auto& s : all)
      if (s.instance_id == id) return s;
    throw std::runtime_error("no instance " + id);
  }
  uint64_t delivered(Host& h, const std::string& id) { return status_of(h.status(), id).counters.delivered; }
};

}  // namespace

TEST_F(HostFixture, MessagesFlowFromAPublisherPluginToASubscriberPlugin) {
  auto h = start(collector() +
                 "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
                 "    config: {count: 50, correlation_id: INC-42}\n");
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  ASSERT_TRUE(eventually([&] { return delivered(*h, "collector") == 50; }));
  h->stop();
  const auto lines = read_jsonl(out());
  ASSERT_EQ(lines.size(), 50u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["source"], "pub");
    EXPECT_EQ(lines[i]["topic"], "test.data");
    EXPECT_EQ(lines[i]["correlation_id"], "INC-42");
    EXPECT_EQ(lines[i]["attributes"]["seq"], std::to_string(i));  // in order from one publisher
    EXPECT_EQ(lines[i]["sensor_id"], "seq-" + std::to_string(i));
    ids.insert(lines[i]["id"]);
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(status_of(h->status(), "pub").counters.published, 50u);
}

// abi.md §12: a plugin with no protobuf library at all (its envelope written byte by byte in
// C) publishes like any other, and its file needs no protobuf runtime of the host's.
TEST_F(HostFixture, APluginWithoutAnyProtobufLibraryPublishesLikeAnyOther) {
  const auto file = citylink::test::zoo("zoo_c_bytes_publisher");
  auto h = start(collector("collector", "sensor.reading") + "  - instance: bytes-only\n    file: " + file.string() + "\n");
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  ASSERT_TRUE(eventually([&] { return delivered(*h, "collector") == 1; }));
  h->stop();
  const auto lines = read_jsonl(out());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["sensor_id"], "C-BYTES");
  EXPECT_EQ(lines[0]["source"], "bytes-only");
  EXPECT_EQ(lines[0]["schema"], "citylink.v1.SensorReading");
  const auto needed = run_child({"/usr/bin/readelf", "-d", file.string()}, std::chrono::seconds(20));
  ASSERT_EQ(needed.exit_code, 0) << needed.err;
  EXPECT_NE(needed.out.find("libc.so"), std::string::npos) << needed.out;
  EXPECT_EQ(needed.out.find("protobuf"), std::string::npos) << needed.out;
}

TEST_F(HostFixture, SamplePluginsRunTogether) {
  auto h = start(
      "  - instance: gauge\n    file: water_level_sensor.so\n    config: {interval_ms: 1, count: 20, sensor_id: WL-1}\n"
      "  - instance: console\n    file: console_sink.so\n");
  ASSERT_TRUE(h->failures().empty());
  // The console was created before the gauge started, so it gets every reading, whatever the order.
  EXPECT_TRUE(eventually([&] { return delivered(*h, "console") == 20; }));
  h->stop();
  EXPECT_EQ(status_of(h->status(), "gauge").counters.published, 20u);
}

TEST_F(HostFixture, AFailingCreateIsReportedWithThePluginsMessageAndTheRestRuns) {
  auto h = start(
      "  - instance: broken-cam\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.create-fails\n"
      "  - instance: dead-device\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.start-fails\n" +
      collector() +
      "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n    config: {count: 5}\n");
  ASSERT_EQ(h->failures().size(), 2u);
  EXPECT_EQ(h->failures()[0].instance_id, "broken-cam");
  EXPECT_NE(h->failures()[0].reason.find("create failed: field 'camera_url' is required"), std::string::npos)
      << h->failures()[0].reason;
  EXPECT_NE(h->failures()[1].reason.find("start failed (status 9): device at 10.0.0.9 does not answer"),
            std::string::npos)
      << h->failures()[1].reason;
  EXPECT_TRUE(eventually([&] { return delivered(*h, "collector") == 5; }));
  EXPECT_EQ(status_of(h->status(), "broken-cam").state, "failed");
}

TEST_F(HostFixture, APluginThatThrowsInOnMessageIsCountedAndOthersStillGetEverything) {
  auto h = start(collector() + "  - instance: thrower\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.throws\n" +
                 "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n    config: {count: 20}\n");
  ASSERT_TRUE(eventually([&] { return status_of(h->status(), "thrower").counters.failed == 20; }));
  ASSERT_TRUE(eventually([&] { return delivered(*h, "collector") == 20; }));
  EXPECT_EQ(status_of(h->status(), "thrower").state, "running");
}

TEST_F(HostFixture, EveryKindOfBadPublishIsRejectedByReasonAndTheGoodOneAfterItArrives) {
  const std::vector<std::pair<std::string, RejectReason>> cases = {
      {"outside-grants", RejectReason::reserved},    {"oversize", RejectReason::oversize},
      {"garbage", RejectReason::malformed},          {"topic-mismatch", RejectReason::topic_mismatch},
      {"bad-topic", RejectReason::bad_topic},        {"no-schema", RejectReason::malformed}};
  std::string yaml = collector();
  for (const auto& [mode, reason] : cases)
    yaml += "  - instance: rogue-" + mode + "\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.rogue\n" +
            "    config: {mode: " + mode + "}\n";
  auto h = start(yaml);
  ASSERT_TRUE(h->failures().empty());
  ASSERT_TRUE(eventually([&] { return delivered(*h, "collector") == cases.size(); }));
  const auto st = h->status();
  for (const auto& [mode, reason] : cases) {
    const auto& c = status_of(st, "rogue-" + mode).counters;
    EXPECT_EQ(c.rejected[static_cast<int>(reason)], 1u) << mode;
    EXPECT_EQ(c.rejected_total(), 1u) << mode;
    EXPECT_EQ(c.published, 1u) << mode;
  }
  h->stop();
  for (const auto& line : read_jsonl(out())) EXPECT_EQ(line["topic"], "test.ok");
  const auto metrics = h->metrics_prometheus();
  EXPECT_NE(metrics.find("citylink_rejected_total{instance=\"rogue-oversize\",reason=\"oversize\"} 1"), std::string::npos);
}

TEST_F(HostFixture, GrantsFromTheCityConfigOverrideTheDescriptor) {
  auto h = start(collector() +
                 "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
                 "    config: {count: 3, topic: test.other}\n    grants: {publish: [test.data]}\n");
  ASSERT_TRUE(eventually([&] {
    return status_of(h->status(), "pub").counters.rejected[static_cast<int>(RejectReason::not_granted)] == 3;
  }));
  EXPECT_EQ(delivered(*h, "collector"), 0u);
}

TEST_F(HostFixture, ASlowSubscriberLosesOnlyItsOwnMessagesVisibly) {
  auto h = start(collector() +
                 "  - instance: slow\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.slow\n"
                 "    config: {delay_ms: 50}\n    queue_depth: 5\n"
                 "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
                 "    config: {count: 300}\n");
  ASSERT_TRUE(eventually([&] { return delivered(*h, "collector") == 300; }));
  ASSERT_TRUE(eventually([&] { return status_of(h->status(), "pub").counters.published == 300; }));
  const auto slow = status_of(h->status(), "slow").counters;
  EXPECT_GT(slow.dropped_incoming, 0u);
  h->stop();
  const auto after = status_of(h->status(), "slow").counters;
  EXPECT_EQ(after.delivered + after.dropped_incoming, 300u);  // nothing vanished without a count
}

TEST_F(HostFixture, AMissingPluginIdInAMultiPluginFileIsAConfigErrorNamingTheChoices) {
  auto h = start("  - instance: which\n    file: zoo_behaviour.so\n");
  ASSERT_EQ(h->failures().size(), 1u);
  EXPECT_NE(h->failures()[0].reason.find("provides 8 plugins; choose one with `plugin:`"), std::string::npos);
  EXPECT_NE(h->failures()[0].reason.find("kr.citylink.test.collector"), std::string::npos);
}

TEST_F(HostFixture, BrokenLibrariesInTheConfigAreReportedAndTheCityStillRuns) {
  auto h = start(collector() + "  - instance: abi\n    file: zoo_abi_major.so\n" +
                 "  - instance: text\n    file: not_a_library.so\n" +
                 "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n    config: {count: 4}\n");
  ASSERT_EQ(h->failures().size(), 2u);
  EXPECT_NE(h->failures()[0].reason.find("ABI 2.0"), std::string::npos);
  EXPECT_NE(h->failures()[1].reason.find("no ELF header"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return delivered(*h, "collector") == 4; }));
}

// H2 of the review: the plugin's thread used to publish and log through the freed host
// table, and the host crashed when the library was unloaded under that thread. What the
// failed start published (from start itself and from its thread) is never delivered.
TEST_F(HostFixture, AThreadLeftRunningByAFailedStartCannotHurtTheHost) {
  {
    auto h = start(collector("collector", "test.") + "  - instance: leaky\n    file: zoo_leaky_thread.so\n" +
                   "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
                   "    config: {count: 5}\n");
    ASSERT_EQ(h->failures().size(), 1u);
    EXPECT_NE(h->failures()[0].reason.find("second camera did not answer"), std::string::npos);
    EXPECT_TRUE(eventually([&] { return delivered(*h, "collector") == 5; }));
  }  // the host and its libraries are gone; the plugin's thread is still calling publish and log
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  for (const auto& line : read_jsonl(out())) EXPECT_NE(line["source"], "leaky");
}

// Issue 6 §1.9: the plugin's config_schema is checked at create; a warning by default, a
// refusal naming the field under host.strict_config (`citylink run --strict-config`).
TEST_F(HostFixture, AConfigThatBreaksThePluginsSchemaWarnsOrUnderStrictConfigIsRefused) {
  // The test publisher's schema says count >= 0; its code takes any count.
  const std::string water = "  - instance: water\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
                            "    config: {count: -3}\n";
  {
    auto h = start(water);
    EXPECT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  }
  auto h = start(water, "host: {strict_config: true}\n");
  ASSERT_EQ(h->failures().size(), 1u);
  const std::string why = h->failures()[0].reason;
  EXPECT_NE(why.find("plugins['water'].config/count is -3, below the minimum 0"), std::string::npos) << why;
}

namespace {

// The blocked-signal mask of a thread or process, from its /proc status; nullopt when it
// ended before it was read.
std::optional<uint64_t> blocked_signals(const std::filesystem::path& status) {
  std::ifstream in(status);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return std::nullopt;
}

std::set<std::string> thread_ids() {
  std::set<std::string> ids;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) ids.insert(t.path().filename());
  return ids;
}

}  // namespace

// Review M1: a SIGINT or SIGTERM meant for a stop could be taken by any of the host's
// threads (and end a receive in EINTR there) when the caller's thread was busy. Now every
// thread the host makes, the plugins' own included, leaves them to the caller's thread, and
// a worker process starts with no signal blocked.
TEST_F(HostFixture, EveryThreadTheHostMakesLeavesStopSignalsToTheCallersThread) {
  const auto before = thread_ids();
  auto h = start("  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
                 "    isolation: none\n    config: {count: 1000000, pause_ms: 50}\n" +
                 collector() + "    isolation: process\n");
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  constexpr uint64_t kStop = (uint64_t{1} << (SIGINT - 1)) | (uint64_t{1} << (SIGTERM - 1));
  std::size_t made = 0;
  for (const auto& tid : thread_ids()) {
    if (before.count(tid)) continue;
    const auto mask = blocked_signals(std::filesystem::path("/proc/self/task") / tid / "status");
    if (!mask) continue;
    ++made;
    EXPECT_EQ(*mask & kStop, kStop) << "thread " << tid << " takes SIGINT or SIGTERM";
  }
  EXPECT_GE(made, 3u);  // at least the router's, the instances' and the publisher's own
  const auto mine = blocked_signals("/proc/thread-self/status");
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(*mine & kStop, 0u) << "the caller's mask was not given back";
  const int worker = worker_pid(*h->registry().instance("collector")->backend());
  ASSERT_GT(worker, 0);
  const auto workers = blocked_signals("/proc/" + std::to_string(worker) + "/status");
  ASSERT_TRUE(workers.has_value());
  EXPECT_EQ(*workers & kStop, 0u) << "the worker inherited the host thread's mask";
}
