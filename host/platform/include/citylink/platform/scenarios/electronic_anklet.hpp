// Electronic-anklet linkage (MOJUC110): nearby video goes to the Ministry of Justice
// centre only for the violation kinds the law covers — device damage, curfew, exclusion
// zone, approaching a protected person — and never otherwise.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/video_share.hpp>

namespace citylink::platform::scenarios {

struct ElectronicAnkletConfig {
  double radius_m = 500;
  std::size_t max_cameras = 5;
  std::string violation_item = "violation";  // the event item that names the violation kind
  std::vector<std::string> video_violations = {"device_damage", "curfew", "exclusion_zone", "protected_person"};
  std::string topic = "dispatch.moj";
  VideoPolicy video{"MOJ", "electronic monitoring: response to a wearer's violation",
                    "Act on Electronic Monitoring, etc. of Specific Criminal Offenders Art. 16"};
};

class ElectronicAnklet : public Scenario {
 public:
  explicit ElectronicAnklet(ElectronicAnkletConfig c = {}) : c_(std::move(c)) {}
  std::vector<std::string> recipients() const override { return {c_.video.recipient}; }
  const char* name() const override { return "electronic_anklet"; }
  void on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) override;
  void on_tick(ScenarioContext& ctx) override;

 private:
  ElectronicAnkletConfig c_;
};

}  // namespace citylink::platform::scenarios
