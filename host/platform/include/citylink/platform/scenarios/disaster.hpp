// Disaster response (DUCDP110): sensor readings past a threshold for a hold time raise a
// disaster event to the situation room with the cameras covering the area; readings back
// past the clear threshold (hysteresis) for the hold time clear it. A noisy sensor that
// crosses back and forth inside the hold time never flaps.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/scenario.hpp>

#include <map>

namespace citylink::platform::scenarios {

struct DisasterRule {
  std::string name;          // "flood", "heat", "cold"
  std::string zone_prefix;   // readings whose zone starts with this ("flood-prone-road")
  std::string kind;          // reading kind: "water_level", "temperature"
  bool above = true;         // raise when value >= raise_at (true) or <= raise_at (false)
  double raise_at = 0;
  double clear_at = 0;       // back on the safe side of this to clear (hysteresis)
  int64_t hold_ns = 0;       // a condition must hold this long before it changes state
};

struct DisasterConfig {
  std::vector<DisasterRule> rules = {
      {"flood", "flood-prone-road", "water_level", true, 0.5, 0.4, 10'000'000'000},
      {"heat", "child-protection", "temperature", true, 33.0, 31.0, 60'000'000'000},
      {"cold", "child-protection", "temperature", false, -12.0, -10.0, 60'000'000'000}};
  std::string recipient = "situation-room";
  std::string topic = "dispatch.disaster";
  double radius_m = 300;
  std::size_t max_cameras = 5;
  // A sensor's state for a rule is forgotten after this long without a reading, unless a
  // disaster is raised on it (H8: one state per sensor id ever seen once grew without bound).
  int64_t state_retention_ns = int64_t{3600} * 1'000'000'000;
};

class Disaster : public Scenario {
 public:
  explicit Disaster(DisasterConfig c = {}) : c_(std::move(c)) {}
  std::vector<std::string> recipients() const override { return {c_.recipient}; }
  const char* name() const override { return "disaster"; }
  void on_reading(const citylink::v1::SensorReading& r, ScenarioContext& ctx) override;
  void on_tick(ScenarioContext& ctx) override;
  std::size_t state_count() const { return states_.size(); }

 private:
  struct State {
    bool raised = false;
    int64_t pending_since = 0;  // when the reading first crossed toward the other state; 0 = not crossing
    std::string incident_id;
    int64_t last_reading_ns = 0;  // host time, for retention
  };
  void raise(const DisasterRule& rule, const citylink::v1::SensorReading& r, State& s, ScenarioContext& ctx);
  void clear(const DisasterRule& rule, const citylink::v1::SensorReading& r, State& s, ScenarioContext& ctx);
  // Publishes the disaster event and the situation-room support for a raise or a clear.
  void announce(const DisasterRule& rule, const citylink::v1::SensorReading& r, const State& s, bool raised,
                ScenarioContext& ctx);

  // A new occurrence number in the platform's form: 17 digits, the host's time in Korea
  // (yyyyMMddHHmmss) and a sequence of three within that second.
  std::string next_occurrence_number(int64_t now_ns);

  DisasterConfig c_;
  std::map<std::string, State> states_;  // by rule name + sensor id
  int64_t numbered_second_ = 0;  // the second of the last number given, and how many it has
  int numbered_in_second_ = 0;
};

}  // namespace citylink::platform::scenarios
