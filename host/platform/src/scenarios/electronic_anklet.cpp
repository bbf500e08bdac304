// Electronic anklet: video to the MOJ centre for the covered violations only.
#include <citylink/platform/scenarios/electronic_anklet.hpp>

#include <algorithm>

namespace citylink::platform::scenarios {

void ElectronicAnklet::on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) {
  if (ev.event_code() != "MOJUC110") return;
  const std::string& id = inc.id;
  const IncidentKey key = inc.key();
  if (change == Change::closed || ev.status() == citylink::v1::EVENT_STATUS_RELEASED) {
    revoke_video(name(), c_.video, key, "incident " + std::string(change == Change::closed ? "closed" : "released") +
                                           " (status " + std::to_string(ev.status()) + ")", ctx);
    return;
  }
  // The engine carries the violation kind forward when an update omits it (IncidentBook::complete).
  const auto it = ev.items().find(c_.violation_item);
  const std::string kind = it == ev.items().end() ? "" : it->second;
  if (std::find(c_.video_violations.begin(), c_.video_violations.end(), kind) == c_.video_violations.end()) {
    // A kind that no longer allows video ends what an earlier violation shared (H5).
    revoke_video(name(), c_.video, key, "violation is now '" + kind + "', which does not allow video", ctx);
    ctx.note(name(), id + ": violation '" + kind + "' does not allow video; none shared");
    ctx.reject(name(), "not_a_video_case",
               "incident " + id + ": violation '" + kind + "' is not one that allows sharing video; none shared");
    return;
  }
  if (ctx.grants().live_for(key, c_.video.recipient)) {
    if (change == Change::updated) revoke_video(name(), c_.video, key, "wearer moved; cameras re-chosen", ctx);
    else return;
  }
  const auto& at = ev.location();
  const auto hits = ctx.cameras().within(at.lat(), at.lon(), c_.radius_m, c_.max_cameras, ctx.now_ns());
  citylink::v1::DispatchSupport d;
  d.set_recipient(c_.video.recipient);
  d.set_incident_id(id);
  d.set_incident_source(inc.source);
  d.set_event_code(ev.event_code());
  d.set_status(ev.status());
  *d.mutable_position() = at;
  *d.mutable_address() = ev.place();
  for (const auto& h : hits) *d.add_cameras() = camera_ref(h);
  d.set_text("anklet violation: " + kind);
  if (!hits.empty()) d.set_grant_id(share_video(name(), c_.video, key, hits, "anklet violation: " + kind, ctx));
  else ctx.reject(name(), "no_cameras", "incident " + id + ": no live camera near the wearer");
  ctx.emit(c_.topic, d, id);
}

void ElectronicAnklet::on_tick(ScenarioContext& ctx) { renew_open(c_.video, "MOJUC110", name(), ctx); }

}  // namespace citylink::platform::scenarios
