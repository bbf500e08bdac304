// End-to-end 112 latency: a 112UC001 report published on the real router -> scenario
// engine (camera registry with 10,000 cameras, 112 emergency video) -> VideoShareGrant
// received by a subscriber. Baseline in the same run: the same publish -> router ->
// subscriber hop without the engine. Prints p50/p99/p99.9 of both. Camera registrations are
// paced against the engine and the wait for them has a deadline (issue 12). With FLOOD > 0,
// another publisher tries to get FLOOD sensor readings (which the engine also takes) onto the
// bus from its own thread, trying again at once whenever it is refused, while the reports are
// measured (issue 8: emergency traffic first); the baseline hop then runs under the same
// flood. The flooder is held to FLOOD_RATE messages a second, the host's default
// publish_rate unless given (0: unlimited, as an operator may set for a plugin).
//
//   build/bench/citylink_bench_scenario_latency [CAMERAS] [REPORTS] [FLOOD] [FLOOD_RATE]
#include <citylink/platform/platform.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/envelope.pb.h>
#include <citylink/v1/platform_event.pb.h>
#include <citylink/v1/sensor.pb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>

#include "support/bench_support.hpp"
#include "support/city_load.hpp"

using namespace citylink::host;
using citylink::bench::CameraGrid;
using citylink::bench::envelope;
using citylink::bench::send;
using Clock = std::chrono::steady_clock;

namespace {


}  // namespace

