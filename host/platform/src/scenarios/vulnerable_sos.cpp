// Vulnerable-person SOS: an alert to every recipient, personal data only where a purpose allows it.
#include <citylink/platform/scenarios/vulnerable_sos.hpp>

namespace citylink::platform::scenarios {

void VulnerableSos::on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) {
  if (ev.event_code() != "WPSSF110" || change == Change::closed) return;
  const auto& at = ev.location();
  const auto hits = ctx.cameras().within(at.lat(), at.lon(), c_.radius_m, c_.max_cameras, ctx.now_ns());
  for (const auto& r : c_.recipients) {
    citylink::v1::DispatchSupport d;
    d.set_recipient(r.name);
    d.set_incident_id(inc.id);
    d.set_incident_source(inc.source);
    d.set_event_code(ev.event_code());
    d.set_status(ev.status());
    *d.mutable_position() = at;
    *d.mutable_address() = ev.place();
    for (const auto& h : hits) *d.add_cameras() = camera_ref(h);
    d.set_text("SOS: " + ev.content());
    std::vector<std::string> sent;
    if (!r.purpose.empty()) {
      d.set_purpose(r.purpose);
      for (const auto& field : r.personal_data) {
        auto it = ev.items().find(field);
        if (it == ev.items().end()) continue;
        (*d.mutable_personal_data())[field] = it->second;
        sent.push_back(field);
      }
    }
    std::string fields;
    for (const auto& f : sent) fields += (fields.empty() ? "" : ", ") + f;
    ctx.note(name(), ev.occurrence_number() + " -> " + r.name + " on " + r.topic + ": position, cameras " +
                         describe(hits) + "; personal data: " + (fields.empty() ? "none" : fields));
    ctx.emit(r.topic, d, ev.occurrence_number());
    if (!sent.empty()) {
      citylink::v1::AuditRecord a;
      a.set_action("personal_data.deliver");
      a.set_recipient(r.name);
      a.set_incident_id(inc.id);
      a.set_incident_source(inc.source);
      for (const auto& h : hits) a.add_camera_ids(h.camera.camera_id);
      a.set_purpose(r.purpose);
      a.set_legal_basis(r.legal_basis);
      for (const auto& f : sent) a.add_data_fields(f);
      a.set_detail("SOS alert with personal data");
      ctx.audit(std::move(a));
    }
  }
}

}  // namespace citylink::platform::scenarios
