// JSON for the platform's part of the management API.
#include "views.hpp"

#include <citylink/host/bus_component.hpp>

namespace citylink::platform::api {

using nlohmann::json;

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
          {"camera_ids", std::vector<std::string>(g.camera_ids().begin(), g.camera_ids().end())},
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

}  // namespace citylink::platform::api
