// Grants and their audit records, in one place.
#include <citylink/platform/scenarios/video_share.hpp>

namespace citylink::platform::scenarios {

std::string duration_text(int64_t ns) {
  const int64_t s = ns / 1'000'000'000;
  return s < 120 ? std::to_string(s) + " s" : std::to_string(s / 60) + " min";
}

citylink::v1::AuditRecord grant_audit(const citylink::v1::VideoShareGrant& g, const std::string& action,
                                      const std::string& detail) {
  citylink::v1::AuditRecord a;
  a.set_action(action);
  a.set_recipient(g.recipient());
  a.set_incident_id(g.incident_id());
  a.set_incident_source(g.incident_source());
  a.set_grant_id(g.grant_id());
  for (const auto& id : g.camera_ids()) a.add_camera_ids(id);
  a.set_purpose(g.purpose());
  a.set_legal_basis(g.legal_basis());
  a.set_valid_until_unix_ns(g.expires_unix_ns());
  a.set_detail(detail);
  return a;
}

std::string share_video(const char* scenario, const VideoPolicy& p, const IncidentKey& incident, const std::vector<CameraHit>& hits,
                        const std::string& why, ScenarioContext& ctx) {
  GrantRequest req;
  req.incident = incident;
  req.recipient = p.recipient;
  for (const auto& h : hits) {
    req.camera_ids.push_back(h.camera.camera_id);
    req.stream_uris.push_back(h.camera.stream_uri);
  }
  req.purpose = p.purpose;
  req.legal_basis = p.legal_basis;
  req.lifetime_ns = p.lifetime_ns;
  req.max_lifetime_ns = p.max_lifetime_ns;
  req.reason = why;
  const auto& g = ctx.grants().issue(req, ctx.now_ns());
  ctx.note(scenario, incident.number + ": " + why + " -> grant " + g.grant_id() + " to " + p.recipient + " for " +
               duration_text(g.expires_unix_ns() - g.issued_unix_ns()) + ", cameras " +
               describe(hits));

  ctx.audit(grant_audit(g, "video_grant.issue", why + "; grant " + g.grant_id()));
  return g.grant_id();
}

int revoke_video(const char* scenario, const VideoPolicy& p, const IncidentKey& incident, const std::string& why, ScenarioContext& ctx) {
  const int n = ctx.grants().revoke_incident(incident, why, ctx.now_ns());
  if (n > 0) {
    ctx.note(scenario, incident.number + ": " + std::to_string(n) + " grant(s) to " + p.recipient + " revoked: " + why);
    citylink::v1::AuditRecord a;
    a.set_action("video_grant.revoke");
    a.set_recipient(p.recipient);
    a.set_incident_id(incident.number);
    a.set_incident_source(incident.source);
    a.set_purpose(p.purpose);
    a.set_legal_basis(p.legal_basis);
    a.set_valid_until_unix_ns(ctx.now_ns());
    a.set_detail(std::to_string(n) + " grant(s) revoked: " + why);
    ctx.audit(std::move(a));
  }
  return n;
}

void renew_open(const VideoPolicy& p, const std::string& event_code, const char* scenario, ScenarioContext& ctx) {
  const int64_t now = ctx.now_ns();
  for (const auto& [incident, g] : ctx.grants().live()) {
    if (g.recipient() != p.recipient || g.expires_unix_ns() - now > p.renew_before_ns) continue;
    const Incident* inc = ctx.incidents().find(incident);
    if (!inc || !inc->open || inc->event_code != event_code) continue;
    // A platform that went quiet (a lost close, a bridge down) must not keep video shared (H4).
    if (p.stale_after_ns > 0 && now - inc->last_change_ns > p.stale_after_ns) {
      if (ctx.grants().stop_renewal(g.grant_id()))
        ctx.reject(scenario, "renew_stale",
                   g.incident_id() + ": no update for " + duration_text(now - inc->last_change_ns) + "; grant " +
                       g.grant_id() + " is left to expire");
      continue;
    }
    std::string why;
    if (!ctx.grants().renew(g.grant_id(), now, &why)) {
      if (ctx.grants().stop_renewal(g.grant_id())) ctx.reject(scenario, "renew_refused", why);
      continue;
    }
    ctx.note(scenario, g.incident_id() + ": grant " + g.grant_id() + " renewed (incident still open)");
    const auto* renewed = ctx.grants().live_for(incident, g.recipient());
    ctx.audit(grant_audit(renewed ? *renewed : g, "video_grant.renew", "grant " + g.grant_id() + " renewed: incident still open"));
  }
}

}  // namespace citylink::platform::scenarios
