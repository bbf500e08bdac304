// Test-only plugin: publishes, at configured times, the messages the host's scenarios send
// to agencies (DispatchSupport, VideoShareGrant, AuditRecord) and PtzCommands, so the
// sample plugins that consume them can be tested on their own.
#include <citylink/plugin.hpp>
#include <citylink/v1/audit.pb.h>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/dispatch.pb.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace {

using json = nlohmann::json;

class Emitter : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.test.samples-emitter";
    d.name = "Samples test emitter";
    d.vendor = "CityLink tests";
    d.version = "1.0.0";
    d.kind = "test";
    d.publishes = {"dispatch.", "grant.", "audit.", "camera.ptz"};
    return d;
  }
  // config: {"messages": [{"at_ms": 0, "topic": "camera.ptz", "type": "ptz"|"dispatch"|"grant"|"audit"|"garbage",
  //                        "correlation_id": "...", ...type fields}]}
  Emitter(citylink::Host host, const std::string& config) : host_(host) {
    cfg_ = json::parse(config, nullptr, false);
    if (!cfg_.is_object() || !cfg_.contains("messages")) throw citylink::ConfigError("field 'messages' is required");
  }
  void start() override {
    thread_ = std::thread([this] {
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& m : cfg_["messages"]) {
        while (!stop_ && std::chrono::steady_clock::now() < t0 + std::chrono::milliseconds(m.value("at_ms", 0)))
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (stop_) return;
        send(m);
      }
    });
  }
  void stop() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  ~Emitter() override { stop(); }

 private:
  void send(const json& m) {
    const std::string topic = m.value("topic", ""), type = m.value("type", ""), corr = m.value("correlation_id", "");
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
      host_.publish(topic, c, corr);
    } else if (type == "dispatch") {
      citylink::v1::DispatchSupport d;
      d.set_recipient(m.value("recipient", "112"));
      d.set_incident_id(corr);
      d.set_event_code(m.value("event_code", "112UC001"));
      d.set_status(10);
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
      host_.publish(topic, d, corr);
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
      host_.publish(topic, g, corr);
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
      host_.publish(topic, a, corr);
    } else if (type == "garbage") {
      citylink::v1::Envelope e;
      e.set_topic(topic);
      e.set_schema("citylink.v1.DispatchSupport");
      e.set_payload(std::string("\x0a\xff\xff\xff\xff\x01", 6));
      host_.publish_envelope(topic, e.SerializeAsString());
    }
  }

  citylink::Host host_;
  json cfg_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(Emitter)
