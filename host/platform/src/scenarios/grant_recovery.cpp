// Reading the audit log back for grants a stopped host never revoked.
#include <citylink/platform/scenarios/grant_recovery.hpp>

#include <map>
#include <tuple>

namespace citylink::platform::scenarios {

std::vector<citylink::v1::AuditRecord> grants_left_alive(const AuditStore& store, int64_t now_ns) {
  constexpr int64_t kLongestGrant = int64_t{8} * 24 * 3600 * 1'000'000'000;  // 7 days, and a day's margin
  AuditQuery q;
  q.from_ns = now_ns - kLongestGrant;
  std::map<std::string, citylink::v1::AuditRecord> live;  // by grant id, in the order they were issued
  for (auto& stored : store.query(q)) {
    auto& r = stored.record;
    const std::string& action = r.action();
    if (action == "video_grant.issue" || action == "video_grant.renew") {
      if (!r.grant_id().empty()) live[r.grant_id()] = std::move(r);
    } else if (action == "video_grant.expire" || action == "video_grant.revoke") {
      if (!r.grant_id().empty()) {
        live.erase(r.grant_id());
        continue;
      }
      // A scenario's revocation names the incident and recipient: every grant of both ends.
      std::erase_if(live, [&](const auto& kv) {
        const auto& g = kv.second;
        return std::tie(g.incident_id(), g.incident_source(), g.recipient()) ==
               std::tie(r.incident_id(), r.incident_source(), r.recipient());
      });
    }
  }
  std::vector<citylink::v1::AuditRecord> out;
  for (auto& [id, r] : live)
    if (r.valid_until_unix_ns() > now_ns) out.push_back(std::move(r));
  return out;
}

}  // namespace citylink::platform::scenarios
