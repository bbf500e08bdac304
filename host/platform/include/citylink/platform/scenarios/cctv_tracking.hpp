// Intelligent-CCTV target tracking: from analytics.tracking, keep each target's latest
// position, predict the next cameras from the camera layout and the target's heading and
// speed, point PTZ cameras at it, and send target positions to the police unit on the
// incident while it is open.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/scenario.hpp>

#include <map>

namespace citylink::platform::scenarios {

struct CctvTrackingConfig {
  double min_lookahead_m = 150;     // predict at least this far ahead
  double lookahead_seconds = 30;    // or as far as the target gets in this long
  double half_angle_deg = 45;       // cameras within ± this of the heading count as ahead
  std::size_t max_predicted = 3;
  bool ptz = true;
  // Review M14: only a track tied to an open incident turns cameras; a camera that serves
  // the live video grant of another incident is not turned; one camera is turned at most
  // once per interval, however many updates arrive.
  bool ptz_needs_incident = true;
  int64_t ptz_min_interval_ns = int64_t{5} * 1'000'000'000;
  std::string recipient = "112-patrol";
  std::string topic = "dispatch.112";
  int64_t track_retention_ns = int64_t{600} * 1'000'000'000;  // a track with no update this long is forgotten
};

class CctvTracking : public Scenario {
 public:
  explicit CctvTracking(CctvTrackingConfig c = {}) : c_(std::move(c)) {}
  std::vector<std::string> recipients() const override { return {c_.recipient}; }
  const char* name() const override { return "cctv_tracking"; }
  void on_tracking(const citylink::v1::TrackingInfo& t, ScenarioContext& ctx) override;

  // The latest tracking info per track id.
  struct Track {
    citylink::v1::TrackingInfo latest;
    int64_t seen_ns = 0;  // host time of the latest update (the retention clock)
  };
  const std::map<std::string, Track>& tracks() const { return tracks_; }
  // Forgets tracks without an update for track_retention (H8: tracks once grew without bound).
  void on_tick(ScenarioContext& ctx) override;

 private:
  // Turns the predicted PTZ cameras toward the target, within the rules above.
  void point_ptz(const citylink::v1::TrackingInfo& t, const std::vector<CameraHit>& ahead, const Incident* incident,
                 ScenarioContext& ctx);

  CctvTrackingConfig c_;
  std::map<std::string, Track> tracks_;
  std::map<std::string, int64_t> ptz_sent_;  // camera id -> host time of its last command
};

}  // namespace citylink::platform::scenarios
