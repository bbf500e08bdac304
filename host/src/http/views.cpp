// JSON for the management API.
#include "views.hpp"

#include <citylink/host/counters.hpp>

#include <ctime>

namespace citylink::host {

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

ApiResponse api_error(int status, const std::string& message) {
  return {status, nlohmann::json{{"error", message}, {"status", status}}};
}

}  // namespace citylink::host

namespace citylink::host::http {

using nlohmann::json;

namespace {
template <class Repeated>
std::vector<std::string> list(const Repeated& r) {
  return {r.begin(), r.end()};
}
}  // namespace

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
          {"refused_durable", c.refused_durable},
          {"refused_rate", c.refused_rate},
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
