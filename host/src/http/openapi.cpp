// The management API's OpenAPI 3 description, served at /api/openapi.json.
#include <citylink/host/management_server.hpp>
#include <citylink/host/version.hpp>

#include <nlohmann/json.hpp>

namespace citylink::host {
namespace {

using nlohmann::json;

json error_response(const std::string& what) {
  return {{"description", what}, {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json ok(const std::string& what, const json& schema, const std::string& type = "application/json") {
  return {{"description", what}, {"content", {{type, {{"schema", schema}}}}}};
}

json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
json array_of(const std::string& name) { return {{"type", "array"}, {"items", ref(name)}}; }

json query(const std::string& name, const std::string& what, const json& schema = {{"type", "string"}}) {
  return {{"name", name}, {"in", "query"}, {"required", false}, {"description", what}, {"schema", schema}};
}

json path_id(const std::string& name, const std::string& what) {
  return {{"name", name}, {"in", "path"}, {"required", true}, {"description", what}, {"schema", {{"type", "string"}}}};
}

// A route: summary, the role it needs (none: open), its parameters and its answers.
json op(const std::string& summary, const std::string& role, json responses, json params = json::array(),
        json body = nullptr) {
  json o = {{"summary", summary}, {"responses", std::move(responses)}};
  if (!params.empty()) o["parameters"] = std::move(params);
  if (!body.is_null()) o["requestBody"] = std::move(body);
  if (role.empty()) {
    o["security"] = json::array();
  } else {
    o["x-citylink-role"] = role;
    o["description"] = "Needs a bearer token with role " + role + " or higher (viewer < operator < admin).";
    o["responses"]["401"] = error_response("no valid bearer token (refusal audited)");
    o["responses"]["403"] = error_response("the token's role is too low (refusal audited)");
  }
  return o;
}

json build() {
  const json any_object = {{"type", "object"}};
  json paths;
  paths["/healthz"]["get"] = op("The process answers", "", {{"200", ok("alive", any_object)}});
  paths["/readyz"]["get"] =
      op("The city is running (the scenario engine, when configured)", "",
         {{"200", ok("ready", any_object)}, {"503", ok("not ready", any_object)}});
  paths["/api/openapi.json"]["get"] = op("This document", "", {{"200", ok("OpenAPI 3.0", any_object)}});
  paths["/api/whoami"]["get"] = op("The token's holder and role", "viewer", {{"200", ok("caller", ref("Caller"))}});
  paths["/metrics"]["get"] = op("Counters in the Prometheus text format", "viewer",
                                {{"200", ok("metrics", {{"type", "string"}}, "text/plain")}});
  paths["/api/instances"]["get"] =
      op("Every instance of the city config: descriptor, requested and granted topics, isolation, state, counters",
         "viewer", {{"200", ok("instances", array_of("Instance"))}});
  paths["/api/instances/{id}"]["get"] =
      op("One instance", "viewer", {{"200", ok("instance", ref("Instance"))}, {"404", error_response("no such instance")}},
         {path_id("id", "instance id")});
  for (const std::string what : {"enable", "disable", "restart"})
    paths["/api/instances/{id}/" + what]["post"] =
        op(what + " the instance at runtime; the rest of the city runs on (audited)", "admin",
           {{"200", ok("the instance afterwards", ref("Instance"))},
            {"404", error_response("no such instance")},
            {"409", error_response("not in a state to " + what)},
            {"422", error_response("it could not start (the loader's or the plugin's reason)")}},
           {path_id("id", "instance id")});
  paths["/api/incidents"]["get"] =
      op("Incidents, open and recently closed, with their live grants", "viewer",
         {{"200", ok("incidents", array_of("Incident"))}, {"503", error_response("no scenario engine")}},
         {query("state", "open, closed or all (default)", {{"type", "string"}, {"enum", {"open", "closed", "all"}}})});
  paths["/api/grants"]["get"] = op("Live video grants with their expiry", "viewer",
                                   {{"200", ok("grants", array_of("Grant"))}, {"503", error_response("no scenario engine")}});
  json reason_schema = {{"type", "object"}, {"required", {"reason"}}};
  reason_schema["properties"]["reason"] = {{"type", "string"}, {"minLength", 1}, {"maxLength", 500}};
  json revoke_body = {{"required", true}};
  revoke_body["content"]["application/json"]["schema"] = reason_schema;
  paths["/api/grants/{id}/revoke"]["post"] = op(
      "Revoke a live grant now; its recipient is told and the audit log names the operator and the reason", "operator",
      {{"200", ok("the revoked grant", ref("Grant"))},
       {"400", error_response("no reason, or a body that is not JSON")},
       {"404", error_response("not live: unknown, expired or already revoked")},
       {"413", error_response("body larger than host.http.max_body_bytes")}},
      {path_id("id", "grant id")},
      revoke_body);
  paths["/api/cameras"]["get"] =
      op("Cameras as a GeoJSON FeatureCollection (position; heading, field of view, range, state, owner as properties)",
         "viewer", {{"200", ok("cameras", ref("CameraCollection"))}},
         {query("limit", "at most this many (default 100000)", {{"type", "integer"}, {"minimum", 0}})});
  paths["/api/audit"]["get"] = op(
      "Audit records, oldest first", "viewer",
      {{"200", ok("records", array_of("AuditRecord"))}, {"400", error_response("a bad time or limit")},
       {"404", error_response("no audit log configured")}},
      {query("incident", "occurrence number"), query("recipient", "agency"),
       query("from", "time >= from: 2026-11-30T12:00:00Z, 2026-11-30 or ns"), query("to", "time < to"),
       query("limit", "1..1000 (default 1000)", {{"type", "integer"}})});
  paths["/api/audit/verify"]["get"] = op("Verify the audit log's hash chain", "viewer",
                                         {{"200", ok("result", ref("AuditVerification"))},
                                          {"404", error_response("no audit log configured")}});
  paths["/api/transparency"]["get"] =
      op("The public transparency report of a month: counts only, no personal data", "viewer",
         {{"200", ok("report", ref("TransparencyReport"))}, {"400", error_response("month is not YYYY-MM")},
          {"404", error_response("no audit log configured")}},
         {query("month", "YYYY-MM")});
  paths["/api/events"]["get"] = op(
      "Live events as Server-Sent Events: incident, grant, dispatch, instance (each `data:` is a JSON object). A "
      "stream that falls behind host.http.event_queue events gets an `overflow` event and is closed.",
      "viewer",
      {{"200", ok("event stream", {{"type", "string"}}, "text/event-stream")},
       {"503", error_response("host.http.max_event_clients streams are already open")}});

  const json str = {{"type", "string"}};
  const json strs = {{"type", "array"}, {"items", str}};
  json schemas = {
      {"Error", {{"type", "object"}, {"properties", {{"error", str}, {"status", {{"type", "integer"}}}}}}},
      {"Caller", {{"type", "object"}, {"properties", {{"name", str}, {"role", str}}}}},
      {"Instance",
       {{"type", "object"},
        {"properties",
         {{"instance_id", str}, {"plugin_id", str},
          {"state", {{"type", "string"}, {"enum", {"created", "running", "stopped", "failed", "disabled"}}}},
          {"isolation", str}, {"where", str}, {"last_error", str}, {"recipient", str},
          {"enabled_in_config", {{"type", "boolean"}}}, {"descriptor", any_object},
          {"requested", any_object}, {"granted", any_object}, {"counters", any_object}}}}},
      {"Incident",
       {{"type", "object"},
        {"properties",
         {{"source", str}, {"occurrence_number", str}, {"event_code", str}, {"event_name", str}, {"grade", str},
          {"status", str}, {"open", {{"type", "boolean"}}}, {"updates", {{"type", "integer"}}}, {"occurred", str},
          {"last_change", str}, {"district", str}, {"location", any_object}, {"live_grants", strs}}}}},
      {"Grant",
       {{"type", "object"},
        {"properties",
         {{"grant_id", str}, {"incident_id", str}, {"incident_source", str}, {"recipient", str}, {"camera_ids", strs},
          {"purpose", str}, {"legal_basis", str}, {"issued", str}, {"expires", str},
          {"expires_unix_ms", {{"type", "integer"}}}, {"seconds_left", {{"type", "integer"}}}, {"action", str},
          {"reason", str}}}}},
      {"CameraCollection",
       {{"type", "object"},
        {"properties", {{"type", str}, {"total", {{"type", "integer"}}}, {"features", {{"type", "array"}, {"items", any_object}}}}}}},
      {"AuditRecord",
       {{"type", "object"},
        {"properties",
         {{"seq", {{"type", "integer"}}}, {"record_id", str}, {"action", str}, {"actor", str}, {"recipient", str},
          {"incident_id", str}, {"grant_id", str}, {"camera_ids", strs}, {"purpose", str}, {"legal_basis", str},
          {"time", str}, {"detail", str}, {"hash", str}}}}},
      {"AuditVerification",
       {{"type", "object"},
        {"properties", {{"ok", {{"type", "boolean"}}}, {"records_checked", {{"type", "integer"}}}, {"problem", str}}}}},
      {"TransparencyReport",
       {{"type", "object"},
        {"properties",
         {{"month", str}, {"video_grants", {{"type", "array"}, {"items", any_object}}},
          {"personal_data_deliveries", {{"type", "array"}, {"items", any_object}}}}}}}};
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "CityLink management API"},
            {"version", kHostVersion},
            {"description", "The operator's view of a running city and its controls. See docs/api.md."}}},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}, {"schemas", schemas}}},
          {"security", {{{"bearer", json::array()}}}},
          {"paths", paths}};
}

}  // namespace

const std::string& openapi_document() {
  static const std::string doc = build().dump(2);
  return doc;
}

}  // namespace citylink::host
