// The camera registry on small hand-laid layouts: radius and nearest queries with
// expected ids and order, liveness (offline, stale), PTZ heading and coverage, the
// look-ahead query, moves and removals, and bad input.
//
// Layouts are built with ref::offset (a spherical approximation); nominal distances are
// chosen at least 10 % apart so the ~0.5 % sphere/spheroid difference can never reorder
// them, and distances are checked against the independent haversine with 0.5 %.
#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/geo.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "reference_geo.hpp"

using citylink::platform::CameraHit;
using citylink::platform::CameraRecord;
using citylink::platform::CameraRegistry;
namespace geo = citylink::platform::geo;
namespace ref = citylink::test::ref;
namespace v1 = citylink::v1;

namespace {

using ref::kLat;
using ref::kLon;
using ref::kNaN;
using ref::kSec;
constexpr int64_t kT0 = 1'800'000'000 * kSec;

v1::CameraInfo info(const std::string& id, double lat, double lon, double heading = 0, double fov = 90,
                    double range = 100, bool ptz = false, v1::CameraState st = v1::CAMERA_STATE_ONLINE) {
  v1::CameraInfo c;
  c.set_camera_id(id);
  c.set_name("Camera " + id);
  c.mutable_position()->set_lat(lat);
  c.mutable_position()->set_lon(lon);
  c.set_heading_deg(heading);
  c.set_field_of_view_deg(fov);
  c.set_range_m(range);
  c.set_ptz_capable(ptz);
  c.set_stream_uri("rtsp://vms.test/" + id);
  c.set_status(st);
  c.set_owner("Seoul Metropolitan Government");
  c.set_purpose("crime-prevention");
  return c;
}

// A camera `north_m` / `east_m` from City Hall.
v1::CameraInfo at(const std::string& id, double north_m, double east_m, double heading = 0, double fov = 90,
                  double range = 100, bool ptz = false) {
  auto [lat, lon] = ref::offset(kLat, kLon, north_m, east_m);
  return info(id, lat, lon, heading, fov, range, ptz);
}

v1::CameraStatus status(const std::string& id, v1::CameraState st, double heading = 0) {
  v1::CameraStatus s;
  s.set_camera_id(id);
  s.set_status(st);
  s.set_heading_deg(heading);
  return s;
}

std::vector<std::string> ids(const std::vector<CameraHit>& hits) {
  std::vector<std::string> v;
  for (const auto& h : hits) v.push_back(h.camera.camera_id);
  return v;
}

using Ids = std::vector<std::string>;

// Nine cameras around City Hall at distinct distances:
//   a 30 m E, b 60 m N, c 90 m W, d 120 m S, e 141 m NE, f 200 m E, g 250 m S,
//   h 424 m NE, i 600 m E.
void lay_out(CameraRegistry& r) {
  const struct {
    const char* id;
    double n, e;
  } cams[] = {{"a", 0, 30},     {"b", 60, 0},    {"c", 0, -90},   {"d", -120, 0}, {"e", 100, 100},
              {"f", 0, 200},    {"g", -250, 0},  {"h", 300, 300}, {"i", 0, 600}};
  for (const auto& c : cams) ASSERT_EQ(r.upsert(at(c.id, c.n, c.e), kT0), "") << c.id;
}

void expect_distances_independent(const std::vector<CameraHit>& hits, double lat, double lon) {
  for (const auto& h : hits) {
    const double want = ref::haversine_m(lat, lon, h.camera.lat, h.camera.lon);
    EXPECT_NEAR(h.distance_m, want, 0.005 * want + 1e-6) << h.camera.camera_id;
  }
}

}  // namespace

