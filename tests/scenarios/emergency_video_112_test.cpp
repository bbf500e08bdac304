#include <citylink/platform/scenarios/emergency_video_112.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

namespace {
// Seven cameras straight north of the incident at known distances; c5 is offline.
void lay_out(FakeContext& ctx) {
  const double north[] = {100, 200, 300, 450, 490, 520, 150};
  for (int i = 0; i < 7; ++i) {
    auto [lat, lon] = offset(kLat, kLon, north[i], 0);
    ctx.camera("c" + std::to_string(i), lat, lon);
  }
  citylink::v1::CameraStatus off;
  off.set_camera_id("c6");
  off.set_status(citylink::v1::CAMERA_STATE_OFFLINE);
  ctx.registry.update_status(off, ctx.now);
}
}  // namespace

TEST(EmergencyVideo112, GrantsTheNearestFiveLiveCamerasWithin500m) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112 s;
  ASSERT_TRUE(ctx.incident(s, event("112UC001", "112-0001", 10, kLat, kLon)));
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 1u);
  const auto& g = grants[0];
  // c6 (150 m) is offline, c5 (520 m) is out of range: nearest five in order of distance.
  EXPECT_EQ(std::vector<std::string>(g.camera_ids().begin(), g.camera_ids().end()),
            (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
  EXPECT_EQ(g.recipient(), "112");
  EXPECT_EQ(g.action(), citylink::v1::VideoShareGrant::ACTION_ISSUE);
  EXPECT_EQ(g.expires_unix_ns() - g.issued_unix_ns(), 20LL * 60 * 1'000'000'000);
  EXPECT_FALSE(g.purpose().empty());
  EXPECT_FALSE(g.legal_basis().empty());
  EXPECT_EQ(g.stream_uris(0), "rtsp://vms.test/c0");
  EXPECT_EQ(ctx.on("grant.video")[0].correlation_id, "112-0001");
  ASSERT_EQ(ctx.audits.size(), 1u);
  EXPECT_EQ(ctx.audits[0].action(), "video_grant.issue");
  EXPECT_EQ(ctx.audits[0].camera_ids_size(), 5);
  EXPECT_EQ(ctx.audits[0].valid_until_unix_ns(), g.expires_unix_ns());
  // The registry's distances agree with an independent haversine.
  for (const auto& h : ctx.registry.within(kLat, kLon, 500, 5, ctx.now))
    EXPECT_NEAR(h.distance_m, haversine_m(kLat, kLon, h.camera.lat, h.camera.lon), 0.005 * h.distance_m);
}

TEST(EmergencyVideo112, RenewsWhileOpenAndRevokesOnFinish) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112 s;
  ctx.incident(s, event("112UC001", "112-0002", 10, kLat, kLon));
  ctx.now += 19LL * 60 * 1'000'000'000 + 1;  // within a minute of expiry
  s.on_tick(ctx);
  auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[1].action(), citylink::v1::VideoShareGrant::ACTION_RENEW);
  EXPECT_EQ(ctx.audits.back().action(), "video_grant.renew");
  ctx.incident(s, event("112UC001", "112-0002", 91, kLat, kLon));
  grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  EXPECT_EQ(grants.back().action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(ctx.audits.back().action(), "video_grant.revoke");
  EXPECT_EQ(ctx.grant_book.live_count(), 0u);
}

TEST(EmergencyVideo112, AMovedIncidentGetsCamerasForItsNewPosition) {
  FakeContext ctx;
  lay_out(ctx);
  auto [far_lat, far_lon] = offset(kLat, kLon, 0, 3000);
  ctx.camera("east", far_lat, far_lon);
  EmergencyVideo112 s;
  ctx.incident(s, event("112UC001", "112-0003", 10, kLat, kLon));
  ctx.incident(s, event("112UC001", "112-0003", 40, far_lat, far_lon));
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 3u);  // issue, revoke, issue
  EXPECT_EQ(grants[1].action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(grants[2].camera_ids(0), "east");
}

TEST(EmergencyVideo112, NoCamerasNoGrantAndItIsCounted) {
  FakeContext ctx;
  EmergencyVideo112 s;
  ctx.incident(s, event("112UC001", "112-0004", 10, kLat, kLon));
  EXPECT_TRUE(ctx.on("grant.video").empty());
  EXPECT_EQ(ctx.rejects["emergency_video_112/no_cameras"], 1);
}

TEST(EmergencyVideo112, IgnoresOtherEventCodes) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112 s;
  ctx.incident(s, event("119UC001", "119-1", 10, kLat, kLon));
  EXPECT_TRUE(ctx.out.empty());
}

// H4: a platform that goes quiet (a close lost on the way) no longer keeps video shared.
TEST(EmergencyVideo112, RenewalStopsWhenTheIncidentHasGoneQuiet) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112Config c;
  c.video.stale_after_ns = 30LL * 60 * 1'000'000'000;
  EmergencyVideo112 s(c);
  ctx.incident(s, event("112UC001", "112-Q", 10, kLat, kLon));
  ctx.now += 19LL * 60 * 1'000'000'000 + 1;
  s.on_tick(ctx);  // 19 min after the report: renewed
  ctx.now += 20LL * 60 * 1'000'000'000;
  s.on_tick(ctx);  // 39 min without an update: left to expire
  s.on_tick(ctx);
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[1].action(), citylink::v1::VideoShareGrant::ACTION_RENEW);
  EXPECT_EQ(ctx.rejects["emergency_video_112/renew_stale"], 1);
}

// H4: a close whose position is broken is still a close.
TEST(EmergencyVideo112, AFinishWithABrokenPositionStillRevokes) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112 s;
  ctx.incident(s, event("112UC001", "112-B", 10, kLat, kLon));
  ASSERT_TRUE(ctx.incident(s, event("112UC001", "112-B", 91, 91.0, kLon)));
  EXPECT_EQ(ctx.sent<citylink::v1::VideoShareGrant>("grant.video").back().action(),
            citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(ctx.grant_book.live_count(), 0u);
}

// M13: released (50) ends video sharing; nothing is re-issued.
TEST(EmergencyVideo112, ReleasedEndsSharing) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112 s;
  ctx.incident(s, event("112UC001", "112-R", 10, kLat, kLon));
  ctx.incident(s, event("112UC001", "112-R", 50, kLat, kLon));
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[1].action(), citylink::v1::VideoShareGrant::ACTION_REVOKE);
  EXPECT_EQ(ctx.grant_book.live_count(), 0u);
}

// M12: an update whose position is (0, 0) keeps the last known place instead of moving
// the cameras to the Gulf of Guinea.
TEST(EmergencyVideo112, AZeroZeroUpdateKeepsTheLastKnownPosition) {
  FakeContext ctx;
  lay_out(ctx);
  EmergencyVideo112 s;
  ctx.incident(s, event("112UC001", "112-Z", 10, kLat, kLon));
  ASSERT_TRUE(ctx.incident(s, event("112UC001", "112-Z", 40, 0.0, 0.0)));
  const auto grants = ctx.sent<citylink::v1::VideoShareGrant>("grant.video");
  ASSERT_EQ(grants.size(), 3u);  // issue, revoke, issue at the same place
  EXPECT_EQ(grants[2].camera_ids_size(), grants[0].camera_ids_size());
  EXPECT_EQ(grants[2].camera_ids(0), grants[0].camera_ids(0));
}
