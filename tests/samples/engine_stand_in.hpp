// What the scenario engine sends agencies and cameras (DispatchSupport, VideoShareGrant,
// AuditRecord, PtzCommand), built from a JSON line, so the sample plugins that consume
// them can be tested on their own. Only the engine may publish these topics, so the tests
// publish them through a router publisher with the engine's role; the same messages from a
// plugin (test_emitter.cpp) are the forgeries the router refuses. Plugin-safe: no host headers.
#pragma once

#include <citylink/v1/audit.pb.h>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/envelope.pb.h>

#include <nlohmann/json.hpp>
#include <string>

namespace citylink::samples_test {

// citylink::host::kAuditRecipient, checked in sample_fixture.hpp.
inline constexpr const char* kAuditRecipientName = "auditor";

// {"topic": ..., "type": "ptz"|"dispatch"|"grant"|"audit"|"garbage", "correlation_id": ..., type fields}
// -> the envelope bytes, addressed to the message's recipient as the engine addresses it.
inline std::string engine_envelope(const nlohmann::json& m) {
  const std::string topic = m.value("topic", ""), type = m.value("type", ""), corr = m.value("correlation_id", "");
  citylink::v1::Envelope e;
  e.set_correlation_id(corr);
  auto put = [&](const google::protobuf::MessageLite& msg, const std::string& recipient) {
    e.set_schema(msg.GetTypeName());
    e.set_payload(msg.SerializeAsString());
    e.set_recipient(recipient);
  };
  if (type == "ptz") {
    citylink::v1::PtzCommand c;
    c.set_camera_id(m.value("camera_id", ""));
    c.set_pan_deg(m.value("pan_deg", 0.0));
    if (m.contains("look_at_lat")) {
      c.mutable_look_at()->set_lat(m["look_at_lat"].get<double>());
      c.mutable_look_at()->set_lon(m["look_at_lon"].get<double>());
    }
    c.set_reason(m.value("reason", "test"));
    c.set_track_id(m.value("track_id", ""));
    put(c, "");
  } else if (type == "dispatch") {
    citylink::v1::DispatchSupport d;
    d.set_recipient(m.value("recipient", "112"));
    d.set_incident_id(corr);
    d.set_event_code(m.value("event_code", "112UC001"));
    d.set_status(10);  // occurred
    d.mutable_position()->set_lat(37.5);
    d.mutable_position()->set_lon(127.03);
    d.mutable_address()->set_full_text("Gangnam-daero 396");
    for (int i = 1; i <= m.value("cameras", 0); ++i) {
      auto* c = d.add_cameras();
      c->set_camera_id("CAM-" + std::to_string(i));
      c->set_stream_uri("rtsp://vms.example.city/CAM-" + std::to_string(i));
      c->set_distance_m(100.0 * i);
    }
    if (m.contains("personal_data"))
      for (const auto& [k, v] : m.at("personal_data").items()) (*d.mutable_personal_data())[k] = v.get<std::string>();
    d.set_purpose(m.value("purpose", ""));
    d.set_grant_id(m.value("grant_id", ""));
    d.set_text(m.value("text", ""));
    put(d, d.recipient());
  } else if (type == "grant") {
    citylink::v1::VideoShareGrant g;
    g.set_grant_id(m.value("grant_id", "G-1"));
    g.set_incident_id(corr);
    g.set_recipient(m.value("recipient", "112"));
    for (int i = 1; i <= m.value("cameras", 0); ++i) g.add_camera_ids("CAM-" + std::to_string(i));
    g.set_purpose("emergency response");
    g.set_legal_basis("Personal Information Protection Act art. 18");
    g.set_expires_unix_ns(m.value("expires_unix_ns", int64_t{0}));
    g.set_action(static_cast<citylink::v1::VideoShareGrant_Action>(m.value("action", 1)));
    put(g, g.recipient());
  } else if (type == "audit") {
    citylink::v1::AuditRecord a;
    a.set_record_id("A-1");
    a.set_action(m.value("action", "video_grant.issue"));
    a.set_actor("scenario:112");
    a.set_recipient("112");
    a.set_incident_id(corr);
    a.add_camera_ids("CAM-1");
    a.add_data_fields("name");
    a.set_purpose("emergency response");
    put(a, kAuditRecipientName);
  } else if (type == "garbage") {
    e.set_schema("citylink.v1.DispatchSupport");
    e.set_payload(std::string("\x0a\xff\xff\xff\xff\x01", 6));
    e.set_recipient(m.value("recipient", "112"));
  }
  return e.SerializeAsString();
}

}  // namespace citylink::samples_test
