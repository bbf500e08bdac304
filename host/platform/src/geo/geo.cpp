// WGS84 geometry: validation, geodesic distance and bearing, view cones.
#include <citylink/platform/geo.hpp>

#include <boost/geometry/formulas/vincenty_inverse.hpp>
#include <boost/geometry/srs/spheroid.hpp>

#include <cmath>
#include <limits>
#include <numbers>

namespace citylink::platform::geo {

namespace {

constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr double kRadToDeg = 180.0 / std::numbers::pi;
// Below this separation a bearing means nothing (GNSS noise is metres).
constexpr double kCoincidentM = 0.01;

const boost::geometry::srs::spheroid<double>& wgs84() {
  // Default-constructed spheroid = WGS84 (a = 6378137, b = 6356752.3142451793).
  static const boost::geometry::srs::spheroid<double> s;
  return s;
}

}  // namespace

bool valid_wgs84(double lat, double lon) {
  return std::isfinite(lat) && std::isfinite(lon) && lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}

bool is_fix(double lat, double lon) { return valid_wgs84(lat, lon) && !(lat == 0.0 && lon == 0.0); }

double normalize_deg(double deg) {
  if (!std::isfinite(deg)) return std::numeric_limits<double>::quiet_NaN();
  double r = std::fmod(deg, 360.0);
  if (r < 0) r += 360.0;
  if (r >= 360.0) r = 0.0;  // fmod of a tiny negative can round up to 360
  return r;
}

double angle_between_deg(double a_deg, double b_deg) {
  const double d = normalize_deg(a_deg - b_deg);
  return d > 180.0 ? 360.0 - d : d;
}

Inverse inverse(double lat1, double lon1, double lat2, double lon2) {
  if (!valid_wgs84(lat1, lon1) || !valid_wgs84(lat2, lon2)) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  // Boost.Geometry's Vincenty inverse (the formula behind strategy::distance::vincenty),
  // distance and forward azimuth in one solution. Arguments are lon, lat in radians.
  using formula = boost::geometry::formula::vincenty_inverse<double, true, true>;
  const auto r = formula::apply(lon1 * kDegToRad, lat1 * kDegToRad, lon2 * kDegToRad, lat2 * kDegToRad, wgs84());
  Inverse out;
  out.distance_m = r.distance;
  out.bearing_deg = r.distance > 0 ? normalize_deg(r.azimuth * kRadToDeg) : 0.0;
  return out;
}

double distance_m(double lat1, double lon1, double lat2, double lon2) {
  return inverse(lat1, lon1, lat2, lon2).distance_m;
}

double bearing_deg(double lat1, double lon1, double lat2, double lon2) {
  return inverse(lat1, lon1, lat2, lon2).bearing_deg;
}

bool in_view_cone(double cam_lat, double cam_lon, double heading_deg, double fov_deg, double range_m, double lat,
                  double lon) {
  if (!(range_m > 0) || !(fov_deg > 0) || !std::isfinite(heading_deg)) return false;  // unknown cone: no claim
  const Inverse inv = inverse(cam_lat, cam_lon, lat, lon);
  if (!(inv.distance_m <= range_m)) return false;  // also false for NaN (invalid input)
  if (inv.distance_m < kCoincidentM || fov_deg >= 360.0) return true;
  // A tiny tolerance so a point exactly on the cone's edge counts despite rounding.
  return angle_between_deg(inv.bearing_deg, heading_deg) <= fov_deg / 2.0 + 1e-9;
}

}  // namespace citylink::platform::geo
