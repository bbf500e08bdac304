// Video share grants and their lifetimes.
#include <citylink/host/keys.hpp>
#include <citylink/platform/scenarios/grants.hpp>

#include <algorithm>
#include <iterator>
#include <limits>

namespace citylink::platform::scenarios {

using citylink::v1::VideoShareGrant;

std::string grant_topic(const std::string& recipient) {
  std::string t = "grant.video.";
  for (char c : recipient) {
    if (c >= 'A' && c <= 'Z') t += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') t += c;
    else t += '-';
  }
  return recipient.empty() ? "grant.video.unknown" : t;
}

GrantBook::GrantBook(Sink sink) : sink_(std::move(sink)), run_(keys::random_hex(4)) {}

const VideoShareGrant& GrantBook::issue(const GrantRequest& r, int64_t now_ns) {
  Entry e;
  auto& g = e.grant;
  g.set_grant_id("G-" + r.incident.number + "-" + run_ + "-" + std::to_string(++seq_));
  g.set_incident_id(r.incident.number);
  g.set_incident_source(r.incident.source);
  e.incident = r.incident;
  g.set_recipient(r.recipient);
  for (const auto& c : r.camera_ids) g.add_camera_ids(c);
  for (const auto& u : r.stream_uris) g.add_stream_uris(u);
  g.set_purpose(r.purpose);
  g.set_legal_basis(r.legal_basis);
  g.set_issued_unix_ns(now_ns);
  const int64_t cap = r.max_lifetime_ns > 0 ? r.max_lifetime_ns : std::numeric_limits<int64_t>::max() - now_ns;
  g.set_expires_unix_ns(now_ns + std::min(r.lifetime_ns, cap));
  g.set_action(VideoShareGrant::ACTION_ISSUE);
  g.set_reason(r.reason);
  e.lifetime_ns = r.lifetime_ns;
  e.hard_deadline_ns = now_ns + cap;
  auto [it, fresh] = grants_.emplace(g.grant_id(), std::move(e));
  (void)fresh;
  sink_(it->second.grant);
  return it->second.grant;
}

bool GrantBook::renew(const std::string& grant_id, int64_t now_ns, std::string* why) {
  auto it = grants_.find(grant_id);
  if (it == grants_.end()) {
    // Expired and revoked grants leave the book, so "unknown" covers them too.
    if (why) *why = "grant " + grant_id + " is unknown, has expired or was revoked; issue a new one instead of renewing";
    return false;
  }
  Entry& e = it->second;
  if (!e.live || e.grant.expires_unix_ns() <= now_ns) {
    if (why) *why = "grant " + grant_id + " has expired or was revoked; issue a new one instead of renewing";
    return false;
  }
  const int64_t until = std::min(now_ns + e.lifetime_ns, e.hard_deadline_ns);
  if (until <= e.grant.expires_unix_ns()) {
    if (why) *why = "grant " + grant_id + " has reached its hard maximum lifetime; it expires and is not renewed";
    return false;
  }
  e.grant.set_expires_unix_ns(until);
  e.grant.set_action(VideoShareGrant::ACTION_RENEW);
  e.grant.set_reason("renewed while the incident is open");
  sink_(e.grant);
  return true;
}

namespace {

// A revoked grant ends now, for `reason`; every way of revoking says so the same way.
template <class Entry>
void end_as_revoked(Entry& e, const std::string& reason, int64_t now_ns) {
  e.live = false;
  e.grant.set_action(VideoShareGrant::ACTION_REVOKE);
  e.grant.set_expires_unix_ns(now_ns);
  e.grant.set_reason(reason);
}

}  // namespace

std::optional<VideoShareGrant> GrantBook::revoke(const std::string& grant_id, const std::string& reason,
                                                 int64_t now_ns) {
  auto it = grants_.find(grant_id);
  if (it == grants_.end() || !it->second.live) return std::nullopt;
  Entry& e = it->second;
  end_as_revoked(e, reason, now_ns);
  sink_(e.grant);
  VideoShareGrant out = e.grant;
  retire(it);
  return out;
}

int GrantBook::revoke_incident(const IncidentKey& incident, const std::string& reason, int64_t now_ns) {
  int n = 0;
  for (auto it = grants_.begin(); it != grants_.end();) {
    auto next = std::next(it);
    Entry& e = it->second;
    if (e.live && e.incident == incident) {
      end_as_revoked(e, reason, now_ns);
      sink_(e.grant);
      retire(it);
      ++n;
    }
    it = next;
  }
  return n;
}

std::vector<VideoShareGrant> GrantBook::revoke_all(const std::string& reason, int64_t now_ns) {
  std::vector<VideoShareGrant> out;
  for (auto it = grants_.begin(); it != grants_.end();) {
    auto next = std::next(it);
    Entry& e = it->second;
    end_as_revoked(e, reason, now_ns);
    sink_(e.grant);
    out.push_back(e.grant);
    retire(it);
    it = next;
  }
  return out;
}

int GrantBook::expire(int64_t now_ns) {
  int n = 0;
  for (auto it = grants_.begin(); it != grants_.end();) {
    auto next = std::next(it);
    Entry& e = it->second;
    if (e.live && e.grant.expires_unix_ns() <= now_ns) {
      e.live = false;
      e.grant.set_action(VideoShareGrant::ACTION_EXPIRE);
      e.grant.set_reason(e.grant.expires_unix_ns() >= e.hard_deadline_ns ? "hard maximum lifetime reached"
                                                                          : "lifetime ended");
      sink_(e.grant);
      retire(it);
      ++n;
    }
    it = next;
  }
  return n;
}

bool GrantBook::stop_renewal(const std::string& grant_id) {
  auto it = grants_.find(grant_id);
  if (it == grants_.end() || it->second.renewal_stopped) return false;
  it->second.renewal_stopped = true;
  return true;
}

void GrantBook::retire(std::map<std::string, Entry>::iterator it) { grants_.erase(it); }

const VideoShareGrant* GrantBook::live_for(const IncidentKey& incident, const std::string& recipient) const {
  for (const auto& [id, e] : grants_)
    if (e.live && e.incident == incident && e.grant.recipient() == recipient) return &e.grant;
  return nullptr;
}

std::vector<GrantBook::LiveGrant> GrantBook::live() const {
  std::vector<LiveGrant> out;
  for (const auto& [id, e] : grants_)
    if (e.live) out.push_back({e.incident, e.grant});
  return out;
}

std::vector<IncidentKey> GrantBook::incidents_served_by(const std::string& camera_id) const {
  // Live grants are few (they leave the book when they end), so a scan is cheaper than an
  // index kept in step with every issue and retirement.
  std::vector<IncidentKey> out;
  for (const auto& [id, e] : grants_)
    if (e.live && std::find(e.grant.camera_ids().begin(), e.grant.camera_ids().end(), camera_id) !=
                      e.grant.camera_ids().end())
      out.push_back(e.incident);
  return out;
}

std::size_t GrantBook::live_count() const {
  std::size_t n = 0;
  for (const auto& [id, e] : grants_) n += e.live;
  return n;
}

}  // namespace citylink::platform::scenarios
