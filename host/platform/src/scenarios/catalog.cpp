// The table of scenarios and the config reading of each.
#include "catalog.hpp"

#include <citylink/platform/scenarios/cctv_tracking.hpp>
#include <citylink/platform/scenarios/disaster.hpp>
#include <citylink/platform/scenarios/dispatch_support.hpp>
#include <citylink/platform/scenarios/electronic_anklet.hpp>
#include <citylink/platform/scenarios/emergency_video_112.hpp>
#include <citylink/platform/scenarios/vulnerable_sos.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/topic.hpp>

#include <functional>
#include <set>

namespace citylink::platform::scenarios {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

using Factory = std::function<std::unique_ptr<Scenario>(const YAML::Node&, const ConfigReader&, const std::string&)>;

struct Kind {
  const char* key;
  std::set<std::string> fields;  // besides `enabled`
  Factory make;
};

// The keys every video-sharing scenario takes.
const std::set<std::string> kVideoKeys = {"grant_minutes", "renew_before_seconds", "max_grant_minutes",
                                          "stale_after_minutes", "recipient", "purpose", "legal_basis"};

std::string read_recipient(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  const std::string v = r.string(n, w);
  if (!is_valid_recipient(v))
    r.fail(n, w, "'" + v + "' is not a recipient name; use 1-64 letters, digits, ' ', '.', '_' or '-'");
  return v;
}

void read_video_policy(const YAML::Node& n, const ConfigReader& r, const std::string& w, VideoPolicy& p) {
  if (n["grant_minutes"])
    p.lifetime_ns = static_cast<int64_t>(r.real(n["grant_minutes"], w + ".grant_minutes", 0.001, 24 * 60) * 60 * kSecond);
  if (n["renew_before_seconds"])
    p.renew_before_ns =
        static_cast<int64_t>(r.real(n["renew_before_seconds"], w + ".renew_before_seconds", 0, 3600) * kSecond);
  if (n["max_grant_minutes"])
    p.max_lifetime_ns =
        static_cast<int64_t>(r.real(n["max_grant_minutes"], w + ".max_grant_minutes", 0.001, 7 * 24 * 60) * 60 * kSecond);
  if (n["stale_after_minutes"])
    p.stale_after_ns =
        static_cast<int64_t>(r.real(n["stale_after_minutes"], w + ".stale_after_minutes", 0, 7 * 24 * 60) * 60 * kSecond);
  if (n["recipient"]) p.recipient = read_recipient(n["recipient"], r, w + ".recipient");
  if (n["purpose"]) p.purpose = r.string(n["purpose"], w + ".purpose");
  if (n["legal_basis"]) p.legal_basis = r.string(n["legal_basis"], w + ".legal_basis");
  // L7 of the review: a renewal window as long as the grant renews on every tick, forever;
  // one shorter than the engine's tick lets grants of open incidents expire first.
  const auto at = n["renew_before_seconds"] ? n["renew_before_seconds"] : n;
  if (p.renew_before_ns != 0 && p.renew_before_ns >= p.lifetime_ns)
    r.fail(at, w + ".renew_before_seconds",
           "must be shorter than the grant lifetime (grant_minutes); use 0 to never renew");
  if (p.renew_before_ns != 0 && p.renew_before_ns < kSecond / 5)
    r.fail(at, w + ".renew_before_seconds", "must be 0 (never renew) or at least 0.2 s (two engine ticks)");
  if (p.max_lifetime_ns < p.lifetime_ns)
    r.fail(n["max_grant_minutes"] ? n["max_grant_minutes"] : n, w + ".max_grant_minutes",
           "must be at least grant_minutes (the hard maximum covers renewals)");
}

std::set<std::string> with(std::set<std::string> a, const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

std::unique_ptr<Scenario> make_emergency_video_112(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  EmergencyVideo112Config c;
  if (n["radius_m"]) c.radius_m = r.real(n["radius_m"], w + ".radius_m", 1, 50'000);
  if (n["max_cameras"]) c.max_cameras = r.number<std::size_t>(n["max_cameras"], w + ".max_cameras", 1, 100);
  read_video_policy(n, r, w, c.video);
  return std::make_unique<EmergencyVideo112>(c);
}

void read_area(const YAML::Node& n, const ConfigReader& r, const std::string& w, double& radius, std::size_t& max) {
  if (n["radius_m"]) radius = r.real(n["radius_m"], w + ".radius_m", 1, 50'000);
  if (n["max_cameras"]) max = r.number<std::size_t>(n["max_cameras"], w + ".max_cameras", 1, 100);
}

// Agency outputs go under dispatch.*: the only place the engine publishes them and the
// router delivers them by recipient (M8 of the review: a typo used to vanish silently).
std::string read_topic(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  const std::string t = r.string(n, w);
  if (!is_valid_topic(t)) r.fail(n, w, "'" + t + "' is not a topic (dotted lower-case words, e.g. dispatch.112)");
  if (!grant_allows("dispatch.*", t))
    r.fail(n, w, "'" + t + "' is not under dispatch.; agency outputs go on dispatch.<something> (e.g. dispatch.119)");
  return t;
}


Factory make_dispatch(DispatchSupportConfig (*defaults)()) {
  return [defaults](const YAML::Node& n, const ConfigReader& r, const std::string& w) -> std::unique_ptr<Scenario> {
    auto c = defaults();
    read_area(n, r, w, c.radius_m, c.max_cameras);
    if (n["recipient"]) c.recipient = read_recipient(n["recipient"], r, w + ".recipient");
    if (n["topic"]) c.topic = read_topic(n["topic"], r, w + ".topic");
    return std::make_unique<DispatchSupport>(c);
  };
}

std::unique_ptr<Scenario> make_vulnerable_sos(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  VulnerableSosConfig c;
  read_area(n, r, w, c.radius_m, c.max_cameras);
  if (const auto rs = n["recipients"]) {
    if (!rs.IsSequence() || rs.size() == 0) r.fail(rs, w + ".recipients", "expected a list of recipients");
    c.recipients.clear();
    for (std::size_t i = 0; i < rs.size(); ++i) {
      const std::string wi = w + ".recipients[" + std::to_string(i) + "]";
      r.only_keys(rs[i], wi, {"name", "topic", "purpose", "legal_basis", "personal_data"});
      SosRecipient rec;
      if (!rs[i]["name"] || !rs[i]["topic"]) r.fail(rs[i], wi, "every recipient needs `name` and `topic`");
      rec.name = read_recipient(rs[i]["name"], r, wi + ".name");
      rec.topic = read_topic(rs[i]["topic"], r, wi + ".topic");
      if (rs[i]["purpose"]) rec.purpose = r.string(rs[i]["purpose"], wi + ".purpose");
      if (rs[i]["legal_basis"]) rec.legal_basis = r.string(rs[i]["legal_basis"], wi + ".legal_basis");
      if (rs[i]["personal_data"]) {
        rec.personal_data = r.strings(rs[i]["personal_data"], wi + ".personal_data");
        if (!rec.personal_data.empty() && rec.purpose.empty())
          r.fail(rs[i]["personal_data"], wi + ".personal_data",
                 "personal data needs a `purpose` for this recipient; add one or remove personal_data");
      }
      c.recipients.push_back(std::move(rec));
    }
  }
  return std::make_unique<VulnerableSos>(c);
}

std::unique_ptr<Scenario> make_electronic_anklet(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  ElectronicAnkletConfig c;
  read_area(n, r, w, c.radius_m, c.max_cameras);
  read_video_policy(n, r, w, c.video);
  if (n["topic"]) c.topic = read_topic(n["topic"], r, w + ".topic");
  if (n["violation_item"]) c.violation_item = r.string(n["violation_item"], w + ".violation_item");
  if (n["video_violations"]) c.video_violations = r.strings(n["video_violations"], w + ".video_violations");
  return std::make_unique<ElectronicAnklet>(c);
}

std::unique_ptr<Scenario> make_disaster(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  DisasterConfig c;
  read_area(n, r, w, c.radius_m, c.max_cameras);
  if (n["recipient"]) c.recipient = read_recipient(n["recipient"], r, w + ".recipient");
  if (n["topic"]) c.topic = read_topic(n["topic"], r, w + ".topic");
  if (n["state_retention_minutes"])
    c.state_retention_ns = static_cast<int64_t>(
        r.real(n["state_retention_minutes"], w + ".state_retention_minutes", 1, 7 * 24 * 60) * 60e9);
  if (const auto rules = n["rules"]) {
    if (!rules.IsSequence() || rules.size() == 0) r.fail(rules, w + ".rules", "expected a list of rules");
    c.rules.clear();
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const auto& ru = rules[i];
      const std::string wi = w + ".rules[" + std::to_string(i) + "]";
      r.only_keys(ru, wi, {"name", "zone_prefix", "kind", "raise_above", "raise_below", "clear_below", "clear_above", "hold_seconds"});
      DisasterRule rule;
      for (const char* k : {"name", "zone_prefix", "kind"})
        if (!ru[k]) r.fail(ru, wi + "." + k, "missing; a rule needs name, zone_prefix and kind");
      rule.name = r.string(ru["name"], wi + ".name");
      rule.zone_prefix = r.string(ru["zone_prefix"], wi + ".zone_prefix");
      rule.kind = r.string(ru["kind"], wi + ".kind");
      if (ru["raise_above"] && ru["raise_below"]) r.fail(ru, wi, "give raise_above or raise_below, not both");
      rule.above = static_cast<bool>(ru["raise_above"]);
      if (!ru["raise_above"] && !ru["raise_below"]) r.fail(ru, wi, "missing raise_above or raise_below");
      rule.raise_at = r.real(rule.above ? ru["raise_above"] : ru["raise_below"], wi + (rule.above ? ".raise_above" : ".raise_below"), -1e9, 1e9);
      const char* clear_key = rule.above ? "clear_below" : "clear_above";
      if (!ru[clear_key]) r.fail(ru, wi + "." + clear_key, std::string("missing; with ") + (rule.above ? "raise_above" : "raise_below") + " the rule needs " + clear_key + " (hysteresis)");
      rule.clear_at = r.real(ru[clear_key], wi + "." + clear_key, -1e9, 1e9);
      if (rule.above ? rule.clear_at > rule.raise_at : rule.clear_at < rule.raise_at)
        r.fail(ru[clear_key], wi + "." + clear_key, "must lie on the safe side of the raise threshold");
      if (ru["hold_seconds"]) rule.hold_ns = static_cast<int64_t>(r.real(ru["hold_seconds"], wi + ".hold_seconds", 0, 86400) * kSecond);
      c.rules.push_back(rule);
    }
  }
  return std::make_unique<Disaster>(c);
}

std::unique_ptr<Scenario> make_cctv_tracking(const YAML::Node& n, const ConfigReader& r, const std::string& w) {
  CctvTrackingConfig c;
  if (n["min_lookahead_m"]) c.min_lookahead_m = r.real(n["min_lookahead_m"], w + ".min_lookahead_m", 1, 10'000);
  if (n["lookahead_seconds"]) c.lookahead_seconds = r.real(n["lookahead_seconds"], w + ".lookahead_seconds", 0, 3600);
  if (n["half_angle_deg"]) c.half_angle_deg = r.real(n["half_angle_deg"], w + ".half_angle_deg", 1, 180);
  if (n["max_predicted"]) c.max_predicted = r.number<std::size_t>(n["max_predicted"], w + ".max_predicted", 1, 20);
  if (n["ptz"]) c.ptz = r.boolean(n["ptz"], w + ".ptz");
  if (n["ptz_needs_incident"]) c.ptz_needs_incident = r.boolean(n["ptz_needs_incident"], w + ".ptz_needs_incident");
  if (n["ptz_min_interval_seconds"])
    c.ptz_min_interval_ns = static_cast<int64_t>(
        r.real(n["ptz_min_interval_seconds"], w + ".ptz_min_interval_seconds", 0, 3600) * 1e9);
  if (n["recipient"]) c.recipient = read_recipient(n["recipient"], r, w + ".recipient");
  if (n["topic"]) c.topic = read_topic(n["topic"], r, w + ".topic");
  if (n["track_retention_seconds"])
    c.track_retention_ns = static_cast<int64_t>(
        r.real(n["track_retention_seconds"], w + ".track_retention_seconds", 1, 7 * 24 * 3600) * 1e9);
  return std::make_unique<CctvTracking>(c);
}

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> k = {
      {"emergency_video_112", with({"radius_m", "max_cameras"}, kVideoKeys), make_emergency_video_112},
      {"dispatch_112", {"radius_m", "max_cameras", "recipient", "topic"}, make_dispatch(dispatch_112_defaults)},
      {"dispatch_119", {"radius_m", "max_cameras", "recipient", "topic"}, make_dispatch(dispatch_119_defaults)},
      {"disaster", {"radius_m", "max_cameras", "recipient", "topic", "rules", "state_retention_minutes"},
       make_disaster},
      {"vulnerable_sos", {"radius_m", "max_cameras", "recipients"}, make_vulnerable_sos},
      {"electronic_anklet", with({"radius_m", "max_cameras", "topic", "violation_item", "video_violations"}, kVideoKeys),
       make_electronic_anklet},
      {"cctv_tracking",
       {"min_lookahead_m", "lookahead_seconds", "half_angle_deg", "max_predicted", "ptz", "ptz_needs_incident",
        "ptz_min_interval_seconds", "recipient", "topic", "track_retention_seconds"},
       make_cctv_tracking},
  };
  return k;
}

}  // namespace

std::vector<std::string> scenario_keys() {
  std::vector<std::string> out;
  for (const auto& k : kinds()) out.push_back(k.key);
  return out;
}

std::vector<std::unique_ptr<Scenario>> build_scenarios(const YAML::Node& node, const ConfigReader& r) {
  std::vector<std::unique_ptr<Scenario>> out;
  if (!node || node.IsNull()) return out;
  std::set<std::string> keys;
  for (const auto& k : kinds()) keys.insert(k.key);
  r.only_keys(node, "scenarios", keys);
  for (const auto& k : kinds()) {
    const auto n = node[k.key];
    if (!n) continue;
    const std::string where = std::string("scenarios.") + k.key;
    if (n.IsNull()) {  // `emergency_video_112:` alone enables it with defaults
      out.push_back(k.make(YAML::Node(YAML::NodeType::Map), r, where));
      continue;
    }
    auto fields = k.fields;
    fields.insert("enabled");
    r.only_keys(n, where, fields);
    if (n["enabled"] && !r.boolean(n["enabled"], where + ".enabled")) continue;
    out.push_back(k.make(n, r, where));
  }
  return out;
}

}  // namespace citylink::platform::scenarios