TEST(CameraRegistry, UpsertAndFindKeepEveryField) {
  CameraRegistry r;
  EXPECT_EQ(r.size(), 0u);
  ASSERT_EQ(r.upsert(info("cam-1", kLat, kLon, -90, 60, 80, true), kT0), "");
  EXPECT_EQ(r.size(), 1u);
  const auto c = r.find("cam-1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->camera_id, "cam-1");
  EXPECT_EQ(c->name, "Camera cam-1");
  EXPECT_EQ(c->stream_uri, "rtsp://vms.test/cam-1");
  EXPECT_EQ(c->owner, "Seoul Metropolitan Government");
  EXPECT_EQ(c->purpose, "crime-prevention");
  EXPECT_DOUBLE_EQ(c->lat, kLat);
  EXPECT_DOUBLE_EQ(c->lon, kLon);
  EXPECT_DOUBLE_EQ(c->heading_deg, 270);  // normalised
  EXPECT_DOUBLE_EQ(c->fov_deg, 60);
  EXPECT_DOUBLE_EQ(c->range_m, 80);
  EXPECT_TRUE(c->ptz);
  EXPECT_EQ(c->state, v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(c->last_seen_ns, kT0);
  EXPECT_FALSE(r.find("cam-2"));
}

TEST(CameraRegistry, WithinReturnsNearestFirstInsideTheRadius) {
  CameraRegistry r;
  lay_out(r);
  const auto hits = r.within(kLat, kLon, 300, 100, kT0);
  EXPECT_EQ(ids(hits), (Ids{"a", "b", "c", "d", "e", "f", "g"}));  // h (424 m) and i (600 m) are outside
  expect_distances_independent(hits, kLat, kLon);
  for (std::size_t i = 1; i < hits.size(); ++i) EXPECT_LE(hits[i - 1].distance_m, hits[i].distance_m);
  EXPECT_EQ(ids(r.within(kLat, kLon, 300, 3, kT0)), (Ids{"a", "b", "c"}));       // capped at max_count
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0)), (Ids{"a", "b", "c"}));      // 90 m in, 120 m out
  EXPECT_EQ(ids(r.within(kLat, kLon, 10, 10, kT0)), Ids{});
  EXPECT_EQ(ids(r.within(kLat, kLon, 1000, 0, kT0)), Ids{});
  EXPECT_EQ(ids(r.within(kLat, kLon, 1000, 100, kT0)).size(), 9u);
}

TEST(CameraRegistry, WithinIsInclusiveOfTheRadius) {
  CameraRegistry r;
  lay_out(r);
  const double d_f = r.within(kLat, kLon, 1000, 100, kT0)[5].distance_m;  // f, ~200 m
  EXPECT_EQ(ids(r.within(kLat, kLon, d_f, 100, kT0)).back(), "f");
  EXPECT_EQ(ids(r.within(kLat, kLon, std::nextafter(d_f, 0.0), 100, kT0)).back(), "e");
}

TEST(CameraRegistry, NearestHasNoRadiusLimit) {
  CameraRegistry r;
  lay_out(r);
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 3, kT0)), (Ids{"a", "b", "c"}));
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 100, kT0)), (Ids{"a", "b", "c", "d", "e", "f", "g", "h", "i"}));
  // From 500 m east: i (100 m), f (300 m), h (361 m: 300 N, 200 W), e (412 m), a (470 m).
  auto [qlat, qlon] = ref::offset(kLat, kLon, 0, 500);
  const auto hits = r.nearest(qlat, qlon, 5, kT0);
  EXPECT_EQ(ids(hits), (Ids{"i", "f", "h", "e", "a"}));
  expect_distances_independent(hits, qlat, qlon);
  // From far away (Busan, ~325 km to the south-east, bearing ~145 degrees) the cameras
  // furthest along that direction come first: i (600 m E), g (250 m S), f (200 m E).
  EXPECT_EQ(ids(r.nearest(35.1796, 129.0756, 3, kT0)), (Ids{"i", "g", "f"}));
  EXPECT_TRUE(r.nearest(kLat, kLon, 0, kT0).empty());
  EXPECT_TRUE(CameraRegistry().nearest(kLat, kLon, 5, kT0).empty());
}

