// 100,000 cameras over a ~30 km city: every query must return exactly what a brute-force
// scan over all cameras returns (same ids, same order, same distances).
//
// The brute force uses the same geodesic functions (geo::distance_m, geo::bearing_deg,
// geo::in_view_cone) as the registry: this test is about the index never missing or
// misordering a camera, not about the distance formula (geo_math_test.cpp covers that,
// and the distances are cross-checked against the independent haversine here as well).
#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/geo.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "reference_geo.hpp"

using citylink::platform::CameraHit;
using citylink::platform::CameraRegistry;
namespace geo = citylink::platform::geo;
namespace ref = citylink::test::ref;
namespace v1 = citylink::v1;

namespace {

using ref::kLat;
using ref::kLon;
using ref::kSec;
constexpr int64_t kNow = 1'800'000'000 * kSec;
constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

struct Cam {
  std::string id;
  double lat, lon, heading, fov, range;
  v1::CameraState state;
  int64_t seen;
};

struct Brute {
  double d;
  const Cam* cam;
};

class CameraRegistryRandom : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::mt19937_64 rng(20260115);
    std::uniform_real_distribution<double> off(-15000, 15000), u(0, 1), head(0, 360);
    cams_ = new std::vector<Cam>;
    registry_ = new CameraRegistry;
    cams_->reserve(100000);
    for (int i = 0; i < 100000; ++i) {
      Cam c;
      char id[16];
      std::snprintf(id, sizeof id, "cam-%06d", i);
      c.id = id;
      if (i > 0 && u(rng) < 0.01) {  // 1 % share a position with another camera (ties)
        const Cam& o = (*cams_)[static_cast<std::size_t>(u(rng) * i)];
        c.lat = o.lat;
        c.lon = o.lon;
      } else {
        std::tie(c.lat, c.lon) = ref::offset(kLat, kLon, off(rng), off(rng));
      }
      c.heading = head(rng);
      c.fov = 30 + 90 * u(rng);
      c.range = 30 + 120 * u(rng);
      const double s = u(rng);
      c.state = s < 0.85 ? v1::CAMERA_STATE_ONLINE
                : s < 0.90 ? v1::CAMERA_STATE_DEGRADED
                : s < 0.95 ? v1::CAMERA_STATE_OFFLINE
                           : v1::CAMERA_STATE_UNSPECIFIED;
      c.seen = u(rng) < 0.1 ? kNow - 600 * kSec : kNow - static_cast<int64_t>(u(rng) * 60) * kSec;  // 10 % stale
      v1::CameraInfo info;
      info.set_camera_id(c.id);
      info.mutable_position()->set_lat(c.lat);
      info.mutable_position()->set_lon(c.lon);
      info.set_heading_deg(c.heading);
      info.set_field_of_view_deg(c.fov);
      info.set_range_m(c.range);
      info.set_status(c.state);
      ASSERT_EQ(registry_->upsert(info, c.seen), "");
      cams_->push_back(std::move(c));
    }
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete cams_;
  }

  // The stale rule written out independently: offline never, otherwise seen within 5 min.
  static bool live(const Cam& c) { return c.state != v1::CAMERA_STATE_OFFLINE && kNow - c.seen <= 300 * kSec; }

  // Every live camera with its distance from (lat, lon), sorted (distance, id).
  static std::vector<Brute> scan(double lat, double lon) {
    std::vector<Brute> v;
    for (const Cam& c : *cams_)
      if (live(c)) v.push_back({geo::distance_m(lat, lon, c.lat, c.lon), &c});
    std::sort(v.begin(), v.end(), [](const Brute& a, const Brute& b) {
      return a.d != b.d ? a.d < b.d : a.cam->id < b.cam->id;
    });
    return v;
  }

  template <class Pred>
  static std::vector<Brute> take(const std::vector<Brute>& all, double radius, std::size_t n, Pred pred) {
    std::vector<Brute> out;
    for (const Brute& b : all) {
      if (out.size() >= n || b.d > radius) break;
      if (pred(b)) out.push_back(b);
    }
    return out;
  }

  static void same(const std::vector<CameraHit>& got, const std::vector<Brute>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].camera.camera_id, want[i].cam->id) << what << " #" << i;
      EXPECT_EQ(got[i].distance_m, want[i].d) << what << " #" << i;
    }
  }

  static std::vector<std::pair<double, double>> query_points() {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> off(-15000, 15000);
    std::vector<std::pair<double, double>> q;
    for (int i = 0; i < 12; ++i) q.push_back(ref::offset(kLat, kLon, off(rng), off(rng)));
    q.push_back(ref::offset(kLat, kLon, 15000, 15000));    // corner of the city
    q.push_back(ref::offset(kLat, kLon, -14990, 3000));    // on the southern edge
    q.push_back(ref::offset(kLat, kLon, 0, 25000));        // 10 km outside
    q.push_back(ref::offset(kLat, kLon, 200000, -50000));  // 200 km away
    q.push_back({(*cams_)[4242].lat, (*cams_)[4242].lon}); // exactly on a camera
    return q;
  }

  static inline std::vector<Cam>* cams_ = nullptr;
  static inline CameraRegistry* registry_ = nullptr;
};

}  // namespace

