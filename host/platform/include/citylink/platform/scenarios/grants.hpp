// Time-limited video share grants: issue, renew, expire, revoke — each one published and audited.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/incidents.hpp>
#include <citylink/v1/camera.pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace citylink::platform::scenarios {

struct GrantRequest {
  IncidentKey incident;
  std::string recipient;
  std::vector<std::string> camera_ids;
  std::vector<std::string> stream_uris;
  std::string purpose;
  std::string legal_basis;
  int64_t lifetime_ns = 0;
  int64_t max_lifetime_ns = 0;  // hard cap from issue on, renewals included; 0: none
  std::string reason;
};

// The topic a recipient's grants travel on: "grant.video.<recipient>" ("grant.video.112",
// "grant.video.moj"), so each agency subscribes to its own grants only.
std::string grant_topic(const std::string& recipient);

class GrantBook {
 public:
  // Called for every grant state change (issue, renew, expire, revoke) with the message to publish.
  using Sink = std::function<void(const citylink::v1::VideoShareGrant&)>;
  explicit GrantBook(Sink sink);

  const citylink::v1::VideoShareGrant& issue(const GrantRequest& r, int64_t now_ns);
  // Extends a live grant by its original lifetime, never past its hard maximum; false with
  // `why` for an unknown, expired or revoked one, or one already at its maximum.
  bool renew(const std::string& grant_id, int64_t now_ns, std::string* why);
  // Marks a live grant as not to be renewed again; true the first time (to report it once).
  bool stop_renewal(const std::string& grant_id);
  // Revokes every live grant (the engine is stopping); returns them as revoked.
  std::vector<citylink::v1::VideoShareGrant> revoke_all(const std::string& reason, int64_t now_ns);
  // Revokes one live grant; returns it as revoked, or nullopt when it is not live.
  std::optional<citylink::v1::VideoShareGrant> revoke(const std::string& grant_id, const std::string& reason,
                                                      int64_t now_ns);
  // Revokes every live grant of the incident; returns how many.
  int revoke_incident(const IncidentKey& incident, const std::string& reason, int64_t now_ns);
  // Expires grants whose time is up; returns how many.
  int expire(int64_t now_ns);

  // The live grant of this incident for this recipient, or nullptr.
  const citylink::v1::VideoShareGrant* live_for(const IncidentKey& incident, const std::string& recipient) const;
  std::size_t live_count() const;
  struct LiveGrant {
    IncidentKey incident;
    citylink::v1::VideoShareGrant grant;
  };
  // Every live grant with its incident (for renewal decisions).
  std::vector<LiveGrant> live() const;
  // The incidents whose live grants list this camera (review M14: such a camera is not
  // turned away for another incident's target).
  std::vector<IncidentKey> incidents_served_by(const std::string& camera_id) const;

 private:
  struct Entry {
    citylink::v1::VideoShareGrant grant;
    IncidentKey incident;
    int64_t lifetime_ns = 0;
    int64_t hard_deadline_ns = 0;
    bool live = true;
    bool renewal_stopped = false;
  };
  // Expired and revoked grants leave the book (the audit log keeps them), so the scans on
  // every tick cover live grants only (H8).
  void retire(std::map<std::string, Entry>::iterator it);
  Sink sink_;
  std::map<std::string, Entry> grants_;
  uint64_t seq_ = 0;
  // A random tag per book (per run): grant ids never repeat across restarts, so the audit
  // log and the agencies never mistake one run's grant for another's.
  std::string run_;
};

}  // namespace citylink::platform::scenarios
