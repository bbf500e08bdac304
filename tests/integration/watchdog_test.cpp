// In-process plugins (trusted, or isolation: none) cannot hold the host: the watchdog
// reports an on_message past its budget, and start, stop and shutdown never wait forever on
// a plugin that hangs (issue 8 §3). Real zoo libraries that really hang, a real router.
#include "host_support.hpp"
#include "test_support.hpp"

#include <citylink/host/host.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace citylink::host;
using citylink::test::eventually;
using citylink::test::read_jsonl;
using citylink::test::TempDir;

namespace {

struct WatchdogFixture : ::testing::Test {
  TempDir dir;
  std::string out() const { return (dir / "received.jsonl").string(); }

  std::unique_ptr<Host> start(const std::string& plugins_yaml) {
    const std::string yaml = "city: watched-city\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) +
                             "]\nplugins:\n" + plugins_yaml;
    auto h = std::make_unique<Host>(parse_city_config(yaml, "watched-city.yaml", dir.path()));
    h->set_worker_command({CITYLINK_BIN, "worker"});
    h->start();
    return h;
  }
  static InstanceReport report(Host& h, const std::string& id) {
    for (auto& r : h.instance_reports())
      if (r.instance_id == id) return r;
    throw std::runtime_error("no instance " + id);
  }
};

// Five 112 reports: one to a collector, and the same to a plugin that never returns.
std::string reports_to(const std::string& hanger_yaml, const std::string& out) {
  return "  - instance: pub\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.publisher\n"
         "    grants: {publish: [incident.112]}\n    config: {count: 5, topic: incident.112}\n"
         "  - instance: collector\n    file: zoo_behaviour.so\n    plugin: kr.citylink.test.collector\n"
         "    grants: {subscribe: [incident.112]}\n    isolation: none\n    config: {out: " + out + "}\n" +
         hanger_yaml;
}

}  // namespace

TEST_F(WatchdogFixture, AnOnMessagePastItsBudgetIsReportedAndTheStopDoesNotWaitForIt) {
  auto h = start(reports_to("  - instance: hanger\n    file: zoo_hang_on_message.so\n    grants: requested\n"
                            "    isolation: none\n    watchdog: {message_ms: 100, call_ms: 300}\n",
                            out()));
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  // Reported once for the one call it is stuck in, while the rest of the city is served.
  ASSERT_TRUE(eventually([&] { return citylink::test::counters_of(*h, "hanger").overruns == 1u; }));
  ASSERT_TRUE(eventually([&] { return read_jsonl(out()).size() == 5u; }));
  EXPECT_EQ(report(*h, "hanger").state, "running");
  h->stop();  // before the watchdog this joined the hung dispatch thread forever
  const auto r = report(*h, "hanger");
  EXPECT_EQ(r.state, "failed");
  EXPECT_NE(r.last_error.find("on_message had run for over 300 ms at the stop (watchdog.call_ms)"), std::string::npos)
      << r.last_error;
  EXPECT_EQ(report(*h, "collector").state, "stopped");
}

// Review: an abandoned instance's library was released with its host, and the last release
// ran the library's deinit while the host's thread was still inside its on_message.
TEST_F(WatchdogFixture, TheLibraryOfAnAbandonedCallIsNeverDeinitialised) {
  const auto mark = dir / "deinit.mark";
  ASSERT_EQ(setenv("ZOO_DEINIT_MARK", mark.c_str(), 1), 0);
  {
    auto h = start(reports_to("  - instance: hanger\n    file: zoo_hang_on_message.so\n    grants: requested\n"
                              "    isolation: none\n    watchdog: {message_ms: 100, call_ms: 300}\n",
                              out()));
    ASSERT_TRUE(eventually([&] { return citylink::test::counters_of(*h, "hanger").overruns == 1u; }));
    h->stop();
    ASSERT_EQ(report(*h, "hanger").state, "failed");
  }
  // Everything the host held is released; a deinit would have written the mark.
  unsetenv("ZOO_DEINIT_MARK");
  EXPECT_FALSE(std::filesystem::exists(mark)) << "deinit ran under a call still inside the library";
}