TEST(CameraRegistry, OfflineCamerasAreExcludedAndReturn) {
  CameraRegistry r;
  lay_out(r);
  ASSERT_TRUE(r.update_status(status("b", v1::CAMERA_STATE_OFFLINE), kT0 + kSec));
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + kSec)), (Ids{"a", "c"}));
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 2, kT0 + kSec)), (Ids{"a", "c"}));
  EXPECT_FALSE(r.is_live(*r.find("b"), kT0 + kSec));
  EXPECT_EQ(r.live_count(kT0 + kSec), 8u);
  EXPECT_EQ(r.size(), 9u);  // still known
  // A bare heartbeat (state unspecified) keeps it offline.
  ASSERT_TRUE(r.update_status(status("b", v1::CAMERA_STATE_UNSPECIFIED), kT0 + 2 * kSec));
  EXPECT_EQ(r.find("b")->state, v1::CAMERA_STATE_OFFLINE);
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + 2 * kSec)), (Ids{"a", "c"}));
  // Degraded video is still video: degraded cameras are live.
  ASSERT_TRUE(r.update_status(status("b", v1::CAMERA_STATE_DEGRADED), kT0 + 3 * kSec));
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + 3 * kSec)), (Ids{"a", "b", "c"}));
  ASSERT_TRUE(r.update_status(status("b", v1::CAMERA_STATE_OFFLINE), kT0 + 4 * kSec));
  ASSERT_TRUE(r.update_status(status("b", v1::CAMERA_STATE_ONLINE), kT0 + 5 * kSec));
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + 5 * kSec)), (Ids{"a", "b", "c"}));
}

TEST(CameraRegistry, AnnouncedOfflineOrUnspecifiedState) {
  CameraRegistry r;
  ASSERT_EQ(r.upsert(info("off", kLat, kLon, 0, 90, 100, false, v1::CAMERA_STATE_OFFLINE), kT0), "");
  ASSERT_EQ(r.upsert(info("unspec", kLat, kLon + 0.001, 0, 90, 100, false, v1::CAMERA_STATE_UNSPECIFIED), kT0), "");
  // A camera announced without a state is presumed working (staleness catches dead ones).
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 5, kT0)), Ids{"unspec"});
}

TEST(CameraRegistry, StaleCamerasAreExcludedUntilHeardFromAgain) {
  CameraRegistry r(CameraRegistry::Options{60 * kSec});
  lay_out(r);
  const int64_t t1 = kT0 + 30 * kSec;
  ASSERT_TRUE(r.update_status(status("c", v1::CAMERA_STATE_ONLINE), t1));  // c heard from at t1
  // Exactly at the limit: still live. One nanosecond later: stale.
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + 60 * kSec)), (Ids{"a", "b", "c"}));
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + 60 * kSec + 1)), Ids{"c"});
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 9, kT0 + 61 * kSec)), Ids{"c"});
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, t1 + 61 * kSec)), Ids{});
  EXPECT_EQ(r.size(), 9u);
  // A heartbeat revives a, a re-announcement revives b.
  const int64_t t2 = kT0 + 200 * kSec;
  ASSERT_TRUE(r.update_status(status("a", v1::CAMERA_STATE_UNSPECIFIED), t2));
  ASSERT_EQ(r.upsert(at("b", 60, 0), t2), "");
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, t2)), (Ids{"a", "b"}));
  // A query clock behind the last sighting (skew) does not make a camera stale.
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 - 1000 * kSec)), (Ids{"a", "b", "c"}));
}

// Review H8: cameras were never forgotten, so made-up ids stayed for the life of the process.
TEST(CameraRegistry, CamerasUnheardFromSinceTheCutoffAreForgottenAFewSlotsAtATime) {
  CameraRegistry r;
  lay_out(r);  // 9 cameras at kT0
  const int64_t t1 = kT0 + 100 * kSec;
  ASSERT_TRUE(r.update_status(status("c", v1::CAMERA_STATE_ONLINE), t1));
  ASSERT_EQ(r.upsert(at("b", 60, 0), t1), "");
  // Four slots a call: three calls see every slot once, whatever the cursor wrapped past.
  std::vector<std::string> gone;
  for (int call = 0; call < 3; ++call)
    for (const auto& rec : r.forget_unseen(kT0 + 1, 4)) gone.push_back(rec.camera_id);
  std::sort(gone.begin(), gone.end());
  EXPECT_EQ(gone.size(), 7u);
  EXPECT_EQ(std::count(gone.begin(), gone.end(), "b") + std::count(gone.begin(), gone.end(), "c"), 0);
  EXPECT_EQ(r.size(), 2u);
  EXPECT_FALSE(r.find("a").has_value());
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 9, t1)), (Ids{"b", "c"}));  // the index forgot them too
  // A forgotten id may be announced again, in a freed slot.
  ASSERT_EQ(r.upsert(at("a", 10, 0), t1), "");
  EXPECT_EQ(ids(r.nearest(kLat, kLon, 1, t1)), Ids{"a"});
  EXPECT_TRUE(r.forget_unseen(kT0 + 1, 100).empty());
}

