// Turning a registry hit into the CameraRef an agency receives.
#include <citylink/platform/scenarios/scenario.hpp>

namespace citylink::platform::scenarios {

citylink::v1::CameraRef camera_ref(const CameraHit& hit) {
  citylink::v1::CameraRef r;
  r.set_camera_id(hit.camera.camera_id);
  r.set_stream_uri(hit.camera.stream_uri);
  r.mutable_position()->set_lat(hit.camera.lat);
  r.mutable_position()->set_lon(hit.camera.lon);
  r.set_distance_m(hit.distance_m);
  r.set_covers_target(hit.covers);
  return r;
}

std::string describe(const std::vector<CameraHit>& hits) {
  std::string out;
  for (const auto& h : hits) {
    out += (out.empty() ? "" : ", ") + h.camera.camera_id + " (" + std::to_string(static_cast<int>(h.distance_m + 0.5)) +
           " m" + (h.covers ? ", covers" : "") + ")";
  }
  return out.empty() ? "none" : out;
}

}  // namespace citylink::platform::scenarios
