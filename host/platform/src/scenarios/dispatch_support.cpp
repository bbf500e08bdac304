// Dispatch support for 112 and 119: scene information to the dispatched units.
#include <citylink/platform/scenarios/dispatch_support.hpp>

#include <algorithm>

namespace citylink::platform::scenarios {

DispatchSupportConfig dispatch_112_defaults() {
  return {"112UC120", "dispatch.112", "112-patrol", 500, 5, "dispatch_112"};
}

DispatchSupportConfig dispatch_119_defaults() {
  return {"119UC001", "dispatch.119", "119", 500, 5, "dispatch_119"};
}

void DispatchSupport::on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) {
  if (ev.event_code() != c_.event_code) return;
  citylink::v1::DispatchSupport d;
  d.set_recipient(c_.recipient);
  d.set_incident_id(inc.id);
  d.set_incident_source(inc.source);
  d.set_event_code(ev.event_code());
  d.set_status(ev.status());
  *d.mutable_position() = ev.location();
  *d.mutable_address() = ev.place();
  if (change == Change::closed) {
    d.set_text("incident closed (status " + std::to_string(ev.status()) + "); support ends");
  } else {
    const auto& at = ev.location();
    auto hits = ctx.cameras().within(at.lat(), at.lon(), c_.radius_m, c_.max_cameras, ctx.now_ns());
    // Cameras pointed at the scene come first for the units; plain nearness is the fallback.
    std::stable_partition(hits.begin(), hits.end(), [](const CameraHit& h) { return h.covers; });
    for (const auto& hit : hits) *d.add_cameras() = camera_ref(hit);
    d.set_text((change == Change::opened ? "dispatch: " : "update: ") + ev.content());
    if (d.cameras_size() == 0)
      ctx.reject(name(), "no_cameras", "incident " + ev.occurrence_number() + ": no live camera near the scene");
  }
  std::string cams;
  for (const auto& c : d.cameras())
    cams += (cams.empty() ? "" : ", ") + c.camera_id() + " (" + std::to_string(static_cast<int>(c.distance_m() + 0.5)) +
            " m" + (c.covers_target() ? ", covers" : "") + ")";
  ctx.note(name(), ev.occurrence_number() + " status " + std::to_string(ev.status()) + " -> " + c_.recipient + " on " +
                       c_.topic + ": position, address, cameras " + (cams.empty() ? "none" : cams));
  ctx.emit(c_.topic, d, ev.occurrence_number());
}

}  // namespace citylink::platform::scenarios