TEST(CameraRegistry, StaleRuleCanBeDisabled) {
  CameraRegistry r(CameraRegistry::Options{0});
  lay_out(r);
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0 + 365LL * 24 * 3600 * kSec)), (Ids{"a", "b", "c"}));
}

TEST(CameraRegistry, MovingAndRemovingUpdateTheIndex) {
  CameraRegistry r;
  lay_out(r);
  // a moves from 30 m E to 1000 m N.
  ASSERT_EQ(r.upsert(at("a", 1000, 0), kT0), "");
  EXPECT_EQ(r.size(), 9u);
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0)), (Ids{"b", "c"}));
  auto [nlat, nlon] = ref::offset(kLat, kLon, 1000, 0);
  EXPECT_EQ(ids(r.within(nlat, nlon, 50, 10, kT0)), Ids{"a"});
  // Re-announcing in place with a new heading keeps one entry.
  ASSERT_EQ(r.upsert(at("a", 1000, 0, 180), kT0), "");
  EXPECT_EQ(ids(r.nearest(nlat, nlon, 2, kT0)), (Ids{"a", "h"}));
  EXPECT_DOUBLE_EQ(r.find("a")->heading_deg, 180);
  EXPECT_TRUE(r.remove("b"));
  EXPECT_FALSE(r.remove("b"));
  EXPECT_FALSE(r.find("b"));
  EXPECT_EQ(r.size(), 8u);
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0)), Ids{"c"});
  // The freed slot is reused correctly.
  ASSERT_EQ(r.upsert(at("z", 10, 0), kT0), "");
  EXPECT_EQ(ids(r.within(kLat, kLon, 100, 10, kT0)), (Ids{"z", "c"}));
}

TEST(CameraRegistry, StatusHeadingMovesAPtzCameraAndItsCoverage) {
  CameraRegistry r;
  ASSERT_EQ(r.upsert(info("ptz", kLat, kLon, 0, 90, 100, true), kT0), "");
  ASSERT_EQ(r.upsert(info("fixed", kLat, kLon + 0.00001, 0, 90, 100, false), kT0), "");
  auto [slat, slon] = ref::offset(kLat, kLon, -50, 0);  // 50 m south
  EXPECT_TRUE(r.covering(slat, slon, 200, 10, kT0).empty());
  auto hits = r.within(slat, slon, 200, 10, kT0);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_FALSE(hits[0].covers);
  EXPECT_FALSE(hits[1].covers);
  // Both report heading 180; only the PTZ camera can turn.
  ASSERT_TRUE(r.update_status(status("ptz", v1::CAMERA_STATE_ONLINE, 180), kT0 + kSec));
  ASSERT_TRUE(r.update_status(status("fixed", v1::CAMERA_STATE_ONLINE, 180), kT0 + kSec));
  EXPECT_DOUBLE_EQ(r.find("ptz")->heading_deg, 180);
  EXPECT_DOUBLE_EQ(r.find("fixed")->heading_deg, 0);
  EXPECT_EQ(ids(r.covering(slat, slon, 200, 10, kT0 + kSec)), Ids{"ptz"});
  // A pose of -90 is west, normalised.
  ASSERT_TRUE(r.update_status(status("ptz", v1::CAMERA_STATE_ONLINE, -90), kT0 + 2 * kSec));
  EXPECT_DOUBLE_EQ(r.find("ptz")->heading_deg, 270);
  EXPECT_TRUE(r.covering(slat, slon, 200, 10, kT0 + 2 * kSec).empty());
  // A non-finite pose is ignored, the heartbeat still counts.
  ASSERT_TRUE(r.update_status(status("ptz", v1::CAMERA_STATE_ONLINE, kNaN), kT0 + 3 * kSec));
  EXPECT_DOUBLE_EQ(r.find("ptz")->heading_deg, 270);
  EXPECT_EQ(r.find("ptz")->last_seen_ns, kT0 + 3 * kSec);
}

