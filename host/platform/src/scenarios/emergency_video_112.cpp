// 112 emergency video: pick the nearest live cameras, grant, audit, renew, revoke.
#include <citylink/platform/scenarios/emergency_video_112.hpp>

namespace citylink::platform::scenarios {

void EmergencyVideo112::on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) {
  if (ev.event_code() != "112UC001") return;
  const std::string& id = inc.id;
  const IncidentKey key = inc.key();
  // Released (50) ends the emergency as far as video goes: sharing stops and nothing is
  // re-issued, although the platform may still finish the incident later (M13).
  if (change == Change::closed || ev.status() == citylink::v1::EVENT_STATUS_RELEASED) {
    revoke_video(name(), c_.video, key, "incident " + std::string(change == Change::closed ? "closed" : "released") +
                                           " (status " + std::to_string(ev.status()) + ")", ctx);
    return;
  }
  if (change == Change::updated) {
    // A moved position re-picks the cameras: the old grant goes, a new one covers the new scene.
    revoke_video(name(), c_.video, key, "incident updated; cameras re-chosen for the current position", ctx);
  }
  const auto& at = ev.location();
  const auto hits = ctx.cameras().within(at.lat(), at.lon(), c_.radius_m, c_.max_cameras, ctx.now_ns());
  if (hits.empty()) {
    ctx.reject(name(), "no_cameras",
               "incident " + id + ": no live camera within " + std::to_string(static_cast<int>(c_.radius_m)) + " m");
    return;
  }
  share_video(name(), c_.video, key, hits, change == Change::opened ? "112 report with a position" : "112 report updated", ctx);
}

void EmergencyVideo112::on_tick(ScenarioContext& ctx) { renew_open(c_.video, "112UC001", name(), ctx); }

}  // namespace citylink::platform::scenarios
