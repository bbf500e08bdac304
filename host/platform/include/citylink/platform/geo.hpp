// WGS84 geometry used by the camera registry and the scenarios: validation, geodesic
// distance and bearing (Boost.Geometry's Vincenty inverse formula on the WGS84
// spheroid), and the view-cone test that decides whether a camera covers a point.
//
// All angles are degrees; bearings and headings are 0 = north, clockwise.
#pragma once

#include <citylink/platform/runtime.hpp>

namespace citylink::platform::geo {

// Mean Earth radius (IUGG R1), metres. Only used for spherical bounds, never for a
// distance that is reported.
inline constexpr double kMeanEarthRadiusM = 6371008.8;

// True when both values are finite, lat is in [-90, 90] and lon in [-180, 180].
bool valid_wgs84(double lat, double lon);

// True for a position a device actually measured: valid_wgs84 and not (0, 0), which is what
// a missing coordinate becomes on its way through a bridge or a device without a fix.
bool is_fix(double lat, double lon);

// Geodesic distance on the WGS84 spheroid, metres (Vincenty inverse formula via
// Boost.Geometry; sub-millimetre accuracy except for nearly antipodal points, where
// the iteration may not converge and the result degrades to a few metres — irrelevant
// at city scale). Returns NaN if either point is not valid_wgs84.
double distance_m(double lat1, double lon1, double lat2, double lon2);

// Initial bearing (forward azimuth) of the geodesic from point 1 to point 2, degrees in
// [0, 360), 0 = north, clockwise. 0 for coincident points. NaN for invalid input.
double bearing_deg(double lat1, double lon1, double lat2, double lon2);

// Distance and initial bearing in one geodesic solution (cheaper than two calls).
struct Inverse {
  double distance_m = 0;
  double bearing_deg = 0;  // [0, 360)
};
Inverse inverse(double lat1, double lon1, double lat2, double lon2);

// Normalises an angle to [0, 360). NaN/inf stay NaN.
double normalize_deg(double deg);

// Smallest absolute difference between two directions, degrees in [0, 180].
double angle_between_deg(double a_deg, double b_deg);

// Does a camera at (cam_lat, cam_lon) looking along heading_deg with a horizontal field
// of view fov_deg and a useful range range_m see the point (lat, lon)?
//  - the point must be within range_m (geodesic distance) of the camera;
//  - the initial bearing from the camera to the point must be within fov_deg / 2 of the
//    heading (boundary inclusive); fov_deg >= 360 sees all around;
//  - range_m <= 0 or fov_deg <= 0 means "unknown", and an unknown cone covers nothing;
//  - a point within 0.01 m of the camera (bearing undefined) is covered if range and
//    fov are known.
bool in_view_cone(double cam_lat, double cam_lon, double heading_deg, double fov_deg, double range_m, double lat,
                  double lon);

}  // namespace citylink::platform::geo