TEST(CameraRegistry, UnknownCameraStatusIsRefused) {
  CameraRegistry r;
  EXPECT_FALSE(r.update_status(status("ghost", v1::CAMERA_STATE_ONLINE), kT0));
  EXPECT_FALSE(r.update_status(status("", v1::CAMERA_STATE_ONLINE), kT0));
  EXPECT_EQ(r.size(), 0u);
}

TEST(CameraRegistry, CoverageConeOfANorthFacingCamera) {
  CameraRegistry r;
  ASSERT_EQ(r.upsert(info("n", kLat, kLon, 0, 90, 100), kT0), "");
  auto [nlat, nlon] = ref::offset(kLat, kLon, 50, 0);
  auto [slat, slon] = ref::offset(kLat, kLon, -50, 0);
  auto [flat, flon] = ref::offset(kLat, kLon, 150, 0);
  EXPECT_TRUE(CameraRegistry::covers(*r.find("n"), nlat, nlon));
  EXPECT_EQ(ids(r.covering(nlat, nlon, 500, 10, kT0)), Ids{"n"});
  EXPECT_TRUE(r.covering(slat, slon, 500, 10, kT0).empty());  // behind the camera
  EXPECT_TRUE(r.covering(flat, flon, 500, 10, kT0).empty());  // beyond its 100 m range
  // within() reports coverage too.
  EXPECT_TRUE(r.within(nlat, nlon, 500, 1, kT0)[0].covers);
  EXPECT_FALSE(r.within(slat, slon, 500, 1, kT0)[0].covers);
  EXPECT_FALSE(r.within(flat, flon, 500, 1, kT0)[0].covers);
}

TEST(CameraRegistry, CoveringPicksOnlyCamerasLookingAtThePoint) {
  CameraRegistry r;
  // Around a point P: cameras at various places, some facing P, some not.
  //  s1: 40 m south of P, facing north (covers)          s2: 70 m east, facing west (covers)
  //  s3: 20 m north, facing north (looks away)            s4: 90 m west, facing east, range 50 (too short)
  //  s5: 150 m south, facing north, range 200 (covers)    s6: 60 m north, facing south, offline (covers)
  //  s7: 30 m west, 360-degree camera (covers)            s8: 10 m east, fov/range unknown (no claim)
  ASSERT_EQ(r.upsert(at("s1", -40, 0, 0, 60, 100), kT0), "");
  ASSERT_EQ(r.upsert(at("s2", 0, 70, 270, 60, 100), kT0), "");
  ASSERT_EQ(r.upsert(at("s3", 20, 0, 0, 60, 100), kT0), "");
  ASSERT_EQ(r.upsert(at("s4", 0, -90, 90, 60, 50), kT0), "");
  ASSERT_EQ(r.upsert(at("s5", -150, 0, 0, 30, 200), kT0), "");
  ASSERT_EQ(r.upsert(at("s6", 60, 0, 180, 60, 100), kT0), "");
  ASSERT_EQ(r.upsert(at("s7", 0, -30, 0, 360, 50), kT0), "");
  ASSERT_EQ(r.upsert(at("s8", 0, 10, 0, 0, 0), kT0), "");
  ASSERT_TRUE(r.update_status(status("s6", v1::CAMERA_STATE_OFFLINE), kT0));
  const auto hits = r.covering(kLat, kLon, 500, 10, kT0);
  EXPECT_EQ(ids(hits), (Ids{"s7", "s1", "s2", "s5"}));
  for (const auto& h : hits) EXPECT_TRUE(h.covers);
  expect_distances_independent(hits, kLat, kLon);
  EXPECT_EQ(ids(r.covering(kLat, kLon, 500, 2, kT0)), (Ids{"s7", "s1"}));
  EXPECT_EQ(ids(r.covering(kLat, kLon, 100, 10, kT0)), (Ids{"s7", "s1", "s2"}));  // s5 beyond the search radius
}

