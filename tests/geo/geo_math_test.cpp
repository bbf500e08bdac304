// WGS84 validation, geodesic distance and bearing, view cones.
//
// Expected values come from outside the code under test: closed-form WGS84 constants
// (exact to the millimetre) or the spherical formulas in reference_geo.hpp (0.5 %).
#include <citylink/platform/geo.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "reference_geo.hpp"

namespace geo = citylink::platform::geo;
namespace ref = citylink::test::ref;

namespace {
using ref::kNaN;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Seoul City Hall and Gangnam Station.
constexpr double kHallLat = 37.5663, kHallLon = 126.9779;
constexpr double kGangnamLat = 37.4979, kGangnamLon = 127.0276;
}  // namespace

TEST(GeoValid, AcceptsTheWgs84RangeInclusive) {
  EXPECT_TRUE(geo::valid_wgs84(kHallLat, kHallLon));
  EXPECT_TRUE(geo::valid_wgs84(90, 180));
  EXPECT_TRUE(geo::valid_wgs84(-90, -180));
  EXPECT_TRUE(geo::valid_wgs84(0, 0));
}

TEST(GeoValid, RejectsOutOfRangeAndNonFinite) {
  EXPECT_FALSE(geo::valid_wgs84(91, 0));
  EXPECT_FALSE(geo::valid_wgs84(-90.000001, 0));
  EXPECT_FALSE(geo::valid_wgs84(0, 180.000001));
  EXPECT_FALSE(geo::valid_wgs84(0, -181));
  EXPECT_FALSE(geo::valid_wgs84(kNaN, 0));
  EXPECT_FALSE(geo::valid_wgs84(0, kNaN));
  EXPECT_FALSE(geo::valid_wgs84(kInf, 0));
  EXPECT_FALSE(geo::valid_wgs84(0, -kInf));
}

// Closed-form WGS84 values: the quarter meridian (equator to pole) is 10 001 965.729 m;
// along the equator a degree of longitude is a·π/180 = 111 319.4908 m (a = 6 378 137 m).
// Vincenty is good to well under a millimetre here; 1 cm tolerance.
TEST(GeoDistance, MatchesClosedFormWgs84Lengths) {
  EXPECT_NEAR(geo::distance_m(0, 0, 90, 0), 10001965.729, 0.01);
  EXPECT_NEAR(geo::distance_m(0, 0, 0, 1), 6378137.0 * ref::kD, 0.01);
  EXPECT_NEAR(geo::distance_m(0, 10, 0, 12.5), 2.5 * 6378137.0 * ref::kD, 0.01);
  // Across the antimeridian: 0.001 degree of equator, not 359.999 degrees.
  EXPECT_NEAR(geo::distance_m(0, 179.9995, 0, -179.9995), 0.001 * 6378137.0 * ref::kD, 0.001);
}

// City pairs against an independent haversine on the mean-radius sphere: within 0.5 %.
TEST(GeoDistance, CityPairsAgreeWithHaversine) {
  struct Pair {
    const char* what;
    double lat1, lon1, lat2, lon2;
  } pairs[] = {
      {"Seoul City Hall - Gangnam Station", kHallLat, kHallLon, kGangnamLat, kGangnamLon},
      {"Seoul - Busan", 37.5665, 126.9780, 35.1796, 129.0756},
      {"Seoul - Tokyo", 37.5665, 126.9780, 35.6762, 139.6503},
      {"100 m east in Seoul", kHallLat, kHallLon, kHallLat, kHallLon + 100 / (ref::kR * std::cos(kHallLat * ref::kD)) / ref::kD},
  };
  for (const auto& p : pairs) {
    const double want = ref::haversine_m(p.lat1, p.lon1, p.lat2, p.lon2);
    const double got = geo::distance_m(p.lat1, p.lon1, p.lat2, p.lon2);
    EXPECT_NEAR(got, want, 0.005 * want) << p.what;
    EXPECT_NEAR(geo::distance_m(p.lat2, p.lon2, p.lat1, p.lon1), got, 1e-6 * got) << p.what << " (symmetry)";
  }
  // The brief's sanity figure: Seoul City Hall to Gangnam Station is about 8.8 km.
  const double d = geo::distance_m(kHallLat, kHallLon, kGangnamLat, kGangnamLon);
  EXPECT_GT(d, 8700);
  EXPECT_LT(d, 8900);
}

TEST(GeoDistance, CoincidentIsZeroAndInvalidIsNaN) {
  EXPECT_EQ(geo::distance_m(kHallLat, kHallLon, kHallLat, kHallLon), 0.0);
  EXPECT_TRUE(std::isnan(geo::distance_m(91, 0, 0, 0)));
  EXPECT_TRUE(std::isnan(geo::distance_m(0, 0, kNaN, 0)));
}

