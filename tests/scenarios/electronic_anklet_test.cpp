#include <citylink/host/scenarios/electronic_anklet.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

namespace {
citylink::v1::PlatformEvent violation(const std::string& id, const std::string& kind, int status = 10) {
  auto ev = event("MOJUC110", id, status, kLat, kLon);
  (*ev.mutable_items())["violation"] = kind;
  return ev;
}
}  // namespace

TEST(ElectronicAnklet, SharesVideoForEachCoveredViolation) {
  for (const std::string kind : {"device_damage", "curfew", "exclusion_zone", "protected_person"}) {
    FakeContext ctx;
    ctx.camera("cam", kLat, kLon);
    ElectronicAnklet s;
    ctx.incident(s, violation("MOJ-" + kind, kind));
    const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
    ASSERT_EQ(grants.size(), 1u) << kind;
    EXPECT_EQ(grants[0].recipient(), "MOJ");
    const auto d = ctx.sent<citylink::v1::DispatchSupport>("dispatch.moj");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].grant_id(), grants[0].grant_id());
    EXPECT_EQ(ctx.audits.at(0).action(), "video_grant.issue");
  }
}

TEST(ElectronicAnklet, NeverSharesVideoOtherwise) {
  FakeContext ctx;
  ctx.camera("cam", kLat, kLon);
  ElectronicAnklet s;
  ctx.incident(s, violation("MOJ-1", "battery_low"));
  ctx.incident(s, violation("MOJ-2", ""));
  EXPECT_TRUE(ctx.out.empty());
  EXPECT_EQ(ctx.rejects["electronic_anklet/not_a_video_case"], 2);
}

TEST(ElectronicAnklet, FinishRevokes) {
  FakeContext ctx;
  ctx.camera("cam", kLat, kLon);
  ElectronicAnklet s;
  ctx.incident(s, violation("MOJ-3", "curfew"));
  ctx.incident(s, violation("MOJ-3", "curfew", 91));
  EXPECT_EQ(ctx.sent<citylink::v1::VideoShareGrant>("grant.video").back().action(),
            citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(ctx.grant_book.live_count(), 0u);
}