TEST(CameraRegistry, AheadFollowsTheTargetHeading) {
  CameraRegistry r;
  // Target at City Hall heading east (90).
  ASSERT_EQ(r.upsert(at("east100", 0, 100), kT0), "");
  ASSERT_EQ(r.upsert(at("ne150", 96.42, 114.91), kT0), "");     // bearing 50, 150 m
  ASSERT_EQ(r.upsert(at("se200", -68.4, 187.9), kT0), "");      // bearing 110, 200 m
  ASSERT_EQ(r.upsert(at("north80", 80, 0), kT0), "");
  ASSERT_EQ(r.upsert(at("west50", 0, -50), kT0), "");
  ASSERT_EQ(r.upsert(at("east400", 0, 400), kT0), "");          // beyond 300 m
  ASSERT_EQ(r.upsert(at("here", 0, 0), kT0), "");               // at the target: no bearing
  ASSERT_EQ(r.upsert(at("east250off", 0, 250), kT0), "");
  ASSERT_TRUE(r.update_status(status("east250off", v1::CAMERA_STATE_OFFLINE), kT0));
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 90, 300, 30, 10, kT0)), (Ids{"east100", "se200"}));
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 90, 300, 50, 10, kT0)), (Ids{"east100", "ne150", "se200"}));
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 90, 300, 50, 2, kT0)), (Ids{"east100", "ne150"}));
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 90, 1000, 10, 10, kT0)), (Ids{"east100", "east400"}));
  // Heading -270 is east as well; heading north ±60 finds north80 and ne150.
  EXPECT_EQ(ids(r.ahead(kLat, kLon, -270, 300, 30, 10, kT0)), (Ids{"east100", "se200"}));
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 0, 300, 60, 10, kT0)), (Ids{"north80", "ne150"}));
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 0, 300, 45, 10, kT0)), Ids{"north80"});
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 270, 300, 45, 10, kT0)), Ids{"west50"});
  // half angle >= 180: everything around (except the camera standing on the target).
  EXPECT_EQ(ids(r.ahead(kLat, kLon, 0, 300, 180, 10, kT0)),
            (Ids{"west50", "north80", "east100", "ne150", "se200"}));
  const auto hits = r.ahead(kLat, kLon, 90, 300, 50, 10, kT0);
  expect_distances_independent(hits, kLat, kLon);
  for (const auto& h : hits)
    EXPECT_LE(geo::angle_between_deg(ref::bearing_deg(kLat, kLon, h.camera.lat, h.camera.lon), 90), 50.5);
  EXPECT_TRUE(r.ahead(kLat, kLon, kNaN, 300, 30, 10, kT0).empty());
  EXPECT_TRUE(r.ahead(kLat, kLon, 90, 300, -1, 10, kT0).empty());
}

TEST(CameraRegistry, BadCameraInfoIsRejectedWithAReason) {
  CameraRegistry r;
  auto expect_reject = [&](const v1::CameraInfo& c, const std::string& needle) {
    const std::string why = r.upsert(c, kT0);
    EXPECT_NE(why.find(needle), std::string::npos) << "reason was: '" << why << "'";
    EXPECT_EQ(CameraRegistry::validate(c), why);
  };
  expect_reject(info("", kLat, kLon), "camera_id is empty");
  expect_reject(info(std::string(300, 'x'), kLat, kLon), "bytes long");
  expect_reject(info("bad\nid", kLat, kLon), "control character");
  expect_reject(info("nan", kNaN, kLon), "not a number");
  expect_reject(info("nan2", kLat, kNaN), "not a number");
  expect_reject(info("inf", std::numeric_limits<double>::infinity(), kLon), "not a number");
  expect_reject(info("lat91", 91, kLon), "outside WGS84 range");
  expect_reject(info("lon181", kLat, 181), "outside WGS84 range");
  expect_reject(info("null", 0, 0), "null island");
  v1::CameraInfo nopos = info("nopos", kLat, kLon);
  nopos.clear_position();
  expect_reject(nopos, "no position");
  expect_reject(info("h", kLat, kLon, kNaN), "heading_deg");
  expect_reject(info("fov", kLat, kLon, 0, 400), "field_of_view_deg");
  expect_reject(info("fov2", kLat, kLon, 0, -1), "field_of_view_deg");
  expect_reject(info("range", kLat, kLon, 0, 90, -5), "range_m");
  expect_reject(info("range2", kLat, kLon, 0, 90, kNaN), "range_m");
  v1::CameraInfo badstate = info("state", kLat, kLon);
  badstate.set_status(static_cast<v1::CameraState>(42));
  expect_reject(badstate, "unknown status");
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.nearest(kLat, kLon, 10, kT0).empty());
  // A rejected update leaves the existing camera untouched.
  ASSERT_EQ(r.upsert(info("ok", kLat, kLon), kT0), "");
  EXPECT_NE(r.upsert(info("ok", 91, kLon), kT0), "");
  EXPECT_DOUBLE_EQ(r.find("ok")->lat, kLat);
  // Edges of the valid range are fine.
  EXPECT_EQ(r.upsert(info("pole", 90, 0), kT0), "");
  EXPECT_EQ(r.upsert(info("dateline", 0, -180), kT0), "");
  EXPECT_EQ(r.upsert(info("allround", kLat, kLon, 0, 360, 0), kT0), "");
}

