// A sink that plays an agency's console (the 112 centre, a fire station, the situation
// room, the MOJ centre): one readable line per message it receives, through the host log,
// and optionally one JSON line with the decoded fields in an `out` file.
//
// What it receives is decided by the city config (grants.subscribe); the descriptor
// subscribes to everything an agency could be sent.
#include <citylink/plugin.hpp>
#include <citylink/v1/analytics.pb.h>
#include <citylink/v1/audit.pb.h>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/platform_event.pb.h>
#include <citylink/v1/sensor.pb.h>

#include <atomic>
#include <ctime>
#include <fstream>

#include "sample_support.hpp"

namespace {

using citylink::samples::Fields;
using citylink::samples::json;
using citylink::samples::num;

// "12:00:00" local time, or "-" for an unset time.
std::string clock_time(int64_t unix_ns) {
  if (unix_ns <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

json point(const citylink::v1::GeoPoint& p) { return {{"lat", p.lat()}, {"lon", p.lon()}}; }
std::string where(const citylink::v1::GeoPoint& p) {
  return p.lat() == 0 && p.lon() == 0 ? "(no position)" : num(p.lat(), 5) + "," + num(p.lon(), 5);
}

template <class Map>
json object_of(const Map& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}
template <class List>
json list_of(const List& l) {
  json j = json::array();
  for (const auto& v : l) j.push_back(v);
  return j;
}
template <class List>
std::string joined(const List& l, std::size_t max = 5) {
  std::string s;
  std::size_t n = 0;
  for (const auto& v : l) {
    if (n++ == max) return s + ", ...";
    s += (s.empty() ? "" : ", ") + std::string(v);
  }
  return s;
}

std::string status_name(int status) {
  switch (status) {
    case 10: return "occurred";
    case 40: return "changed";
    case 50: return "released";
    case 90: return "cancelled";
    case 91: return "finished";
    default: return "status " + std::to_string(status);
  }
}

// One decoded message: the summary line and the fields for the JSON record.
struct Decoded {
  std::string summary;
  json fields = json::object();
};

Decoded decode(const citylink::v1::DispatchSupport& d) {
  Decoded out;
  json cams = json::array();
  std::vector<std::string> names;
  for (const auto& c : d.cameras()) {
    cams.push_back({{"camera_id", c.camera_id()}, {"stream_uri", c.stream_uri()}, {"distance_m", c.distance_m()},
                    {"covers_target", c.covers_target()}, {"position", point(c.position())}});
    names.push_back(c.camera_id() + " " + num(c.distance_m(), 0) + " m");
  }
  json targets = json::array();
  for (const auto& p : d.target_positions()) targets.push_back(point(p));
  out.fields = {{"recipient", d.recipient()}, {"incident_id", d.incident_id()}, {"incident_source", d.incident_source()},
                {"event_code", d.event_code()},
                {"status", d.status()}, {"cameras", cams}, {"target_positions", targets},
                {"position", point(d.position())}, {"address", d.address().full_text()}, {"text", d.text()},
                {"grant_id", d.grant_id()}, {"purpose", d.purpose()}, {"personal_data", object_of(d.personal_data())}};
  std::vector<std::string> fields;
  for (const auto& [k, v] : d.personal_data()) fields.push_back(k);
  std::sort(fields.begin(), fields.end());
  out.summary = "DispatchSupport " + d.event_code() + " " + d.incident_id() + " (" + status_name(d.status()) + ") to " +
                d.recipient() + " at " + where(d.position()) +
                (d.address().full_text().empty() ? "" : " '" + d.address().full_text() + "'") + ": " +
                std::to_string(d.cameras_size()) + " cameras" + (names.empty() ? "" : " (" + joined(names) + ")") +
                (d.grant_id().empty() ? "" : ", grant " + d.grant_id()) +
                (fields.empty() ? "" : ", personal data: " + joined(fields, 10)) +
                (d.text().empty() ? "" : " - " + d.text());
  return out;
}

Decoded decode(const citylink::v1::VideoShareGrant& g) {
  Decoded out;
  std::string action = citylink::v1::VideoShareGrant_Action_Name(g.action());
  if (action.rfind("ACTION_", 0) == 0) action = action.substr(7);
  out.fields = {{"grant_id", g.grant_id()}, {"incident_id", g.incident_id()}, {"incident_source", g.incident_source()},
                {"recipient", g.recipient()},
                {"action", action}, {"camera_ids", list_of(g.camera_ids())}, {"stream_uris", list_of(g.stream_uris())},
                {"purpose", g.purpose()}, {"legal_basis", g.legal_basis()}, {"issued_unix_ns", g.issued_unix_ns()},
                {"expires_unix_ns", g.expires_unix_ns()}, {"reason", g.reason()}};
  out.summary = "VideoShareGrant " + action + " " + g.grant_id() + " for " + g.incident_id() + " to " + g.recipient() +
                ": " + std::to_string(g.camera_ids_size()) + " cameras" +
                (g.camera_ids().empty() ? "" : " (" + joined(g.camera_ids()) + ")") + ", expires " +
                clock_time(g.expires_unix_ns()) + (g.purpose().empty() ? "" : ", purpose " + g.purpose()) +
                (g.reason().empty() ? "" : " - " + g.reason());
  return out;
}

Decoded decode(const citylink::v1::AuditRecord& a) {
  Decoded out;
  out.fields = {{"record_id", a.record_id()}, {"action", a.action()}, {"actor", a.actor()},
                {"recipient", a.recipient()}, {"incident_id", a.incident_id()}, {"incident_source", a.incident_source()},
                {"camera_ids", list_of(a.camera_ids())},
                {"purpose", a.purpose()}, {"legal_basis", a.legal_basis()}, {"time_unix_ns", a.time_unix_ns()},
                {"valid_until_unix_ns", a.valid_until_unix_ns()}, {"data_fields", list_of(a.data_fields())},
                {"detail", a.detail()}, {"hash", a.hash()}};
  out.summary = "AuditRecord " + a.action() + " by " + a.actor() + " for " + a.incident_id() + " to " + a.recipient() +
                ": " + std::to_string(a.camera_ids_size()) + " cameras" +
                (a.data_fields().empty() ? "" : ", data " + joined(a.data_fields(), 10)) +
                (a.purpose().empty() ? "" : ", purpose " + a.purpose()) +
                (a.legal_basis().empty() ? "" : ", basis " + a.legal_basis()) +
                (a.valid_until_unix_ns() ? ", until " + clock_time(a.valid_until_unix_ns()) : "");
  return out;
}

Decoded decode(const citylink::v1::PlatformEvent& e) {
  Decoded out;
  out.fields = {{"event_code", e.event_code()}, {"event_name", e.event_name()}, {"grade", static_cast<int>(e.grade())},
                {"occurrence_number", e.occurrence_number()}, {"status", static_cast<int>(e.status())},
                {"location", point(e.location())}, {"address", e.place().full_text()}, {"content", e.content()},
                {"occurred_unix_ns", e.occurred_unix_ns()}, {"sender", e.sender_system()},
                {"receiver", e.receiver_system()}, {"items", object_of(e.items())}};
  out.summary = "PlatformEvent " + e.event_code() + " " + e.occurrence_number() + " (" + status_name(e.status()) +
                ", grade " + std::to_string(static_cast<int>(e.grade())) + ") from " + e.sender_system() + " at " +
                where(e.location()) + (e.place().full_text().empty() ? "" : " '" + e.place().full_text() + "'") +
                (e.content().empty() ? "" : ": " + e.content());
  return out;
}

Decoded decode(const citylink::v1::PtzCommand& p) {
  Decoded out;
  const bool look = p.has_look_at();
  out.fields = {{"camera_id", p.camera_id()}, {"pan_deg", p.pan_deg()}, {"tilt_deg", p.tilt_deg()},
                {"zoom", p.zoom()}, {"reason", p.reason()}, {"track_id", p.track_id()}};
  if (look) out.fields["look_at"] = point(p.look_at());
  out.summary = "PtzCommand " + p.camera_id() + " pan " + num(p.pan_deg()) + " deg" +
                (look ? " look at " + where(p.look_at()) : "") +
                (p.track_id().empty() ? "" : " track " + p.track_id()) + (p.reason().empty() ? "" : " - " + p.reason());
  return out;
}

// Not what an agency is normally sent, but a console granted these topics shows them too.
std::string camera_state(int s) {
  return s == citylink::v1::CAMERA_STATE_ONLINE    ? "ONLINE"
         : s == citylink::v1::CAMERA_STATE_OFFLINE ? "OFFLINE"
         : s == citylink::v1::CAMERA_STATE_DEGRADED ? "DEGRADED"
                                                    : "UNSPECIFIED";
}

Decoded decode(const citylink::v1::CameraInfo& c) {
  Decoded out;
  out.fields = {{"camera_id", c.camera_id()}, {"name", c.name()}, {"position", point(c.position())},
                {"heading_deg", c.heading_deg()}, {"field_of_view_deg", c.field_of_view_deg()},
                {"range_m", c.range_m()}, {"ptz_capable", c.ptz_capable()}, {"stream_uri", c.stream_uri()},
                {"status", camera_state(c.status())}, {"owner", c.owner()}, {"purpose", c.purpose()}};
  out.summary = "CameraInfo " + c.camera_id() + " at " + where(c.position()) + " heading " + num(c.heading_deg()) +
                " fov " + num(c.field_of_view_deg(), 0) + " range " + num(c.range_m(), 0) + " m" +
                (c.ptz_capable() ? " PTZ" : "") + " " + camera_state(c.status()) + " " + c.stream_uri();
  return out;
}

Decoded decode(const citylink::v1::CameraStatus& c) {
  Decoded out;
  out.fields = {{"camera_id", c.camera_id()}, {"status", camera_state(c.status())}, {"heading_deg", c.heading_deg()},
                {"zoom", c.zoom()}, {"detail", c.detail()}, {"time_unix_ns", c.time_unix_ns()}};
  out.summary = "CameraStatus " + c.camera_id() + " " + camera_state(c.status()) + " heading " + num(c.heading_deg()) +
                (c.detail().empty() ? "" : " - " + c.detail());
  return out;
}

Decoded decode(const citylink::v1::SensorReading& r) {
  Decoded out;
  out.fields = {{"sensor_id", r.sensor_id()}, {"kind", r.kind()}, {"value", r.value()}, {"unit", r.unit()},
                {"position", point(r.position())}, {"zone", r.zone()}, {"time_unix_ns", r.time_unix_ns()},
                {"attributes", object_of(r.attributes())}};
  out.summary = "SensorReading " + r.sensor_id() + " " + r.kind() + " = " + num(r.value(), 2) + " " + r.unit() +
                " in " + r.zone();
  return out;
}

Decoded decode(const citylink::v1::Detection& d) {
  Decoded out;
  out.fields = {{"detection_id", d.detection_id()}, {"camera_id", d.camera_id()}, {"target_class", d.target_class()},
                {"confidence", d.confidence()}, {"position", point(d.position())}, {"track_id", d.track_id()},
                {"attributes", object_of(d.attributes())}, {"time_unix_ns", d.time_unix_ns()}};
  out.summary = "Detection " + d.target_class() + " " + d.track_id() + " by " + d.camera_id() + " at " +
                where(d.position()) + " (confidence " + num(d.confidence(), 2) + ")";
  return out;
}

Decoded decode(const citylink::v1::TrackingInfo& t) {
  Decoded out;
  out.fields = {{"track_id", t.track_id()}, {"target_class", t.target_class()}, {"camera_id", t.camera_id()},
                {"position", point(t.position())}, {"heading_deg", t.heading_deg()}, {"speed_mps", t.speed_mps()},
                {"handed_over_from", t.handed_over_from()}, {"incident_id", t.incident_id()},
                {"predicted_next_cameras", list_of(t.predicted_next_cameras())}, {"confidence", t.confidence()},
                {"appearance", object_of(t.appearance())}, {"time_unix_ns", t.time_unix_ns()}};
  out.summary = "TrackingInfo " + t.track_id() + " (" + t.target_class() + ") at " + t.camera_id() +
                (t.handed_over_from().empty() ? "" : " from " + t.handed_over_from()) + ", heading " +
                num(t.heading_deg(), 0) + " deg, " + num(t.speed_mps()) + " m/s" +
                (t.incident_id().empty() ? "" : ", incident " + t.incident_id());
  return out;
}

class AgencyConsole : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.agency-console";
    d.name = "Agency console";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "sink";
    d.description = "Plays an agency (112, 119, situation room, MOJ): logs a one-line summary of every dispatch, "
                    "grant, audit record, incident and PTZ command it receives; optionally appends JSON lines to `out`.";
    d.subscribes = {"dispatch.", "grant.", "audit.", "incident.", "camera.ptz"};
    d.config_schema = R"({"type":"object","additionalProperties":false,"properties":{
      "name":{"type":"string","minLength":1},"out":{"type":"string","minLength":1},"quiet":{"type":"boolean"}}})";
    return d;
  }

  explicit AgencyConsole(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"name", "out", "quiet"});
    name_ = cfg.text("name", host_.instance_id().empty() ? "agency" : host_.instance_id());
    if (name_.empty()) cfg.fail("name", "must not be empty; e.g. \"name\": \"112-centre\"");
    quiet_ = cfg.flag("quiet", false);
    // The host log already names the instance; name the agency too when it differs.
    if (name_ != host_.instance_id()) prefix_ = "[" + name_ + "] ";
    if (cfg.has("out")) {
      const auto path = cfg.text("out", "");
      out_.open(path, std::ios::app);
      if (path.empty() || !out_)
        cfg.fail("out", "cannot open '" + path + "' for appending; give a writable file path");
    }
  }

  void on_message(const citylink::Message& m) override {
    Decoded d;
    try {
      d = decode_any(m);  // throws citylink::Error when the envelope or payload does not parse
    } catch (const citylink::Error& e) {
      ++bad_;
      host_.warn(prefix_ + e.what());
      return;
    }
    ++received_;
    if (!quiet_) host_.info(prefix_ + d.summary);
    if (!out_.is_open()) return;
    const auto& env = m.envelope();
    json line = {{"agency", name_},
                 {"topic", std::string(m.topic())},
                 {"id", env.id()},
                 {"source", env.source()},
                 {"schema", env.schema()},
                 {"correlation_id", env.correlation_id()},
                 {"time", env.time_unix_ns()},
                 {"attributes", object_of(env.attributes())},
                 {"summary", d.summary},
                 {"payload", d.fields}};
    std::lock_guard lk(mu_);  // on_message comes from one thread, but keep the file safe anyway
    out_ << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    out_.flush();
  }

  void stop() override {
    host_.info(prefix_ + "received " + std::to_string(received_.load()) + " message(s)" +
               (bad_ ? ", " + std::to_string(bad_.load()) + " unreadable" : ""));
  }

 private:
  static Decoded decode_any(const citylink::Message& m) {
    if (auto p = m.payload<citylink::v1::DispatchSupport>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::VideoShareGrant>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::AuditRecord>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::PlatformEvent>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::PtzCommand>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::CameraInfo>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::CameraStatus>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::SensorReading>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::Detection>()) return decode(*p);
    if (auto p = m.payload<citylink::v1::TrackingInfo>()) return decode(*p);
    const auto& env = m.envelope();
    return {env.schema() + " (" + std::to_string(env.payload().size()) + " bytes)", json::object()};
  }

  citylink::Host host_;
  std::string name_, prefix_;
  bool quiet_ = false;
  std::mutex mu_;
  std::ofstream out_;
  std::atomic<uint64_t> received_{0}, bad_{0};
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(AgencyConsole)
