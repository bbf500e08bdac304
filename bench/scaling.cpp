// One point of the scaling curves (issue 12, bench/scaling.py draws them): a city with one
// publisher, SUBSCRIBERS counters on its topic and enough idle instances to make PLUGINS in
// all, in-process. Two phases:
//   throughput  the publisher sends MESSAGES as fast as the bus takes them: deliveries per
//               second to all subscribers together, until the last one arrived;
//   latency     it sends PACED messages, 1,000 a second, each stamped with its send time:
//               p50/p99/p99.9 from the publisher's call to a subscriber's on_message.
// The publisher is the last instance started, so the others are running when it begins.
// Each wait has a deadline; what did not arrive is reported, not waited for.
//
//   build/bench/citylink_bench_scaling [MESSAGES=200000] [SUBSCRIBERS=1] [PLUGINS=2] [PACED=2000]
#include <citylink/host/city_config.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/logging.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/bench_support.hpp"

using namespace citylink::host;
using namespace citylink::bench;

namespace {

// The city: the publisher with `config`, `subscribers` counters (each writing its latencies
// to `dir`/lat-N when `dir` is set), then idle publishers (count 0) up to `plugins`.
std::string city(int subscribers, int plugins, const std::string& publisher_config, const std::string& dir) {
  std::string y = "city: scaling\nhost: {log_level: error, publish_rate: unlimited}\nplugin_dirs: [" CITYLINK_BENCH_PLUGIN_DIR "]\nplugins:\n";
  auto add = [&](const std::string& name, const std::string& plugin, const std::string& grants,
                 const std::string& config) {
    y += "  - {instance: " + name + ", file: bench_plugins.so, plugin: kr.citylink.bench." + plugin +
         ", isolation: none, grants: " + grants + ", config: " + config + "}\n";
  };
  for (int i = 0; i < subscribers; ++i)
    add("counter-" + std::to_string(i), "counter", "{subscribe: [bench.data]}",
        dir.empty() ? "{}" : "{latency_out: " + dir + "/lat-" + std::to_string(i) + "}");
  for (int i = subscribers + 1; i < plugins; ++i) add("idle-" + std::to_string(i), "publisher", "{}", "{count: 0}");
  add("publisher", "publisher", "{publish: [bench.data]}", publisher_config);
  return y;
}

// Messages the subscribers took (`with_dropped`: or that their full queues dropped).
uint64_t delivered(Host& h, int subscribers, bool with_dropped = false) {
  uint64_t n = 0;
  for (int i = 0; i < subscribers; ++i)
    if (auto* inst = h.registry().instance("counter-" + std::to_string(i)))
      n += inst->counters()->delivered.load() + (with_dropped ? inst->counters()->dropped_incoming.load() : 0);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::stol(argv[1]) : 200000;
  const int subscribers = std::max(1, argc > 2 ? std::stoi(argv[2]) : 1);
  const int plugins = std::max(subscribers + 1, argc > 3 ? std::stoi(argv[3]) : 2);
  const long paced = argc > 4 ? std::stol(argv[4]) : 2000;
  set_log_level("error");

  // Throughput: from the first delivery to the last, so loading and starting the plugins is
  // not counted.
  double per_second = 0;
  uint64_t got = 0;
  const uint64_t want = static_cast<uint64_t>(n) * static_cast<uint64_t>(subscribers);
  {
    Host h(citylink::host::parse_city_config(
        city(subscribers, plugins, "{count: " + std::to_string(n) + ", payload_bytes: 200}", ""),
        "scaling.yaml", "."));
    h.start();
    wait_for([&] { return delivered(h, subscribers) > 0; }, std::chrono::seconds(30));
    const auto t0 = Clock::now();
    const uint64_t at_t0 = delivered(h, subscribers);
    wait_for([&] { return delivered(h, subscribers, true) >= want; }, std::chrono::seconds(120));
    const auto t1 = Clock::now();
    got = delivered(h, subscribers);
    per_second = static_cast<double>(got - at_t0) / std::chrono::duration<double>(t1 - t0).count();
    h.stop();
  }

  // Latency: paced, so it measures the path and not a queue the publisher filled.
  const std::string dir = "/tmp/citylink-scaling-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::vector<double> us;
  {
    Host h(citylink::host::parse_city_config(
        city(subscribers, plugins, "{count: " + std::to_string(paced) + ", payload_bytes: 200, interval_us: 1000}", dir),
        "scaling.yaml", "."));
    h.start();
    wait_for([&] { return delivered(h, subscribers, true) >= static_cast<uint64_t>(paced) * subscribers; },
             std::chrono::seconds(120));
    h.stop();
  }
  for (int i = 0; i < subscribers; ++i) {
    std::ifstream f(dir + "/lat-" + std::to_string(i));
    for (double v; f >> v;) us.push_back(v);
  }
  std::filesystem::remove_all(dir);

  std::printf("subscribers %d, plugins %d, messages %ld (200-byte payload)\n", subscribers, plugins, n);
  std::printf("  throughput: %.0f deliveries/s (%llu of %llu delivered)\n", per_second,
              static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
  std::printf("  latency, %zu paced deliveries: p50 %.1f us p99 %.1f us p99.9 %.1f us\n", us.size(), percentile(us, 0.5),
              percentile(us, 0.99), percentile(us, 0.999));
  return 0;
}
