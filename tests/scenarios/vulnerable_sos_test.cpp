#include <citylink/platform/scenarios/vulnerable_sos.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

TEST(VulnerableSos, AlertsWithPositionAndCamerasAndPersonalDataOnlyWherePurposeAllows) {
  FakeContext ctx;
  auto [lat, lon] = offset(kLat, kLon, 120, 0);
  ctx.camera("near", lat, lon);
  VulnerableSosConfig c;
  c.recipients = {{"112", "dispatch.112", "rescue", "PIPA 18(2)3", {"name", "phone"}},
                  {"guardian", "dispatch.guardian", "family contact", "consent", {"name"}},
                  {"situation-room", "dispatch.vulnerable", "", "", {}}};
  VulnerableSos s(c);
  auto ev = event("WPSSF110", "SOS-1", 10, kLat, kLon);
  (*ev.mutable_items())["name"] = "Kim Minji";
  (*ev.mutable_items())["phone"] = "010-0000-0000";
  (*ev.mutable_items())["condition"] = "dementia";
  ctx.incident(s, ev);

  const auto to112 = ctx.sent<citylink::v1::DispatchSupport>("dispatch.112");
  ASSERT_EQ(to112.size(), 1u);
  EXPECT_EQ(to112[0].cameras(0).camera_id(), "near");
  EXPECT_EQ(to112[0].personal_data().size(), 2u);
  EXPECT_EQ(to112[0].personal_data().at("name"), "Kim Minji");
  EXPECT_EQ(to112[0].personal_data().count("condition"), 0u);  // not configured for 112
  const auto guardian = ctx.sent<citylink::v1::DispatchSupport>("dispatch.guardian");
  ASSERT_EQ(guardian.size(), 1u);
  EXPECT_EQ(guardian[0].personal_data().size(), 1u);
  const auto room = ctx.sent<citylink::v1::DispatchSupport>("dispatch.vulnerable");
  ASSERT_EQ(room.size(), 1u);
  EXPECT_TRUE(room[0].personal_data().empty());  // no purpose: no personal data
  // Two deliveries of personal data, two audit records naming the fields.
  ASSERT_EQ(ctx.audits.size(), 2u);
  EXPECT_EQ(ctx.audits[0].action(), "personal_data.deliver");
  EXPECT_EQ(ctx.audits[0].recipient(), "112");
  EXPECT_EQ(ctx.audits[0].data_fields_size(), 2);
  EXPECT_EQ(ctx.audits[0].purpose(), "rescue");
  EXPECT_EQ(ctx.audits[1].recipient(), "guardian");
}
