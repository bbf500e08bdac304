// Independent reference geometry for the geo tests: spherical-earth formulas written out
// here, sharing no code with host/platform/src/geo. On the sphere of mean radius they agree with
// the WGS84 geodesic to within ~0.5 % (the spheroid's radii of curvature lie between
// 6335 km and 6400 km, the mean radius is 6371 km), which is the tolerance the tests use
// when comparing against them.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <utility>

namespace citylink::test::ref {

// What the geo tests share: Seoul City Hall, where their layouts are centred, and units.
inline constexpr double kLat = 37.5663, kLon = 126.9779;
inline constexpr int64_t kSec = 1'000'000'000;
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline constexpr double kR = 6371008.8;  // IUGG mean Earth radius, metres
inline constexpr double kD = std::numbers::pi / 180.0;

inline double haversine_m(double lat1, double lon1, double lat2, double lon2) {
  const double dlat = (lat2 - lat1) * kD, dlon = (lon2 - lon1) * kD;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kD) * std::cos(lat2 * kD) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kR * std::asin(std::min(1.0, std::sqrt(a)));
}

// Initial great-circle bearing, degrees [0, 360).
inline double bearing_deg(double lat1, double lon1, double lat2, double lon2) {
  const double p1 = lat1 * kD, p2 = lat2 * kD, dl = (lon2 - lon1) * kD;
  const double y = std::sin(dl) * std::cos(p2);
  const double x = std::cos(p1) * std::sin(p2) - std::sin(p1) * std::cos(p2) * std::cos(dl);
  double b = std::atan2(y, x) / kD;
  if (b < 0) b += 360;
  return b;
}

// The point `north_m` north and `east_m` east of (lat, lon) on the sphere (small offsets;
// the true geodesic distance differs from the nominal one by up to ~0.5 %).
inline std::pair<double, double> offset(double lat, double lon, double north_m, double east_m) {
  return {lat + north_m / kR / kD, lon + east_m / (kR * std::cos(lat * kD)) / kD};
}

}  // namespace citylink::test::ref
