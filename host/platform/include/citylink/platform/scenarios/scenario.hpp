// One platform scenario: a small unit that reacts to incidents, readings or tracking
// updates through a ScenarioContext, so it can be tested without the bus.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/scenarios/grants.hpp>
#include <citylink/platform/scenarios/incidents.hpp>
#include <citylink/v1/analytics.pb.h>
#include <citylink/v1/audit.pb.h>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/platform_event.pb.h>
#include <citylink/v1/sensor.pb.h>

#include <google/protobuf/message.h>
#include <string>

namespace citylink::platform::scenarios {

// What a scenario can see and do. The engine implements it over the bus; tests record.
class ScenarioContext {
 public:
  virtual ~ScenarioContext() = default;
  // The engine's time, in Unix nanoseconds: what every deadline, hold and retention is
  // measured on. It runs at the pace of a monotonic clock, so a step of the wall clock (NTP
  // at boot, an operator fixing the date) neither stretches nor cuts them (review M7).
  virtual int64_t now_ns() const = 0;
  // An engine time as the wall clock says it now: for times that leave the engine in a
  // message, and for comparing with a device's own time. The same until the wall clock steps.
  virtual int64_t wall_ns(int64_t engine_ns) const { return engine_ns; }
  virtual const CameraRegistry& cameras() const = 0;
  virtual const IncidentBook& incidents() const = 0;
  virtual GrantBook& grants() = 0;
  // Publishes `message` on `topic` with the incident's correlation id.
  virtual void emit(const std::string& topic, const google::protobuf::Message& message,
                    const std::string& correlation_id) = 0;
  // Records an audit entry (the engine fills record id, time and actor, and publishes it on audit.<action>).
  virtual void audit(citylink::v1::AuditRecord record) = 0;
  // One line of the city's timeline: what a scenario decided and why (distances, rules).
  virtual void note(const std::string& scenario, const std::string& line) = 0;
  // Counts and logs an input the scenario refuses; `reason` is a short counter key.
  virtual void reject(const std::string& scenario, const std::string& reason, const std::string& detail) = 0;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  // The config key and counter name, e.g. "emergency_video_112".
  virtual const char* name() const = 0;
  // An accepted platform event (the lifecycle was checked), the incident as it now stands
  // (its key() is what grants hang off), and what the event did to it.
  virtual void on_incident(const Incident&, const citylink::v1::PlatformEvent&, Change, ScenarioContext&) {}
  virtual void on_reading(const citylink::v1::SensorReading&, ScenarioContext&) {}
  virtual void on_tracking(const citylink::v1::TrackingInfo&, ScenarioContext&) {}
  // Called about every 100 ms, for time-based rules (hold times, grant renewal).
  virtual void on_tick(ScenarioContext&) {}
  // The recipients its outputs are addressed to: the engine warns at start about each one no
  // enabled instance or client is bound to, whose outputs would reach no one (review M8).
  virtual std::vector<std::string> recipients() const { return {}; }
};

// CameraRef for a registry hit, used by every scenario that offers cameras.
citylink::v1::CameraRef camera_ref(const CameraHit& hit);

// "c12 (84 m), c13 (120 m, covers)" for a timeline line.
std::string describe(const std::vector<CameraHit>& hits);

}  // namespace citylink::platform::scenarios
