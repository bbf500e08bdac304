// CCTV tracking: latest position, next-camera prediction, PTZ, positions to the police unit.
#include <citylink/platform/geo.hpp>
#include <citylink/platform/scenarios/cctv_tracking.hpp>
#include <citylink/v1/camera.pb.h>

#include <algorithm>

namespace citylink::platform::scenarios {
namespace {
constexpr int64_t kMaxAhead = int64_t{30} * 1'000'000'000;
constexpr int64_t kMaxBehind = int64_t{300} * 1'000'000'000;
}  // namespace

void CctvTracking::on_tracking(const citylink::v1::TrackingInfo& t, ScenarioContext& ctx) {
  if (t.track_id().empty()) return ctx.reject(name(), "no_track_id", "tracking update without a track id");
  auto it = tracks_.find(t.track_id());
  const bool handover = it != tracks_.end() && it->second.latest.camera_id() != t.camera_id();
  // The analytics' clock orders updates of one track, but only within what is plausible for
  // the host: one update dated a year ahead would otherwise make every later one look old
  // and freeze the track (review M6).
  const int64_t now = ctx.wall_ns(ctx.now_ns());  // the device's clock is compared with the wall clock
  if (t.time_unix_ns() != 0 && (t.time_unix_ns() > now + kMaxAhead || t.time_unix_ns() < now - kMaxBehind))
    return ctx.reject(name(), "implausible_time",
                      "track " + t.track_id() + ": update dated " +
                          std::to_string((t.time_unix_ns() - now) / 1'000'000'000) +
                          " s from the host's clock (accepted: 5 min behind to 30 s ahead); fix the analytics' clock");
  if (it != tracks_.end() && t.time_unix_ns() != 0 && t.time_unix_ns() < it->second.latest.time_unix_ns())
    return ctx.reject(name(), "out_of_order", "track " + t.track_id() + ": update older than the latest one");

  citylink::v1::TrackingInfo latest = t;
  if (handover && latest.handed_over_from().empty()) latest.set_handed_over_from(it->second.latest.camera_id());

  const auto& p = t.position();
  const double lookahead = std::max(c_.min_lookahead_m, t.speed_mps() * c_.lookahead_seconds);
  auto ahead = ctx.cameras().ahead(p.lat(), p.lon(), t.heading_deg(), lookahead, c_.half_angle_deg,
                                   c_.max_predicted + 1, ctx.now_ns());
  std::erase_if(ahead, [&](const CameraHit& h) { return h.camera.camera_id == t.camera_id(); });
  if (ahead.size() > c_.max_predicted) ahead.resize(c_.max_predicted);
  latest.clear_predicted_next_cameras();
  for (const auto& h : ahead) latest.add_predicted_next_cameras(h.camera.camera_id);
  tracks_[t.track_id()] = Track{latest, ctx.now_ns()};

  if (handover || it == tracks_.end())
    ctx.note(name(), "track " + t.track_id() + " at " + t.camera_id() +
                         (handover ? " (handed over from " + latest.handed_over_from() + ")" : "") +
                         "; next cameras " + describe(ahead));
  // The track's incident, if open: only then do positions go to the police unit (and, by
  // default, PTZ cameras turn).
  bool ambiguous = false;
  const Incident* inc = t.incident_id().empty() ? nullptr : ctx.incidents().find_open(t.incident_id(), &ambiguous);
  if (ambiguous)
    ctx.reject(name(), "ambiguous_incident",
               "track " + t.track_id() + ": incident " + t.incident_id() +
                   " is open from more than one source; positions go to nobody rather than to the wrong unit");
  if (c_.ptz) point_ptz(t, ahead, inc, ctx);
  if (!inc) return;
  citylink::v1::DispatchSupport d;
  d.set_recipient(c_.recipient);
  d.set_incident_id(t.incident_id());
  d.set_incident_source(inc->source);
  d.set_event_code(inc->event_code);
  d.set_status(inc->latest.status());
  *d.add_target_positions() = p;
  *d.mutable_position() = p;
  if (auto cur = ctx.cameras().find(t.camera_id())) {
    CameraHit h{*cur, geo::distance_m(cur->lat, cur->lon, p.lat(), p.lon()), true};
    *d.add_cameras() = camera_ref(h);
  }
  for (const auto& h : ahead) *d.add_cameras() = camera_ref(h);
  d.set_text("target " + t.track_id() + " (" + t.target_class() + ") at camera " + t.camera_id() +
             (handover ? ", handed over from " + latest.handed_over_from() : "") + "; heading " +
             std::to_string(static_cast<int>(t.heading_deg())) + " deg, " + std::to_string(t.speed_mps()).substr(0, 4) +
             " m/s");
  ctx.emit(c_.topic, d, t.incident_id());
}

void CctvTracking::point_ptz(const citylink::v1::TrackingInfo& t, const std::vector<CameraHit>& ahead,
                             const Incident* incident, ScenarioContext& ctx) {
  if (c_.ptz_needs_incident && !incident) return;  // a track of nothing open moves no camera
  const std::string correlation = t.incident_id().empty() ? t.track_id() : t.incident_id();
  const int64_t now = ctx.now_ns();
  for (const auto& h : ahead) {
    if (!h.camera.ptz) continue;
    const std::string& id = h.camera.camera_id;
    // A camera that shows another incident's scene to an agency stays where it is.
    bool held = false;
    for (const auto& served : ctx.grants().incidents_served_by(id))
      if (!incident || served != incident->key()) {
        ctx.reject(name(), "ptz_held",
                   "camera " + id + " serves the live video grant of incident " + served.number +
                       "; not turned for track " + t.track_id());
        held = true;
        break;
      }
    if (held) continue;
    if (const auto last = ptz_sent_.find(id); last != ptz_sent_.end() && now - last->second < c_.ptz_min_interval_ns) {
      ctx.reject(name(), "ptz_rate_limited", "camera " + id + " was turned less than ptz_min_interval_seconds ago");
      continue;
    }
    ptz_sent_[id] = now;
    citylink::v1::PtzCommand cmd;
    cmd.set_camera_id(id);
    cmd.set_pan_deg(geo::bearing_deg(h.camera.lat, h.camera.lon, t.position().lat(), t.position().lon()));
    *cmd.mutable_look_at() = t.position();
    cmd.set_reason("target " + t.track_id() + " expected next");
    cmd.set_track_id(t.track_id());
    ctx.emit("camera.ptz", cmd, correlation);
  }
}

void CctvTracking::on_tick(ScenarioContext& ctx) {
  const int64_t cutoff = ctx.now_ns() - c_.track_retention_ns;
  std::erase_if(tracks_, [&](const auto& kv) { return kv.second.seen_ns < cutoff; });
  std::erase_if(ptz_sent_, [&](const auto& kv) { return kv.second < ctx.now_ns() - c_.ptz_min_interval_ns; });
}

}  // namespace citylink::platform::scenarios
