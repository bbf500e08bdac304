// 112 dispatch support (112UC120) and 119 dispatch support (119UC001): the units sent to
// an incident get its position, address and the nearest live cameras, and an update each
// time the incident changes while it is open.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/scenario.hpp>

namespace citylink::platform::scenarios {

struct DispatchSupportConfig {
  std::string event_code;  // "112UC120" or "119UC001"
  std::string topic;       // "dispatch.112" or "dispatch.119"
  std::string recipient;   // "112-patrol", "119"
  double radius_m = 500;
  std::size_t max_cameras = 5;
  std::string scenario_name;
};

DispatchSupportConfig dispatch_112_defaults();
DispatchSupportConfig dispatch_119_defaults();

class DispatchSupport : public Scenario {
 public:
  explicit DispatchSupport(DispatchSupportConfig c) : c_(std::move(c)) {}
  const char* name() const override { return c_.scenario_name.c_str(); }
  std::vector<std::string> recipients() const override { return {c_.recipient}; }
  void on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) override;

 private:
  DispatchSupportConfig c_;
};

}  // namespace citylink::platform::scenarios
