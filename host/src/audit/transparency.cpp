// The monthly transparency report from the audit log.
#include <citylink/host/transparency.hpp>

#include <algorithm>
#include <ctime>
#include <map>
#include <stdexcept>
#include <tuple>

namespace citylink::host {

std::pair<int64_t, int64_t> month_range(const std::string& month) {
  int y = 0, m = 0;
  char tail = 0;
  if (month.size() != 7 || std::sscanf(month.c_str(), "%4d-%2d%c", &y, &m, &tail) != 2 || month[4] != '-' ||
      y < 1970 || y > 9999 || m < 1 || m > 12)
    throw std::invalid_argument("month '" + month + "' is not YYYY-MM (for example 2026-11)");
  auto start = [](int year, int mon) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = 1;
    return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
  };
  return {start(y, m), m == 12 ? start(y + 1, 1) : start(y, m + 1)};
}

namespace {

using Group = std::tuple<std::string, std::string, std::string>;  // purpose, legal basis, recipient

struct GrantLife {
  Group group;
  int64_t issued_ns = 0;
  int64_t ended_ns = 0;  // 0: no end recorded (still live, or the host died: revoked at next start)
  std::string how;       // revoked, expired, live
  bool by_operator = false;
  std::size_t cameras = 0;
  int renewals = 0;
};

nlohmann::json group_key(const Group& g) {
  return {{"purpose", std::get<0>(g)}, {"legal_basis", std::get<1>(g)}, {"recipient", std::get<2>(g)}};
}

}  // namespace

nlohmann::json transparency_report(const AuditStore& log, const std::string& month) {
  const auto [from, to] = month_range(month);
  AuditQuery q;
  q.from_ns = from;  // grants issued in the month may end after it
  std::map<std::string, GrantLife> grants;  // by grant id, issued in the month
  std::map<Group, uint64_t> deliveries;
  uint64_t records = 0;
  for (const auto& s : log.query(q)) {
    const auto& r = s.record;
    const int64_t t = r.time_unix_ns();
    if (t < to) ++records;
    const Group g{r.purpose(), r.legal_basis(), r.recipient()};
    if (r.action() == "video_grant.issue" && t < to) {
      auto& life = grants[r.grant_id().empty() ? r.record_id() : r.grant_id()];
      life.group = g;
      life.issued_ns = t;
      life.how = "live";
      life.cameras = static_cast<std::size_t>(r.camera_ids_size());
    } else if (r.action() == "video_grant.renew") {
      if (auto it = grants.find(r.grant_id()); it != grants.end()) ++it->second.renewals;
    } else if (r.action() == "video_grant.revoke" || r.action() == "video_grant.expire") {
      const bool revoke = r.action() == "video_grant.revoke";
      auto end = [&](GrantLife& life) {
        if (life.ended_ns) return;
        life.ended_ns = t;
        life.how = revoke ? "revoked" : "expired";
        life.by_operator = r.actor().rfind("operator:", 0) == 0;
      };
      if (!r.grant_id().empty()) {
        if (auto it = grants.find(r.grant_id()); it != grants.end()) end(it->second);
      } else {
        // An older record names no grant: it ends every grant of the incident for the recipient.
        for (auto& [id, life] : grants)
          if (std::get<2>(life.group) == r.recipient() && !life.ended_ns) end(life);
      }
    } else if (r.action() == "personal_data.deliver" && t < to) {
      ++deliveries[g];
    }
  }
  struct Totals {
    uint64_t issued = 0, revoked = 0, revoked_by_operator = 0, expired = 0, live = 0, renewals = 0, cameras = 0;
    std::vector<double> seconds;
  };
  std::map<Group, Totals> by_group;
  for (const auto& [id, life] : grants) {
    auto& t = by_group[life.group];
    ++t.issued;
    t.renewals += static_cast<uint64_t>(life.renewals);
    t.cameras += life.cameras;
    if (life.how == "revoked") ++t.revoked;
    if (life.by_operator) ++t.revoked_by_operator;
    if (life.how == "expired") ++t.expired;
    if (life.how == "live") ++t.live;
    if (life.ended_ns) t.seconds.push_back(static_cast<double>(life.ended_ns - life.issued_ns) / 1e9);
  }
  nlohmann::json grants_json = nlohmann::json::array();
  uint64_t total_issued = 0;
  for (auto& [g, t] : by_group) {
    std::sort(t.seconds.begin(), t.seconds.end());
    nlohmann::json j = group_key(g);
    j["grants_issued"] = t.issued;
    j["revoked"] = t.revoked;
    j["revoked_by_operator"] = t.revoked_by_operator;
    j["expired"] = t.expired;
    j["still_live_or_unrecorded"] = t.live;
    j["renewals"] = t.renewals;
    j["cameras_shared"] = t.cameras;
    if (t.seconds.empty()) {
      j["duration_seconds"] = nullptr;
    } else {
      double sum = 0;
      for (double s : t.seconds) sum += s;
      j["duration_seconds"] = {{"median", t.seconds[t.seconds.size() / 2]},
                               {"mean", sum / static_cast<double>(t.seconds.size())},
                               {"max", t.seconds.back()}};
    }
    total_issued += t.issued;
    grants_json.push_back(std::move(j));
  }
  nlohmann::json deliveries_json = nlohmann::json::array();
  uint64_t total_deliveries = 0;
  for (const auto& [g, n] : deliveries) {
    nlohmann::json j = group_key(g);
    j["deliveries"] = n;
    total_deliveries += n;
    deliveries_json.push_back(std::move(j));
  }
  return {{"month", month},
          {"audit_records_in_month", records},
          {"video_grants", grants_json},
          {"video_grants_total", total_issued},
          {"personal_data_deliveries", deliveries_json},
          {"personal_data_deliveries_total", total_deliveries},
          {"note", "Counts only: no personal data, camera ids or incident numbers. Computed from the hash-chained "
                   "audit log; a grant counts in the month it was issued."}};
}

}  // namespace citylink::host
