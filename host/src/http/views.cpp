// JSON for the management API.
#include "views.hpp"

#include <citylink/host/counters.hpp>

#include <ctime>

namespace citylink::host::http {

using nlohmann::json;

namespace {
template <class Repeated>
std::vector<std::string> list(const Repeated& r) {
  return {r.begin(), r.end()};
}
}  // namespace

std::string iso_time(int64_t unix_ns) {
  if (unix_ns <= 0) return {};
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>((unix_ns / 1'000'000) % 1000));
  return std::string(buf, n) + ms;
}

json counters_json(const CounterSnapshot& c) {
  return {{"published", c.published},
          {"delivered", c.delivered},
          {"failed", c.failed},
          {"rejected", c.rejected_total()},
          {"dropped_outgoing", c.dropped_outgoing},
          {"dropped_incoming", c.dropped_incoming},
          {"dropped_stopped", c.dropped_stopped},
          {"dropped_critical", c.dropped_critical},
          {"lost_in_worker", c.lost_in_worker},
          {"restarts", c.restarts},
          {"overruns", c.overruns},
          {"durable_accepted", c.durable_accepted},
          {"acked", c.acked},
          {"redelivered", c.redelivered},
          {"dead_lettered", c.dead_lettered},
          {"outbox_depth", c.outbox_depth},
          {"outbox_oldest_ms", c.outbox_oldest_ms}};
}

json instance_json(const InstanceReport& r) {
  json j = {{"instance_id", r.instance_id},
            {"plugin_id", r.plugin_id},
            {"state", r.state},
            {"isolation", r.isolation},
            {"where", r.where},
            {"last_error", r.last_error},
            {"recipient", r.recipient},
            {"enabled_in_config", r.enabled_in_config},
            {"granted", {{"publish", r.granted_publish}, {"subscribe", r.granted_subscribe}}},
            {"counters", counters_json(r.counters)}};
  if (r.descriptor) {
    const auto& d = *r.descriptor;
    j["descriptor"] = {{"id", d.id},           {"name", d.name},         {"vendor", d.vendor},
                       {"version", d.version}, {"kind", d.kind},         {"description", d.description},
                       {"features", d.features}, {"extensions", d.extensions}};
    j["requested"] = {{"publish", d.publishes}, {"subscribe", d.subscribes}};
  } else {
    j["descriptor"] = nullptr;
    j["requested"] = nullptr;
  }
  return j;
}

json incident_json(const scenarios::Incident& i) {
  const auto& ev = i.latest;
  json j = {{"source", i.source},
            {"occurrence_number", i.id},
            {"event_code", i.event_code},
            {"event_name", ev.event_name()},
            {"grade", citylink::v1::EventGrade_Name(ev.grade())},
            {"status", citylink::v1::EventStatus_Name(ev.status())},
            {"open", i.open},
            {"updates", i.updates},
            {"occurred", iso_time(ev.occurred_unix_ns())},
            {"last_change", iso_time(i.last_change_ns)},
            {"district", ev.place().district()}};
  if (ev.has_location()) j["location"] = {{"lat", ev.location().lat()}, {"lon", ev.location().lon()}};
  else j["location"] = nullptr;
  return j;
}

json grant_json(const citylink::v1::VideoShareGrant& g, int64_t now_ns) {
  const int64_t left = g.expires_unix_ns() - now_ns;
  return {{"grant_id", g.grant_id()},
          {"incident_id", g.incident_id()},
          {"incident_source", g.incident_source()},
          {"recipient", g.recipient()},
          {"camera_ids", list(g.camera_ids())},
          {"purpose", g.purpose()},
          {"legal_basis", g.legal_basis()},
          {"issued", iso_time(g.issued_unix_ns())},
          {"expires", iso_time(g.expires_unix_ns())},
          {"expires_unix_ms", g.expires_unix_ns() / 1'000'000},
          {"seconds_left", left > 0 ? left / 1'000'000'000 : 0},
          {"action", citylink::v1::VideoShareGrant::Action_Name(g.action())},
          {"reason", g.reason()}};
}

json dispatch_json(const std::string& topic, const citylink::v1::DispatchSupport& d) {
  json cams = json::array();
  for (const auto& c : d.cameras()) cams.push_back(c.camera_id());
  json j = {{"topic", topic},
            {"recipient", d.recipient()},
            {"incident_id", d.incident_id()},
            {"incident_source", d.incident_source()},
            {"event_code", d.event_code()},
            {"camera_ids", cams},
            {"grant_id", d.grant_id()},
            {"status", d.status()},
            {"purpose", d.purpose()},
            {"personal_data_fields", d.personal_data_size()}};
  if (d.has_position()) j["position"] = {{"lat", d.position().lat()}, {"lon", d.position().lon()}};
  return j;
}

json camera_feature(const CameraRecord& c, bool live) {
  return {{"type", "Feature"},
          {"geometry", {{"type", "Point"}, {"coordinates", {c.lon, c.lat}}}},
          {"properties",
           {{"camera_id", c.camera_id},
            {"name", c.name},
            {"owner", c.owner},
            {"owner_instance", c.owner_instance},
            {"purpose", c.purpose},
            {"heading_deg", c.heading_deg},
            {"fov_deg", c.fov_deg},
            {"range_m", c.range_m},
            {"ptz", c.ptz},
            {"state", citylink::v1::CameraState_Name(c.state)},
            {"live", live},
            {"last_seen", iso_time(c.last_seen_ns)}}}};
}

json audit_json(const StoredAuditRecord& s) {
  const auto& r = s.record;
  return {{"seq", s.seq},
          {"record_id", r.record_id()},
          {"action", r.action()},
          {"actor", r.actor()},
          {"recipient", r.recipient()},
          {"incident_id", r.incident_id()},
          {"incident_source", r.incident_source()},
          {"grant_id", r.grant_id()},
          {"camera_ids", list(r.camera_ids())},
          {"purpose", r.purpose()},
          {"legal_basis", r.legal_basis()},
          {"time", iso_time(r.time_unix_ns())},
          {"time_unix_ns", r.time_unix_ns()},
          {"valid_until", iso_time(r.valid_until_unix_ns())},
          {"data_fields", list(r.data_fields())},
          {"detail", r.detail()},
          {"hash", r.hash()}};
}

json verify_json(const AuditVerifyResult& r) {
  return {{"ok", r.ok},
          {"records_checked", r.records_checked},
          {"problem", r.problem},
          {"kind", to_string(r.kind)},
          {"first_bad_seq", r.first_bad_seq},
          {"checkpoint_seq", r.checkpoint_seq},
          {"head_seq", r.head_seq},
          {"head_hash", r.head_hash}};
}

}  // namespace citylink::host::http