int main(int argc, char** argv) {
  const int cameras = argc > 1 ? std::stoi(argv[1]) : 10000;
  const int reports = argc > 2 ? std::stoi(argv[2]) : 2000;
  const long flood = argc > 3 ? std::stol(argv[3]) : 0;
  const uint32_t flood_rate = argc > 4 ? static_cast<uint32_t>(std::stoul(argv[4])) : PublishRate::kDefault;
  set_log_level("warn");
  auto config = citylink::platform::parse_city_config(
      "city: bench\nhost: {log_level: warn, max_cameras_per_instance: 10000000}\nscenarios:\n  emergency_video_112: {}\n"
      "plugins: []\n",
      "bench.yaml", ".");
  config.incident_authority.push_back({"112UC001", "incident.112", {"bench-feed"}, 0});
  Host host(std::move(config));
  auto* engine = citylink::platform::add_scenario_engine(host);
  host.start();
  auto feed = host.router().add_publisher("bench-feed", {"*"}, std::make_shared<InstanceCounters>());
  feed->open();
  const std::string endpoint = host.router().endpoint_prefix() + "/bench-sink";
  Inbox sink(host.context(), endpoint, host.router().options().queue_depth);
  host.router().add_sink(SinkSpec{"bench-sink", {"grant.video.", "bench.echo"}, endpoint,
                                  std::make_shared<InstanceCounters>(), false, 0, "112", sink.critical_endpoint(),
                                  sink.bytes()});

  const CameraGrid grid(cameras);
  // Registrations are paced against the engine, at most half its queue ahead of what it
  // registered, so none is dropped at its full queue (the old loop sent 100,000 at once and
  // then waited forever for the ones the engine had dropped). A stall of 10 s ends the wait:
  // the benchmark goes on with what registered and says so.
  const auto announced = [&] { return engine->counters()["camera_registry/cameras_announced"]; };
  const uint64_t window = std::max(2, host.router().options().queue_depth / 2);
  const auto wait_for = [&](uint64_t target) {
    uint64_t last = announced();
    auto progress = Clock::now();
    while (last < target) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const uint64_t now = announced();
      if (now != last) {
        last = now;
        progress = Clock::now();
      } else if (Clock::now() - progress > std::chrono::seconds(10)) {
        return false;
      }
    }
    return true;
  };
  bool stalled = false;
  for (int i = 0; i < cameras && !stalled; ++i) {
    if (i % 1000 == 0 && i > 0 && static_cast<uint64_t>(i) > window) stalled = !wait_for(i - window);
    send(*feed, "camera.info", grid.announcement(i));
  }
  if (!stalled) stalled = !wait_for(static_cast<uint64_t>(cameras));
  const uint64_t registered = announced();
  if (stalled)
    std::printf("cameras: the engine stopped registering at %llu of %d for 10 s; measuring with those\n",
                static_cast<unsigned long long>(registered), cameras);

  // The flood: a plugin that publishes telemetry as fast as it can and tries again at once
  // when refused, as a misbehaving device would; held to its publish_rate like any instance.
  auto flood_counters = std::make_shared<InstanceCounters>();
  auto flooder = host.router().add_publisher("bench-flood", {"sensor.*"}, flood_counters);
  flooder->limit_rate(flood_rate);
  flooder->open();
  std::atomic<bool> flooding{flood > 0};
  std::atomic<long> flood_sent{0}, flood_refused{0};
  std::thread flood_thread;
  if (flood > 0) {
    flood_thread = std::thread([&] {
      citylink::v1::SensorReading r;
      r.set_sensor_id("flood");
      r.set_kind("water_level");
      r.set_value(0.1);
      const std::string bytes = envelope(r);
      while (flood_sent < flood && flooding) {
        if (flooder->publish("sensor.reading", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                             nullptr) == CITYLINK_OK)
          ++flood_sent;
        else
          ++flood_refused;
      }
      flooding = false;
    });
    while (flood_sent + flood_refused < 1000) std::this_thread::yield();  // the flood is on before the first report
  }

  std::mt19937 rng(7);
  std::uniform_real_distribution<double> along(0, grid.extent_m());
  std::vector<double> engine_us, bus_us;
  zmq::message_t m;
  int lost = 0;
  for (int i = 0; i < reports; ++i) {
    // Baseline: the same hop without the engine.
    citylink::v1::PlatformEvent echo;
    echo.set_occurrence_number("echo");
    auto t0 = Clock::now();
    send(*feed, "bench.echo", envelope(echo));
    if (!sink.receive(m, std::chrono::seconds(2))) ++lost;
    bus_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());

    citylink::v1::PlatformEvent ev;
    ev.set_event_code("112UC001");
    ev.set_occurrence_number("112-bench-" + std::to_string(i));
    ev.set_status(citylink::v1::EVENT_STATUS_OCCURRED);
    ev.mutable_location()->set_lat(grid.lat(along(rng)));
    ev.mutable_location()->set_lon(grid.lon(along(rng)));
    t0 = Clock::now();
    send(*feed, "incident.112", envelope(ev));
    if (!sink.receive(m, std::chrono::seconds(2))) ++lost;
    engine_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const bool flood_outlasted = flood > 0 && flooding.load();  // the reports were all measured under the flood
  flooding = false;
  if (flood_thread.joinable()) flood_thread.join();
  flooder->close();
  host.router().remove_sink("bench-sink");
  feed->close();
  host.stop();
  std::printf("%llu of %d cameras registered, %d reports (lost: %d)\n", static_cast<unsigned long long>(registered),
              cameras, reports, lost);
  if (flood > 0)
    std::printf("flood (publish_rate %s): %ld sensor readings published, %ld refused (%llu over the rate, %llu at a "
                "full queue), %s the reports\n",
                flood_rate ? std::to_string(flood_rate).c_str() : "unlimited", flood_sent.load(), flood_refused.load(),
                static_cast<unsigned long long>(flood_counters->refused_rate.load()),
                static_cast<unsigned long long>(flood_counters->dropped_outgoing.load()),
                flood_outlasted ? "still running after all" : "ended before the last of");
  std::printf("  bus only   publish -> router -> subscriber         p50 %7.1f us   p99 %7.1f us   p99.9 %7.1f us\n",
              citylink::bench::percentile(bus_us, 0.5), citylink::bench::percentile(bus_us, 0.99), citylink::bench::percentile(bus_us, 0.999));
  std::printf("  112 report -> engine -> VideoShareGrant received    p50 %7.1f us   p99 %7.1f us   p99.9 %7.1f us\n",
              citylink::bench::percentile(engine_us, 0.5), citylink::bench::percentile(engine_us, 0.99), citylink::bench::percentile(engine_us, 0.999));
  std::printf("  engine adds (p50)                                   %7.1f us\n", citylink::bench::percentile(engine_us, 0.5) - citylink::bench::percentile(bus_us, 0.5));
  return lost || stalled ? 1 : 0;
}
