// Vulnerable-person support (WPSSF110): an SOS from a wearable alerts 112 with the
// position and nearby cameras. The person's personal data goes only to recipients the
// city configured with a purpose, only the fields configured for each, and every such
// delivery is audited.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/platform/scenarios/scenario.hpp>

namespace citylink::platform::scenarios {

struct SosRecipient {
  std::string name;                       // "112", "guardian", "welfare-centre"
  std::string topic;                      // "dispatch.112", "dispatch.guardian"
  std::string purpose;                    // required before any personal data goes out
  std::string legal_basis;
  std::vector<std::string> personal_data; // item keys of the event passed on: "name", "phone", ...
};

struct VulnerableSosConfig {
  double radius_m = 300;
  std::size_t max_cameras = 5;
  std::vector<SosRecipient> recipients = {
      {"112", "dispatch.112", "emergency rescue of a person in danger",
       "Personal Information Protection Act Art. 18(2)3", {"name", "phone", "age", "condition"}}};
};

class VulnerableSos : public Scenario {
 public:
  explicit VulnerableSos(VulnerableSosConfig c = {}) : c_(std::move(c)) {}
  std::vector<std::string> recipients() const override {
    std::vector<std::string> out;
    for (const auto& r : c_.recipients) out.push_back(r.name);
    return out;
  }
  const char* name() const override { return "vulnerable_sos"; }
  void on_incident(const Incident& inc, const citylink::v1::PlatformEvent& ev, Change change, ScenarioContext& ctx) override;

 private:
  VulnerableSosConfig c_;
};

}  // namespace citylink::platform::scenarios
