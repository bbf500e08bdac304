// A small city for one sample plugin: the plugin under test, recorders (the zoo's collector,
// the agency console with an `out` file), and helpers to read what they recorded.
#pragma once

#include "engine_stand_in.hpp"
#include "test_support.hpp"

#include <citylink/platform/platform.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/permissions.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <fstream>
#include <map>
#include <set>
#include <string_view>

namespace citylink::samples_test {

using json = nlohmann::json;
using citylink::test::eventually;
using citylink::test::TempDir;

// Great-circle distance and bearing, written out here so the tests do not reuse the plugins' code.
inline double haversine_m(double lat1, double lon1, double lat2, double lon2) {
  const double r = 6371008.8, k = 3.14159265358979323846 / 180;
  const double a = std::pow(std::sin((lat2 - lat1) * k / 2), 2) +
                   std::cos(lat1 * k) * std::cos(lat2 * k) * std::pow(std::sin((lon2 - lon1) * k / 2), 2);
  return 2 * r * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}
inline double initial_bearing(double lat1, double lon1, double lat2, double lon2) {
  const double k = 3.14159265358979323846 / 180;
  const double b = std::atan2(std::sin((lon2 - lon1) * k) * std::cos(lat2 * k),
                              std::cos(lat1 * k) * std::sin(lat2 * k) -
                                  std::sin(lat1 * k) * std::cos(lat2 * k) * std::cos((lon2 - lon1) * k)) / k;
  return b < 0 ? b + 360 : b;
}

static_assert(std::string_view(kAuditRecipientName) == citylink::host::kAuditRecipient);

struct SampleCity : ::testing::Test {
  TempDir dir;
  std::string plugins;    // the `plugins:` entries so far
  std::string authority;  // the `incident_authority:` entries so far
  std::string scenarios;  // the `scenarios:` entries, when the test enables the engine
  json engine_messages = json::array();
  std::unique_ptr<citylink::host::Host> host;

  ~SampleCity() override {
    if (host) host->stop();
  }

  std::string path(const std::string& name) const { return (dir / name).string(); }

  // Adds a plugin instance; `config` goes in as JSON, which is YAML flow syntax. Deny by
  // default: an instance given `subscribe` topics is granted those; any other is granted
  // what its descriptor requests (`grants: requested`).
  void add(const std::string& instance, const std::string& file, const json& config, const std::string& subscribe = "",
           const std::string& plugin = "", const std::string& recipient = "") {
    plugins += "  - instance: " + instance + "\n    file: " + file + "\n";
    if (!plugin.empty()) plugins += "    plugin: " + plugin + "\n";
    plugins += "    config: " + config.dump() + "\n";
    if (!recipient.empty()) plugins += "    recipient: \"" + recipient + "\"\n";
    plugins += subscribe.empty() ? "    grants: requested\n" : "    grants: {subscribe: [" + subscribe + "]}\n";
  }
  // The zoo's collector, recording envelopes on `topics` into collector.jsonl.
  void collector(const std::string& topics, const std::string& recipient = "") {
    add("collector", "zoo_behaviour.so", {{"out", path("collector.jsonl")}}, topics, "kr.citylink.test.collector",
        recipient);
  }
  // An agency console recording decoded payloads on `topics` into <name>.jsonl.
  void console(const std::string& name, const std::string& topics, const std::string& recipient = "") {
    add(name, "agency_console.so", {{"name", name}, {"out", path(name + ".jsonl")}, {"quiet", true}}, topics, "",
        recipient);
  }
  // Lets `source` raise `event_code` on `topic` (the city's incident authority).
  void authorise(const std::string& event_code, const std::string& topic, const std::string& source) {
    authority += "  " + event_code + ": {topic: " + topic + ", sources: [" + source + "]}\n";
  }
  // Messages only the scenario engine may publish, sent after start through a publisher
  // with the engine's role (see engine_stand_in.hpp), in order, each at its `at_ms`.
  void engine_says(const json& messages) { engine_messages = messages; }

  // The config sections besides `plugins:`.
  std::string sections() const {
    return (scenarios.empty() ? "" : "scenarios:\n" + scenarios) +
           (authority.empty() ? "" : "incident_authority:\n" + authority);
  }

  void start() {
    const std::string yaml = "city: samples-test\nplugin_dirs: [" + std::string(CITYLINK_TEST_PLUGIN_DIR) + ", " +
                             CITYLINK_SAMPLE_PLUGIN_DIR + ", " + CITYLINK_SAMPLES_TEST_DIR + "]\n" + sections() +
                             "plugins:\n" + plugins;
    host = std::make_unique<citylink::host::Host>(
        citylink::platform::parse_city_config(yaml, "samples-test.yaml", dir.path()));
    citylink::platform::add_scenario_engine(*host);
    host->set_worker_command({CITYLINK_BIN, "worker"});
    host->start();
    send_engine_messages();
  }
  void send_engine_messages() {
    if (engine_messages.empty()) return;
    auto pub = host->router().add_publisher(citylink::host::kEngineName, {"*"},
                                            std::make_shared<citylink::host::InstanceCounters>(),
                                            citylink::host::PublisherRole::engine);
    pub->open();
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& m : engine_messages) {
      std::this_thread::sleep_until(t0 + std::chrono::milliseconds(m.value("at_ms", 0)));
      const std::string bytes = engine_envelope(m);
      EXPECT_EQ(pub->publish(m.value("topic", ""), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr),
                CITYLINK_OK);
    }
    pub->close();
  }
  // Starts the city and returns the reason the first plugin failed ("" when none did).
  std::string start_and_get_failure() {
    start();
    return host->failures().empty() ? "" : host->failures()[0].reason;
  }

  // The JSON lines of a recorder file; a line still being written is skipped.
  std::vector<json> lines(const std::string& file) const {
    std::vector<json> out;
    std::ifstream in(path(file));
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  // The lines matching `pred`.
  template <class Pred>
  std::vector<json> lines(const std::string& file, Pred pred) const {
    std::vector<json> out;
    for (auto& j : lines(file))
      if (pred(j)) out.push_back(j);
    return out;
  }
  // Waits until `file` has at least `n` lines matching `pred`.
  template <class Pred>
  bool wait_for(const std::string& file, std::size_t n, Pred pred) const {
    return eventually([&] { return lines(file, pred).size() >= n; });
  }
  bool wait_for(const std::string& file, std::size_t n) const {
    return wait_for(file, n, [](const json&) { return true; });
  }
};

inline bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

}  // namespace citylink::samples_test
