// Footprint (issue 12): the host's resident memory idle and with 100 plugin instances
// loaded, per instance, and how long 100 instances take to load and start, and to stop.
//
//   citylink_bench_footprint [INSTANCES=100]
#include <citylink/host/host.hpp>
#include <citylink/host/logging.hpp>

#include <cstdio>
#include <string>

#include "support/bench_support.hpp"

using namespace citylink::host;
using namespace citylink::bench;

int main(int argc, char** argv) {
  const int instances = argc > 1 ? std::stoi(argv[1]) : 100;
  set_log_level("error");
  const long before = rss_kb();
  long idle = 0;
  {
    Host empty(parse_city_config("city: bench\nhost: {log_level: error}\nplugins: []\n", "bench.yaml", "."));
    empty.start();
    idle = rss_kb();
    empty.stop();
  }
  std::string yaml = "city: bench\nhost: {log_level: error}\nplugin_dirs: [" CITYLINK_BENCH_PLUGIN_DIR "]\nplugins:\n";
  for (int i = 0; i < instances; ++i)
    yaml += "  - {instance: sink-" + std::to_string(i) +
            ", file: bench_plugins.so, plugin: kr.citylink.bench.counter, grants: {subscribe: [bench.data]}, "
            "isolation: none}\n";
  Host host(parse_city_config(yaml, "bench.yaml", "."));
  const auto t0 = Clock::now();
  host.start();
  const double start_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const long loaded = rss_kb();
  const auto t1 = Clock::now();
  host.stop();
  const double stop_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  std::size_t running = 0;
  for (const auto& s : host.status()) running += s.instance_id.rfind("sink-", 0) == 0;
  std::printf("process before any host                 %8.1f MB\n", before / 1024.0);
  std::printf("host idle RSS (started, no plugins)     %8.1f MB\n", idle / 1024.0);
  std::printf("RSS with %d plugin instances           %8.1f MB\n", instances, loaded / 1024.0);
  std::printf("per instance                            %8.1f kB\n", static_cast<double>(loaded - idle) / instances);
  std::printf("%d instances: load and start           %8.1f ms\n", instances, start_ms);
  std::printf("%d instances: stop                     %8.1f ms\n", instances, stop_ms);
  if (running != static_cast<std::size_t>(instances)) {
    std::fprintf(stderr, "only %zu of %d instances came up\n", running, instances);
    return 1;
  }
  return 0;
}
