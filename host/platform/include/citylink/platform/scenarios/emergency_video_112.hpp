// 112 emergency video (112UC001): cameras near a 112 report, shared with the 112 centre
// under a time-limited, audited VideoShareGrant that is renewed while the incident is
// open, re-chosen when the position changes, and revoked when it closes.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/video_share.hpp>

namespace citylink::platform::scenarios {

struct EmergencyVideo112Config {
  double radius_m = 500;
  std::size_t max_cameras = 5;
  VideoPolicy video{"112", "112 emergency response: live video of the reported scene",
                    "Personal Information Protection Act Art. 17(1)2 and 18(2)3 (emergency, life and safety)"};
};

class EmergencyVideo112 : public Scenario {
 public:
  explicit EmergencyVideo112(EmergencyVideo112Config c = {}) : c_(std::move(c)) {}
  const char* name() const override { return "emergency_video_112"; }
  void on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) override;
  void on_tick(ScenarioContext& ctx) override;
  std::vector<std::string> recipients() const override { return {c_.video.recipient}; }

 private:
  EmergencyVideo112Config c_;
};

}  // namespace citylink::platform::scenarios