TEST(GeoBearing, CardinalDirections) {
  EXPECT_NEAR(geo::bearing_deg(10, 20, 11, 20), 0, 1e-9);
  EXPECT_NEAR(geo::bearing_deg(0, 20, 0, 21), 90, 1e-9);  // along the equator
  EXPECT_NEAR(geo::bearing_deg(11, 20, 10, 20), 180, 1e-9);
  EXPECT_NEAR(geo::bearing_deg(0, 21, 0, 20), 270, 1e-9);
  EXPECT_EQ(geo::bearing_deg(kHallLat, kHallLon, kHallLat, kHallLon), 0.0);
  EXPECT_TRUE(std::isnan(geo::bearing_deg(kNaN, 0, 0, 0)));
}

// Against the spherical initial bearing: the spheroid changes short-range bearings by
// well under half a degree at mid latitudes.
TEST(GeoBearing, AgreesWithSphericalBearing) {
  const double got = geo::bearing_deg(kHallLat, kHallLon, kGangnamLat, kGangnamLon);
  EXPECT_NEAR(got, ref::bearing_deg(kHallLat, kHallLon, kGangnamLat, kGangnamLon), 0.5);
  EXPECT_GT(got, 90);  // Gangnam is south-east of City Hall
  EXPECT_LT(got, 180);
  for (double b = 0; b < 360; b += 15) {
    auto [lat, lon] = ref::offset(kHallLat, kHallLon, 200 * std::cos(b * ref::kD), 200 * std::sin(b * ref::kD));
    const double g = geo::bearing_deg(kHallLat, kHallLon, lat, lon);
    EXPECT_GE(g, 0);
    EXPECT_LT(g, 360);
    EXPECT_LT(geo::angle_between_deg(g, b), 0.5) << "nominal bearing " << b;
  }
}

TEST(GeoAngles, NormalizeAndDifference) {
  EXPECT_DOUBLE_EQ(geo::normalize_deg(-10), 350);
  EXPECT_DOUBLE_EQ(geo::normalize_deg(360), 0);
  EXPECT_DOUBLE_EQ(geo::normalize_deg(725), 5);
  EXPECT_TRUE(std::isnan(geo::normalize_deg(kNaN)));
  EXPECT_DOUBLE_EQ(geo::angle_between_deg(350, 10), 20);
  EXPECT_DOUBLE_EQ(geo::angle_between_deg(10, 350), 20);
  EXPECT_DOUBLE_EQ(geo::angle_between_deg(0, 180), 180);
  EXPECT_DOUBLE_EQ(geo::angle_between_deg(-90, 270), 0);
}

TEST(GeoViewCone, NorthFacingCameraSeesNorthNotSouth) {
  const auto [nlat, nlon] = ref::offset(kHallLat, kHallLon, 50, 0);
  const auto [slat, slon] = ref::offset(kHallLat, kHallLon, -50, 0);
  const auto [flat, flon] = ref::offset(kHallLat, kHallLon, 150, 0);
  EXPECT_TRUE(geo::in_view_cone(kHallLat, kHallLon, 0, 90, 100, nlat, nlon));
  EXPECT_FALSE(geo::in_view_cone(kHallLat, kHallLon, 0, 90, 100, slat, slon));
  EXPECT_FALSE(geo::in_view_cone(kHallLat, kHallLon, 0, 90, 100, flat, flon));  // beyond range
}

TEST(GeoViewCone, EdgesWrapAndDegenerateCones) {
  auto at = [](double bearing, double dist) {
    return ref::offset(kHallLat, kHallLon, dist * std::cos(bearing * ref::kD), dist * std::sin(bearing * ref::kD));
  };
  // fov 90 facing north: ±45 degrees; 40 in, 50 out, on both sides of north (wrap at 360).
  for (auto [b, in] : {std::pair{40.0, true}, {50.0, false}, {320.0, true}, {310.0, false}}) {
    auto [lat, lon] = at(b, 60);
    EXPECT_EQ(geo::in_view_cone(kHallLat, kHallLon, 0, 90, 100, lat, lon), in) << "bearing " << b;
  }
  auto [lat, lon] = at(200, 60);
  EXPECT_TRUE(geo::in_view_cone(kHallLat, kHallLon, 0, 360, 100, lat, lon));   // all-round camera
  EXPECT_FALSE(geo::in_view_cone(kHallLat, kHallLon, 200, 0, 100, lat, lon));  // unknown fov
  EXPECT_FALSE(geo::in_view_cone(kHallLat, kHallLon, 200, 90, 0, lat, lon));   // unknown range
  EXPECT_TRUE(geo::in_view_cone(kHallLat, kHallLon, 0, 90, 100, kHallLat, kHallLon));  // at the camera
  EXPECT_FALSE(geo::in_view_cone(kHallLat, kHallLon, 0, 90, 100, kNaN, kHallLon));
}
