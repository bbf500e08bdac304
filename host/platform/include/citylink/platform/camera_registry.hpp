// The camera registry: every camera known from `camera.info` / `camera.status`, in a
// Boost.Geometry R-tree, answering radius / nearest-k / coverage / look-ahead queries on
// real geographic (WGS84 geodesic) distance. See docs/camera-registry.md.
//
// Thread-safety: all members may be called concurrently; queries share a reader lock,
// upsert / update_status / remove take the writer lock.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/v1/camera.pb.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citylink::platform {

struct CameraRecord {
  std::string camera_id, name, stream_uri, owner, purpose;
  double lat = 0, lon = 0;
  double heading_deg = 0;  // normalised to [0, 360), 0 = north, clockwise
  double fov_deg = 0;      // horizontal field of view, [0, 360]; 0 = unknown
  double range_m = 0;      // useful range, >= 0; 0 = unknown
  bool ptz = false;
  citylink::v1::CameraState state = citylink::v1::CAMERA_STATE_UNSPECIFIED;
  int64_t last_seen_ns = 0;  // host time of the latest camera.info / camera.status
  std::string owner_instance;  // the plugin instance that announced it; only it may change it
};

struct CameraHit {
  CameraRecord camera;
  double distance_m = 0;  // geodesic distance between the camera and the query point
  bool covers = false;    // the query point is inside the camera's view cone (geo::in_view_cone)
};

class CameraRegistry {
 public:
  struct Options {
    // A camera not heard from (camera.info or camera.status) for longer than this is
    // stale and excluded from every query. <= 0 disables the rule.
    int64_t stale_after_ns = 300'000'000'000;  // 5 minutes
  };

  CameraRegistry();
  explicit CameraRegistry(Options);
  ~CameraRegistry();
  CameraRegistry(const CameraRegistry&) = delete;
  CameraRegistry& operator=(const CameraRegistry&) = delete;

  // Why `info` cannot be registered, or an empty string if it can (no side effects).
  static std::string validate(const citylink::v1::CameraInfo& info);

  // Adds or replaces a camera (every field, including position, state and pose, comes
  // from `info`; last_seen becomes now_ns). Returns an empty string on success, else a
  // clear reason (empty/oversized id, no position, coordinates outside WGS84, NaN, ...);
  // on failure the registry is unchanged.
  std::string upsert(const citylink::v1::CameraInfo& info, int64_t now_ns, const std::string& owner_instance = {});

  // Applies a status / heartbeat: refreshes last_seen to now_ns; sets the state unless
  // it is CAMERA_STATE_UNSPECIFIED (a bare heartbeat); for a PTZ camera, sets the
  // heading to status.heading_deg (the pose after PTZ moves; ignored if not finite and
  // for fixed cameras). Returns false for an unknown camera.
  bool update_status(const citylink::v1::CameraStatus& status, int64_t now_ns);

  // Forgets a camera. Returns false if it was unknown.
  bool remove(const std::string& camera_id);

  // Forgets cameras last heard from before seen_before_ns, looking at no more than max_scan
  // slots from where the previous call stopped (wrapping), so a sweep of a large registry is
  // spread over many short calls. Returns what it forgot (review H8: a camera that went
  // away, or an id made up once, no longer stays for the life of the process).
  std::vector<CameraRecord> forget_unseen(int64_t seen_before_ns, std::size_t max_scan);

  std::optional<CameraRecord> find(const std::string& camera_id) const;

  // Live = state is not OFFLINE (ONLINE, DEGRADED and UNSPECIFIED count as live) and the
  // camera is not stale (now_ns - last_seen_ns <= stale_after_ns).
  bool is_live(const CameraRecord&, int64_t now_ns) const;

  // Whether the camera's view cone covers the point (geo::in_view_cone with its pose).
  static bool covers(const CameraRecord&, double lat, double lon);

  // Every query below returns live cameras only, ordered by geodesic distance from the
  // query point (ties by camera_id), and fills CameraHit::covers for each hit. Invalid
  // input (coordinates outside WGS84, NaN radius, ...) yields an empty result.

  // Live cameras within radius_m of the point (inclusive), nearest first, at most max_count.
  std::vector<CameraHit> within(double lat, double lon, double radius_m, std::size_t max_count,
                                int64_t now_ns) const;
  // The k nearest live cameras, nearest first (no radius limit).
  std::vector<CameraHit> nearest(double lat, double lon, std::size_t k, int64_t now_ns) const;
  // Live cameras whose view cone covers the point, nearest first, at most max_count,
  // searched within search_radius_m.
  std::vector<CameraHit> covering(double lat, double lon, double search_radius_m, std::size_t max_count,
                                  int64_t now_ns) const;
  // Live cameras ahead of a moving target at (lat, lon) heading heading_deg: within
  // radius_m, whose bearing from the target is within ±half_angle_deg of heading_deg
  // (boundary inclusive; >= 180 means all around), nearest first, at most max_count.
  // A camera closer than 0.01 m to the target has no bearing and is not "ahead".
  std::vector<CameraHit> ahead(double lat, double lon, double heading_deg, double radius_m, double half_angle_deg,
                               std::size_t max_count, int64_t now_ns) const;

  // Every registered camera (live or not), at most max_count, ordered by camera_id (the
  // operator's map; a copy under the reader lock).
  std::vector<CameraRecord> all(std::size_t max_count = SIZE_MAX) const;
  // Number of cameras registered (live or not).
  std::size_t size() const;
  // Number of live cameras at now_ns (a linear scan; for diagnostics, not hot paths).
  std::size_t live_count(int64_t now_ns) const;

  const Options& options() const { return options_; }

 private:
  struct Impl;
  Options options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citylink::platform