// Review: a plugin built without the SDK helper that let an exception out of create, start,
// stop or destroy ended the host in std::terminate, from the watchdog's helper thread.
TEST_F(WatchdogFixture, AnExceptionAcrossTheAbiFailsThatCallAndTheHostRunsOn) {
  std::string plugins;
  for (const char* call : {"create", "start", "stop", "destroy"})
    plugins += std::string("  - instance: throws-in-") + call +
               "\n    file: zoo_throws_across_abi.so\n    grants: requested\n    isolation: none\n"
               "    config: {throw_in: " + call + "}\n";
  auto h = start(reports_to(plugins, out()));
  ASSERT_EQ(h->failures().size(), 2u);
  for (const auto& f : h->failures()) {
    const std::string call = f.instance_id.substr(std::string("throws-in-").size());
    EXPECT_TRUE(call == "create" || call == "start") << f.instance_id;
    EXPECT_NE(f.reason.find(call + " threw an exception across the C ABI; catch exceptions in the plugin"),
              std::string::npos)
        << f.reason;
  }
  ASSERT_TRUE(eventually([&] { return read_jsonl(out()).size() == 5u; }));  // the city runs on
  h->stop();
  EXPECT_EQ(report(*h, "throws-in-stop").state, "stopped");
  EXPECT_EQ(report(*h, "collector").state, "stopped");
}

TEST_F(WatchdogFixture, AStopThatNeverReturnsIsAbandonedAfterItsBound) {
  auto h = start("  - instance: hanger\n    file: zoo_hang_on_stop.so\n    grants: requested\n"
                 "    isolation: none\n    watchdog: {call_ms: 300}\n");
  ASSERT_TRUE(h->failures().empty()) << h->failures()[0].reason;
  h->stop();
  const auto r = report(*h, "hanger");
  EXPECT_EQ(r.state, "failed");
  EXPECT_NE(r.last_error.find("stop did not return within 300 ms"), std::string::npos) << r.last_error;
}

TEST_F(WatchdogFixture, AStartThatNeverReturnsFailsThatInstanceAndTheCityStarts) {
  auto h = start(reports_to("  - instance: hanger\n    file: zoo_hang_on_start.so\n    grants: requested\n"
                            "    isolation: none\n    watchdog: {call_ms: 300}\n",
                            out()));
  ASSERT_EQ(h->failures().size(), 1u);
  EXPECT_EQ(h->failures()[0].instance_id, "hanger");
  EXPECT_NE(h->failures()[0].reason.find("start did not return within 300 ms (watchdog.call_ms); its library stays "
                                         "loaded"),
            std::string::npos)
      << h->failures()[0].reason;
  ASSERT_TRUE(eventually([&] { return read_jsonl(out()).size() == 5u; }));  // the city runs on
  h->stop();
}

TEST_F(WatchdogFixture, AWatchdogOnAnIsolatedInstanceIsAConfigErrorThatNamesTheHeartbeat) {
  try {
    (void)parse_city_config("city: c\nplugins:\n  - instance: x\n    file: /nonexistent.so\n"
                            "    isolation: process\n    watchdog: {message_ms: 100}\n",
                            "c.yaml", dir.path());
    FAIL() << "accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("plugins[0].watchdog: applies to an in-process instance"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("worker.heartbeat_timeout_ms"), std::string::npos) << e.what();
  }
}

// The whole command: a SIGTERM while a trusted plugin hangs in on_message ends `citylink run`
// with status 0 and a clean-shutdown mark, instead of never.
TEST(WatchdogCli, CitylinkRunEndsCleanlyWhileATrustedPluginHangs) {
  TempDir dir;
  const auto config = dir / "hang.yaml";
  const auto out = (dir / "received.jsonl").string();
  citylink::test::write_file(
      config, "city: hang\nhost: {state_dir: " + dir.path().string() + "}\nplugin_dirs: [" +
                  std::string(CITYLINK_TEST_PLUGIN_DIR) + "]\nplugins:\n" +
                  reports_to("  - instance: hanger\n    file: zoo_hang_on_message.so\n    grants: requested\n"
                             "    trusted: true\n    watchdog: {message_ms: 100, call_ms: 300}\n",
                             out));
  const auto log = dir / "run.log";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(CITYLINK_BIN, CITYLINK_BIN, "run", "--config", config.c_str(), "--for", "600", nullptr);
    _exit(127);
  }
  ASSERT_TRUE(eventually([&] { return citylink::test::read_file(log).find("watchdog.message_ms") != std::string::npos; }))
      << citylink::test::read_file(log);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0) << citylink::test::read_file(log);
  EXPECT_FALSE(std::filesystem::exists(dir / "citylink.running"));  // a clean shutdown
  EXPECT_NE(citylink::test::read_file(log).find("the instance is abandoned"), std::string::npos);
}
