#include <citylink/platform/scenarios/dispatch_support.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

TEST(DispatchSupport119, SendsPositionAddressAndNearestCamerasThenUpdatesThenEnds) {
  FakeContext ctx;
  auto [a_lat, a_lon] = offset(kLat, kLon, 80, 0);     // north, facing south: sees the scene
  auto [b_lat, b_lon] = offset(kLat, kLon, 0, 60);      // east, facing east: nearer but looks away
  ctx.camera("north-cam", a_lat, a_lon, 180, 60, 150);
  ctx.camera("east-cam", b_lat, b_lon, 90, 60, 150);
  DispatchSupport s(dispatch_119_defaults());
  auto ev = event("119UC001", "119-0001", 10, kLat, kLon);
  ev.mutable_place()->set_full_text("110 Sejong-daero, Jung-gu, Seoul");
  ev.set_content("fire on the 3rd floor");
  ctx.incident(s, ev);
  auto sent = ctx.sent<citylink::v1::DispatchSupport>("dispatch.119");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].recipient(), "119");
  EXPECT_EQ(sent[0].address().full_text(), "110 Sejong-daero, Jung-gu, Seoul");
  ASSERT_EQ(sent[0].cameras_size(), 2);
  EXPECT_EQ(sent[0].cameras(0).camera_id(), "north-cam");  // covers the scene: first
  EXPECT_TRUE(sent[0].cameras(0).covers_target());
  EXPECT_FALSE(sent[0].cameras(1).covers_target());
  EXPECT_NEAR(sent[0].cameras(0).distance_m(), haversine_m(kLat, kLon, a_lat, a_lon), 0.5);
  EXPECT_EQ(ctx.on("dispatch.119")[0].correlation_id, "119-0001");

  ctx.incident(s, event("119UC001", "119-0001", 40, kLat, kLon));
  ctx.incident(s, event("119UC001", "119-0001", 91, kLat, kLon));
  sent = ctx.sent<citylink::v1::DispatchSupport>("dispatch.119");
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].status(), 40);
  EXPECT_EQ(sent[2].status(), 91);
  EXPECT_EQ(sent[2].cameras_size(), 0);
}

TEST(DispatchSupport112, OnlyForItsEventCode) {
  FakeContext ctx;
  DispatchSupport s(dispatch_112_defaults());
  ctx.incident(s, event("112UC001", "x", 10, kLat, kLon));
  EXPECT_TRUE(ctx.out.empty());
  ctx.incident(s, event("112UC120", "y", 10, kLat, kLon));
  ASSERT_EQ(ctx.on("dispatch.112").size(), 1u);
  EXPECT_EQ(ctx.sent<citylink::v1::DispatchSupport>("dispatch.112")[0].recipient(), "112-patrol");
}