TEST(CameraRegistry, BadQueriesReturnNothing) {
  CameraRegistry r;
  lay_out(r);
  EXPECT_TRUE(r.within(kNaN, kLon, 500, 5, kT0).empty());
  EXPECT_TRUE(r.within(91, kLon, 500, 5, kT0).empty());
  EXPECT_TRUE(r.within(kLat, 200, 500, 5, kT0).empty());
  EXPECT_TRUE(r.within(kLat, kLon, kNaN, 5, kT0).empty());
  EXPECT_TRUE(r.within(kLat, kLon, -1, 5, kT0).empty());
  EXPECT_TRUE(r.nearest(kLat, kNaN, 5, kT0).empty());
  EXPECT_TRUE(r.covering(kNaN, kLon, 500, 5, kT0).empty());
  // An infinite radius is a plain nearest query.
  EXPECT_EQ(ids(r.within(kLat, kLon, std::numeric_limits<double>::infinity(), 2, kT0)), (Ids{"a", "b"}));
}

// The index lives on the unit sphere, so the antimeridian and the poles are not edges.
TEST(CameraRegistry, AntimeridianAndPolesAreNotEdges) {
  CameraRegistry r;
  ASSERT_EQ(r.upsert(info("west-side", 0, 179.9995), kT0), "");   // ~56 m west of the dateline
  ASSERT_EQ(r.upsert(info("east-side", 0, -179.999), kT0), "");   // ~111 m east of it
  ASSERT_EQ(r.upsert(info("far", 0, 179.99), kT0), "");           // ~1.1 km west
  const auto hits = r.within(0, 180, 500, 10, kT0);
  EXPECT_EQ(ids(hits), (Ids{"west-side", "east-side"}));
  expect_distances_independent(hits, 0, 180);
  EXPECT_EQ(ids(r.nearest(0, -180, 3, kT0)), (Ids{"west-side", "east-side", "far"}));
  // Around the north pole every longitude is near.
  ASSERT_EQ(r.upsert(info("p1", 89.999, 0), kT0), "");
  ASSERT_EQ(r.upsert(info("p2", 89.999, 180), kT0), "");
  ASSERT_EQ(r.upsert(info("p3", 89.99, 90), kT0), "");
  EXPECT_EQ(ids(r.within(90, 0, 500, 10, kT0)).size(), 2u);
  EXPECT_EQ(ids(r.nearest(89.9995, -90, 3, kT0)).back(), "p3");
}

// Readers and a writer at once: no crash, no torn results (run under the sanitizer build).
TEST(CameraRegistry, ConcurrentReadersAndWriter) {
  CameraRegistry r;
  lay_out(r);
  std::atomic<long> queries{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      for (int n = 0; n < 2000; ++n) {
        const auto hits = r.within(kLat, kLon, 300, 10, kT0);
        for (std::size_t i = 1; i < hits.size(); ++i) EXPECT_LE(hits[i - 1].distance_m, hits[i].distance_m);
        EXPECT_LE(r.nearest(kLat, kLon, 5, kT0).size(), 5u);
        ++queries;
      }
    });
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(r.upsert(at("w" + std::to_string(i % 50), (i % 37) * 5.0, (i % 23) * 7.0), kT0), "");
    r.update_status(status("a", i % 2 ? v1::CAMERA_STATE_OFFLINE : v1::CAMERA_STATE_ONLINE), kT0);
    if (i % 10 == 0) r.remove("w" + std::to_string((i / 10) % 50));
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(queries.load(), 4000);
}
