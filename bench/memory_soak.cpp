// Flat memory over a long run (issue 8 §5): a city whose engine sees a steady churn, with
// the shortest retention the config allows (closed incidents kept 1 minute) and short
// grants, for SECONDS. Every second a feed opens INCIDENTS 112 reports at random places
// among 10,000 cameras (each gets a video grant) and finishes the previous second's
// (their grants are revoked), the camera fleet re-announces 1,000 cameras, and sensors send
// 1,000 readings. Prints the host's resident memory and the engine's books once every 10 s,
// and compares the last third of the run with the middle third: memory is flat when the
// books stop growing after one retention and the RSS does too.
//
//   build/bench/citylink_bench_memory_soak [SECONDS=180] [INCIDENTS=200]
#include <citylink/platform/platform.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/envelope.pb.h>
#include <citylink/v1/platform_event.pb.h>
#include <citylink/v1/sensor.pb.h>

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


int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::stoi(argv[1]) : 180;
  const int per_second = argc > 2 ? std::stoi(argv[2]) : 200;
  constexpr int kCameras = 10000;
  set_log_level("error");
  auto config = citylink::platform::parse_city_config(
      "city: soak\nhost: {log_level: error, incident_retention_minutes: 1, max_cameras_per_instance: 100000}\n"
      "scenarios:\n  emergency_video_112: {grant_minutes: 0.1, renew_before_seconds: 2}\nplugins: []\n",
      "soak.yaml", ".");
  config.incident_authority.push_back({"112UC001", "incident.112", {"soak-feed"}, 0});
  Host host(std::move(config));
  auto* engine = citylink::platform::add_scenario_engine(host);
  host.start();
  auto feed = host.router().add_publisher("soak-feed", {"*"}, std::make_shared<InstanceCounters>());
  feed->open();
  // The 112 centre: takes every grant, so nothing queues up on the way.
  const std::string endpoint = host.router().endpoint_prefix() + "/soak-sink";
  Inbox sink(host.context(), endpoint, host.router().options().queue_depth);
  host.router().add_sink(SinkSpec{"soak-sink", {"grant.video."}, endpoint, std::make_shared<InstanceCounters>(), false,
                                  0, "112", sink.critical_endpoint(), sink.bytes()});
  std::atomic<bool> draining{true};
  std::atomic<long> grants_received{0};
  std::thread drain([&] {
    zmq::message_t m;
    while (draining)
      if (sink.receive(m, std::chrono::milliseconds(50))) grants_received += static_cast<long>(count_received(m));
  });

  const CameraGrid grid(kCameras);
  for (int i = 0; i < kCameras; ++i) {
    send(*feed, "camera.info", grid.announcement(i));
    if (i % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // paced, as the fleet is
  }

  std::mt19937 rng(11);
  std::uniform_real_distribution<double> along(0, grid.extent_m());
  long next_number = 0;
  std::vector<long> open_numbers;
  std::vector<double> rss_mb(seconds + 1, 0);
  std::printf("second  rss MB  incidents in the book  live grants  grants received\n");
  const auto begin = Clock::now();
  for (int s = 1; s <= seconds; ++s) {
    // Finish last second's incidents, then open this second's.
    for (long n : open_numbers) {
      citylink::v1::PlatformEvent ev;
      ev.set_event_code("112UC001");
      ev.set_occurrence_number("soak-" + std::to_string(n));
      ev.set_status(citylink::v1::EVENT_STATUS_FINISHED);
      send(*feed, "incident.112", envelope(ev));
    }
    open_numbers.clear();
    for (int i = 0; i < per_second; ++i) {
      citylink::v1::PlatformEvent ev;
      ev.set_event_code("112UC001");
      ev.set_occurrence_number("soak-" + std::to_string(next_number));
      ev.set_status(citylink::v1::EVENT_STATUS_OCCURRED);
      ev.mutable_location()->set_lat(grid.lat(along(rng)));
      ev.mutable_location()->set_lon(grid.lon(along(rng)));
      send(*feed, "incident.112", envelope(ev));
      open_numbers.push_back(next_number++);
    }
    for (int i = 0; i < 1000; ++i) send(*feed, "camera.info", grid.announcement((s * 1000 + i) % kCameras));
    for (int i = 0; i < 1000; ++i) {
      citylink::v1::SensorReading r;
      r.set_sensor_id("sensor-" + std::to_string(i));
      r.set_kind("water_level");
      r.set_value(0.1);
      send(*feed, "sensor.reading", envelope(r));
    }
    std::this_thread::sleep_until(begin + std::chrono::seconds(s));
    rss_mb[s] = citylink::bench::rss_kb() / 1024.0;
    if (s % 10 == 0 || s == seconds) {
      const auto snap = engine->snapshot();
      std::printf("%6d  %6.1f  %21zu  %11zu  %15ld\n", s, rss_mb[s], snap ? snap->incidents.size() : 0,
                  snap ? snap->grants.size() : 0, grants_received.load());
      std::fflush(stdout);
    }
  }
  draining = false;
  drain.join();
  host.router().remove_sink("soak-sink");
  feed->close();
  host.stop();

  auto mean = [&](int from, int to) {
    double sum = 0;
    for (int s = from; s <= to; ++s) sum += rss_mb[s];
    return sum / (to - from + 1);
  };
  const int third = seconds / 3;
  const double middle = mean(third + 1, 2 * third), last = mean(2 * third + 1, seconds);
  std::printf("RSS: middle third %.1f MB, last third %.1f MB: %+.1f %%\n", middle, last, (last / middle - 1) * 100);
  return 0;
}
