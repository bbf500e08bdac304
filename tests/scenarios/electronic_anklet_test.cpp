#include <citylink/platform/scenarios/electronic_anklet.hpp>

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

// H5 of the review: an update without the violation item kept the grant for the old place
// alive and renewed; a kind that no longer allows video kept it too.
TEST(ElectronicAnklet, AnUpdateWithoutTheViolationKeepsTheKindAndFollowsTheWearer) {
  FakeContext ctx;
  ctx.camera("old-place", kLat, kLon);
  const auto [lat, lon] = offset(kLat, kLon, 3000, 0);
  ctx.camera("new-place", lat, lon);
  ElectronicAnklet s;
  ctx.incident(s, violation("MOJ-4", "exclusion_zone"));
  auto moved = event("MOJUC110", "MOJ-4", 40, lat, lon);  // no items at all
  ASSERT_TRUE(ctx.incident(s, moved));
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 3u);  // issue, revoke, issue
  EXPECT_EQ(grants[1].action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(grants[2].camera_ids(0), "new-place");
  EXPECT_EQ(ctx.grant_book.live_count(), 1u);
}

TEST(ElectronicAnklet, AViolationThatNoLongerAllowsVideoRevokesTheGrant) {
  FakeContext ctx;
  ctx.camera("cam", kLat, kLon);
  ElectronicAnklet s;
  ctx.incident(s, violation("MOJ-5", "curfew"));
  ctx.incident(s, violation("MOJ-5", "battery_low", 40));
  EXPECT_EQ(ctx.sent<citylink::v1::VideoShareGrant>("grant.video").back().action(),
            citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(ctx.grant_book.live_count(), 0u);
}

TEST(ElectronicAnklet, AnUpdateWithOtherItemsButNoViolationKeepsTheKind) {
  FakeContext ctx;
  ctx.camera("cam", kLat, kLon);
  ElectronicAnklet s;
  ctx.incident(s, violation("MOJ-6", "curfew"));
  auto update = event("MOJUC110", "MOJ-6", 40, kLat, kLon);
  (*update.mutable_items())["note"] = "officer notified";
  ASSERT_TRUE(ctx.incident(s, update));
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  EXPECT_EQ(grants.back().action(), citylink::v1::VideoShareGrant::ACTION_ISSUE);  // re-chosen, still shared
  EXPECT_EQ(ctx.grant_book.live_count(), 1u);
  EXPECT_EQ(ctx.rejects["electronic_anklet/not_a_video_case"], 0);
}
