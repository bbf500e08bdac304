// Camera registry query latency: 100,000 cameras laid over a ~30 km x 30 km city
// (centred on Seoul City Hall), random query points inside the city.
// CITYLINK_BENCH_CAMERAS=1000000 lays that many instead (issue 12: nearest-5 at 1 M).
//
//   BM_Within500mNearest5  within(p, 500 m, max 5)  — the 112 emergency-video query
//   BM_Nearest5            nearest(p, 5)            — dispatch support
//   BM_Covering300m        covering(p, 300 m, max 5) — disaster (cameras looking at a point)
//   BM_Ahead800m           ahead(p, heading, 800 m, ±30°, max 5) — CCTV tracking
//   BM_DistanceM           one geo::distance_m (Vincenty) at city scale
//   BM_UpsertMove          moving one camera (R-tree remove + insert)
//
// Each benchmark runs 5 repetitions; the aggregate rows (mean, median, stddev, cv) are
// what docs/camera-registry.md quotes. Time per iteration = one query, including copying
// the CameraHit results out. The two headline benchmarks also time every query and
// report the per-query p50_us / p99_us counters.
#include <benchmark/benchmark.h>
#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/geo.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr double kLat = 37.5663, kLon = 126.9779;
constexpr double kR = 6371008.8, kD = std::numbers::pi / 180;
constexpr int64_t kNow = 1'800'000'000'000'000'000;
int camera_count() {
  const char* n = std::getenv("CITYLINK_BENCH_CAMERAS");
  return n && std::atoi(n) > 0 ? std::atoi(n) : 100'000;
}
constexpr double kHalfSide = 15'000;  // metres

std::pair<double, double> offset(double north_m, double east_m) {
  return {kLat + north_m / kR / kD, kLon + east_m / (kR * std::cos(kLat * kD)) / kD};
}

citylink::platform::CameraRegistry& city() {
  static citylink::platform::CameraRegistry* r = [] {
    auto* reg = new citylink::platform::CameraRegistry;
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> off(-kHalfSide, kHalfSide), u(0, 1);
    const int cameras = camera_count();
    for (int i = 0; i < cameras; ++i) {
      citylink::v1::CameraInfo c;
      char id[16];
      std::snprintf(id, sizeof id, "cam-%07d", i);
      c.set_camera_id(id);
      c.set_name(std::string("Camera ") + id);
      const auto [lat, lon] = offset(off(rng), off(rng));
      c.mutable_position()->set_lat(lat);
      c.mutable_position()->set_lon(lon);
      c.set_heading_deg(360 * u(rng));
      c.set_field_of_view_deg(60 + 60 * u(rng));
      c.set_range_m(50 + 100 * u(rng));
      c.set_ptz_capable(u(rng) < 0.2);
      c.set_stream_uri(std::string("rtsp://vms.seoul.example/live/") + id);
      c.set_owner("Seoul Metropolitan Government");
      c.set_purpose("crime-prevention");
      // 5 % offline: they are in the tree and must be skipped by the queries.
      c.set_status(u(rng) < 0.05 ? citylink::v1::CAMERA_STATE_OFFLINE : citylink::v1::CAMERA_STATE_ONLINE);
      reg->upsert(c, kNow);
    }
    return reg;
  }();
  return *r;
}

std::vector<std::pair<double, double>> queries() {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> off(-kHalfSide, kHalfSide);
  std::vector<std::pair<double, double>> q(4096);
  for (auto& p : q) p = offset(off(rng), off(rng));
  return q;
}

// Per-query latency percentiles (each query timed with steady_clock; ~20 ns overhead).
struct Latencies {
  std::vector<double> us;
  template <class F>
  auto time(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = f();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    return r;
  }
  void report(benchmark::State& s) {
    if (us.empty()) return;
    std::sort(us.begin(), us.end());
    s.counters["p50_us"] = us[us.size() / 2];
    s.counters["p99_us"] = us[us.size() * 99 / 100];
  }
};

void BM_Within500mNearest5(benchmark::State& s) {
  auto& r = city();
  const auto q = queries();
  Latencies lat_us;
  std::size_t i = 0, found = 0;
  for (auto _ : s) {
    const auto& [lat, lon] = q[i++ & 4095];
    auto hits = lat_us.time([&] { return r.within(lat, lon, 500, 5, kNow); });
    found += hits.size();
    benchmark::DoNotOptimize(hits);
  }
  s.counters["hits_per_query"] = static_cast<double>(found) / static_cast<double>(s.iterations());
  lat_us.report(s);
}
BENCHMARK(BM_Within500mNearest5)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

void BM_Nearest5(benchmark::State& s) {
  auto& r = city();
  const auto q = queries();
  Latencies lat_us;
  std::size_t i = 0;
  for (auto _ : s) {
    const auto& [lat, lon] = q[i++ & 4095];
    auto hits = lat_us.time([&] { return r.nearest(lat, lon, 5, kNow); });
    benchmark::DoNotOptimize(hits);
  }
  lat_us.report(s);
}
BENCHMARK(BM_Nearest5)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

void BM_Covering300m(benchmark::State& s) {
  auto& r = city();
  const auto q = queries();
  std::size_t i = 0, found = 0;
  for (auto _ : s) {
    const auto& [lat, lon] = q[i++ & 4095];
    auto hits = r.covering(lat, lon, 300, 5, kNow);
    found += hits.size();
    benchmark::DoNotOptimize(hits);
  }
  s.counters["hits_per_query"] = static_cast<double>(found) / static_cast<double>(s.iterations());
}
BENCHMARK(BM_Covering300m)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

void BM_Ahead800m(benchmark::State& s) {
  auto& r = city();
  const auto q = queries();
  std::size_t i = 0;
  for (auto _ : s) {
    const auto& [lat, lon] = q[i & 4095];
    auto hits = r.ahead(lat, lon, static_cast<double>((i * 37) % 360), 800, 30, 5, kNow);
    ++i;
    benchmark::DoNotOptimize(hits);
  }
}
BENCHMARK(BM_Ahead800m)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

void BM_DistanceM(benchmark::State& s) {
  const auto q = queries();
  std::size_t i = 0;
  for (auto _ : s) {
    const auto& [lat1, lon1] = q[i & 4095];
    const auto& [lat2, lon2] = q[(i + 1) & 4095];
    ++i;
    benchmark::DoNotOptimize(citylink::platform::geo::distance_m(lat1, lon1, lat2, lon2));
  }
}
BENCHMARK(BM_DistanceM)->Repetitions(5)->ReportAggregatesOnly(true);

void BM_UpsertMove(benchmark::State& s) {
  auto& r = city();
  const auto q = queries();
  citylink::v1::CameraInfo c;
  c.set_camera_id("cam-moving");
  c.set_field_of_view_deg(90);
  c.set_range_m(100);
  c.set_status(citylink::v1::CAMERA_STATE_ONLINE);
  std::size_t i = 0;
  for (auto _ : s) {
    const auto& [lat, lon] = q[i++ & 4095];
    c.mutable_position()->set_lat(lat);
    c.mutable_position()->set_lon(lon);
    benchmark::DoNotOptimize(r.upsert(c, kNow));
  }
  r.remove("cam-moving");
}
BENCHMARK(BM_UpsertMove)->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
