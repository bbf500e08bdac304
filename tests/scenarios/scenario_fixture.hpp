// A ScenarioContext that records instead of publishing, with a real camera registry,
// incident book and grant book, and a clock the test moves.
#pragma once

#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/scenarios/scenario.hpp>
#include <citylink/v1/camera.pb.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace citylink::test {

using namespace citylink::host;
using namespace citylink::platform;
using namespace citylink::platform::scenarios;

// Independent of the code under test: a spherical-earth haversine (mean radius), good to
// ~0.5 % against the WGS84 geodesic the registry uses.
inline double haversine_m(double lat1, double lon1, double lat2, double lon2) {
  const double r = 6371008.8, d = M_PI / 180;
  const double dlat = (lat2 - lat1) * d, dlon = (lon2 - lon1) * d;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * d) * std::cos(lat2 * d) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * r * std::asin(std::sqrt(a));
}

// The point `north_m` north and `east_m` east of (lat, lon), on a sphere (small offsets).
inline std::pair<double, double> offset(double lat, double lon, double north_m, double east_m) {
  const double r = 6371008.8, d = M_PI / 180;
  return {lat + north_m / r / d, lon + east_m / (r * std::cos(lat * d)) / d};
}

struct Emitted {
  std::string topic;
  std::string schema;
  std::string payload;
  std::string correlation_id;
};

class FakeContext : public ScenarioContext {
 public:
  int64_t now = 1'800'000'000'000'000'000;  // 2027-01-15
  CameraRegistry registry;
  IncidentBook book;
  GrantBook grant_book{[this](const citylink::v1::VideoShareGrant& g) { emit("grant.video", g, g.incident_id()); }};
  std::vector<Emitted> out;
  std::vector<citylink::v1::AuditRecord> audits;
  std::map<std::string, int> rejects;

  int64_t now_ns() const override { return now; }
  const CameraRegistry& cameras() const override { return registry; }
  const IncidentBook& incidents() const override { return book; }
  GrantBook& grants() override { return grant_book; }
  void emit(const std::string& topic, const google::protobuf::Message& m, const std::string& correlation) override {
    out.push_back({topic, m.GetTypeName(), m.SerializeAsString(), correlation});
  }
  void audit(citylink::v1::AuditRecord r) override {
    r.set_time_unix_ns(now);
    emit("audit." + r.action().substr(0, r.action().find('.')), r, r.incident_id());
    audits.push_back(std::move(r));
  }
  std::vector<std::string> notes;
  void note(const std::string& scenario, const std::string& line) override { notes.push_back(scenario + ": " + line); }
  void reject(const std::string& scenario, const std::string& reason, const std::string&) override {
    ++rejects[scenario + "/" + reason];
  }

  // A camera at (lat, lon), online, seen now.
  void camera(const std::string& id, double lat, double lon, double heading = 0, double fov = 90, double range = 100,
              bool ptz = false) {
    citylink::v1::CameraInfo c;
    c.set_camera_id(id);
    c.mutable_position()->set_lat(lat);
    c.mutable_position()->set_lon(lon);
    c.set_heading_deg(heading);
    c.set_field_of_view_deg(fov);
    c.set_range_m(range);
    c.set_ptz_capable(ptz);
    c.set_stream_uri("rtsp://vms.test/" + id);
    c.set_status(citylink::v1::CAMERA_STATE_ONLINE);
    const std::string why = registry.upsert(c, now);
    ASSERT_EQ(why, "") << id;
  }

  // Runs an event through the lifecycle check and the scenario, as the engine does.
  bool incident(Scenario& s, const citylink::v1::PlatformEvent& event, const std::string& source = "platform-feed") {
    std::string why;
    auto ev = event;
    book.complete(ev, source);
    const auto change = book.apply(ev, true, &why, source, now);
    if (!change) {
      ++rejects["incidents/" + why];
      return false;
    }
    s.on_incident(*book.find({source, ev.occurrence_number()}), ev, *change, *this);
    return true;
  }

  template <class T>
  std::vector<T> sent(const std::string& topic) const {
    std::vector<T> v;
    for (const auto& e : out)
      if (e.topic == topic) {
        T t;
        EXPECT_TRUE(t.ParseFromString(e.payload));
        v.push_back(t);
      }
    return v;
  }
  std::vector<Emitted> on(const std::string& topic) const {
    std::vector<Emitted> v;
    for (const auto& e : out)
      if (e.topic == topic) v.push_back(e);
    return v;
  }
};

inline citylink::v1::PlatformEvent event(const std::string& code, const std::string& id, int status, double lat,
                                         double lon) {
  citylink::v1::PlatformEvent ev;
  ev.set_event_code(code);
  ev.set_occurrence_number(id);
  ev.set_status(static_cast<citylink::v1::EventStatus>(status));
  ev.set_grade(citylink::v1::EVENT_GRADE_URGENT);
  ev.mutable_location()->set_lat(lat);
  ev.mutable_location()->set_lon(lon);
  ev.set_content("test incident");
  return ev;
}

// Seoul City Hall plaza: where the tests' incidents happen.
inline constexpr double kLat = 37.5663, kLon = 126.9779;

}  // namespace citylink::test
