// Sharing camera video with an agency: one grant, one audit record; revoking likewise.
// Used by every scenario that hands out video (112 emergency video, electronic anklet).
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/scenario.hpp>

namespace citylink::platform::scenarios {

struct VideoPolicy {
  std::string recipient;
  std::string purpose;
  std::string legal_basis;
  int64_t lifetime_ns = 20LL * 60 * 1'000'000'000;
  int64_t renew_before_ns = 60LL * 1'000'000'000;
  // No grant outlives this, renewed or not, even if the incident's close is lost (H4).
  int64_t max_lifetime_ns = 2LL * 3600 * 1'000'000'000;
  // Renewal stops when the incident has had no update for this long; 0: never stale.
  int64_t stale_after_ns = 60LL * 60 * 1'000'000'000;
};

// "15 s", "20 min".
std::string duration_text(int64_t ns);

// The audit record of one grant's state change (who, which cameras, purpose, basis, until when).
citylink::v1::AuditRecord grant_audit(const citylink::v1::VideoShareGrant& g, const std::string& action,
                                      const std::string& detail);

// Issues a grant for `hits` to the policy's recipient and audits it. Returns the grant id.
std::string share_video(const char* scenario, const VideoPolicy& p, const IncidentKey& incident, const std::vector<CameraHit>& hits,
                        const std::string& why, ScenarioContext& ctx);

// Revokes the incident's live grants and audits it; returns how many.
int revoke_video(const char* scenario, const VideoPolicy& p, const IncidentKey& incident, const std::string& why, ScenarioContext& ctx);

// Renews the policy's grants of open incidents with `event_code` that expire within renew_before_ns.
void renew_open(const VideoPolicy& p, const std::string& event_code, const char* scenario, ScenarioContext& ctx);

}  // namespace citylink::platform::scenarios