TEST_F(CameraRegistryRandom, RegistryHoldsEveryCamera) {
  EXPECT_EQ(registry_->size(), 100000u);
  std::size_t live_n = 0;
  for (const Cam& c : *cams_) live_n += live(c);
  EXPECT_EQ(registry_->live_count(kNow), live_n);
}

TEST_F(CameraRegistryRandom, WithinMatchesBruteForce) {
  for (const auto& [lat, lon] : query_points()) {
    const auto all = scan(lat, lon);
    const std::string at = "at " + std::to_string(lat) + "," + std::to_string(lon);
    auto any = [](const Brute&) { return true; };
    same(registry_->within(lat, lon, 500, 5, kNow), take(all, 500, 5, any), "within 500 m / 5 " + at);
    same(registry_->within(lat, lon, 150, 3, kNow), take(all, 150, 3, any), "within 150 m / 3 " + at);
    same(registry_->within(lat, lon, 1500, kAll, kNow), take(all, 1500, kAll, any), "within 1500 m / all " + at);
    same(registry_->within(lat, lon, 800, 100, kNow), take(all, 800, 100, any), "within 800 m / 100 " + at);
    for (const auto& h : registry_->within(lat, lon, 500, 5, kNow)) {
      const double want = ref::haversine_m(lat, lon, h.camera.lat, h.camera.lon);
      EXPECT_NEAR(h.distance_m, want, 0.005 * want + 1e-6);
    }
  }
}

TEST_F(CameraRegistryRandom, NearestMatchesBruteForce) {
  for (const auto& [lat, lon] : query_points()) {
    const auto all = scan(lat, lon);
    const std::string at = "at " + std::to_string(lat) + "," + std::to_string(lon);
    auto any = [](const Brute&) { return true; };
    const double inf = std::numeric_limits<double>::infinity();
    same(registry_->nearest(lat, lon, 1, kNow), take(all, inf, 1, any), "nearest 1 " + at);
    same(registry_->nearest(lat, lon, 5, kNow), take(all, inf, 5, any), "nearest 5 " + at);
    same(registry_->nearest(lat, lon, 40, kNow), take(all, inf, 40, any), "nearest 40 " + at);
    same(registry_->nearest(lat, lon, 300, kNow), take(all, inf, 300, any), "nearest 300 " + at);
  }
}

TEST_F(CameraRegistryRandom, CoveringAndAheadMatchBruteForce) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> head(0, 360);
  for (const auto& [lat, lon] : query_points()) {
    const auto all = scan(lat, lon);
    const std::string at = "at " + std::to_string(lat) + "," + std::to_string(lon);
    auto covers = [&](const Brute& b) {
      return geo::in_view_cone(b.cam->lat, b.cam->lon, b.cam->heading, b.cam->fov, b.cam->range, lat, lon);
    };
    same(registry_->covering(lat, lon, 300, 10, kNow), take(all, 300, 10, covers), "covering " + at);
    same(registry_->covering(lat, lon, 150, 2, kNow), take(all, 150, 2, covers), "covering 2 " + at);
    const double h = head(rng);
    auto in_front = [&](const Brute& b) {
      return b.d >= 0.01 && geo::angle_between_deg(geo::bearing_deg(lat, lon, b.cam->lat, b.cam->lon), h) <= 30 + 1e-9;
    };
    same(registry_->ahead(lat, lon, h, 800, 30, 8, kNow), take(all, 800, 8, in_front), "ahead " + at);
  }
}
