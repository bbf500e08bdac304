#include <citylink/platform/scenarios/cctv_tracking.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

namespace {
citylink::v1::TrackingInfo track(const std::string& cam, double lat, double lon, double heading, int64_t t,
                                 const std::string& incident = "") {
  citylink::v1::TrackingInfo x;
  x.set_track_id("T-1");
  x.set_target_class("person");
  x.set_camera_id(cam);
  x.mutable_position()->set_lat(lat);
  x.mutable_position()->set_lon(lon);
  x.set_heading_deg(heading);
  x.set_speed_mps(1.5);
  x.set_time_unix_ns(t);
  x.set_incident_id(incident);
  return x;
}
}  // namespace

TEST(CctvTracking, PredictsCamerasAheadPointsPtzAndFeedsTheOpenIncident) {
  FakeContext ctx;
  auto [n1_lat, n1_lon] = offset(kLat, kLon, 100, 0);
  auto [s1_lat, s1_lon] = offset(kLat, kLon, -100, 0);
  auto [e1_lat, e1_lon] = offset(kLat, kLon, 0, 100);
  ctx.camera("here", kLat, kLon);
  ctx.camera("north-ptz", n1_lat, n1_lon, 0, 60, 100, /*ptz*/ true);
  ctx.camera("south", s1_lat, s1_lon);
  ctx.camera("east", e1_lat, e1_lon);
  CctvTracking s;
  ctx.book.apply(event("112UC120", "INC-9", 10, kLat, kLon), true, nullptr);
  s.on_tracking(track("here", kLat, kLon, 0 /*north*/, ctx.now, "INC-9"), ctx);

  const auto& latest = s.tracks().at("T-1").latest;
  ASSERT_EQ(latest.predicted_next_cameras_size(), 1);
  EXPECT_EQ(latest.predicted_next_cameras(0), "north-ptz");  // ahead; south behind, east off-axis
  const auto ptz = ctx.sent<citylink::v1::PtzCommand>("camera.ptz");
  ASSERT_EQ(ptz.size(), 1u);
  EXPECT_EQ(ptz[0].camera_id(), "north-ptz");
  EXPECT_NEAR(ptz[0].pan_deg(), 180.0, 0.5);  // from the north camera, the target is due south
  const auto d = ctx.sent<citylink::v1::DispatchSupport>("dispatch.112");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].recipient(), "112-patrol");
  EXPECT_NEAR(d[0].target_positions(0).lat(), kLat, 1e-9);
  EXPECT_EQ(ctx.on("dispatch.112")[0].correlation_id, "INC-9");
}

TEST(CctvTracking, HandoverIsRecordedAndClosedIncidentsGetNothing) {
  FakeContext ctx;
  auto [n_lat, n_lon] = offset(kLat, kLon, 100, 0);
  ctx.camera("a", kLat, kLon);
  ctx.camera("b", n_lat, n_lon);
  CctvTracking s;
  ctx.book.apply(event("112UC120", "INC-10", 10, kLat, kLon), true, nullptr);
  s.on_tracking(track("a", kLat, kLon, 0, ctx.now, "INC-10"), ctx);
  s.on_tracking(track("b", n_lat, n_lon, 0, ctx.now + 1, "INC-10"), ctx);
  EXPECT_EQ(s.tracks().at("T-1").latest.handed_over_from(), "a");
  EXPECT_NE(ctx.sent<citylink::v1::DispatchSupport>("dispatch.112").back().text().find("handed over from a"),
            std::string::npos);
  ctx.book.apply(event("112UC120", "INC-10", 91, kLat, kLon), true, nullptr);
  const auto before = ctx.on("dispatch.112").size();
  s.on_tracking(track("a", kLat, kLon, 180, ctx.now + 2, "INC-10"), ctx);
  EXPECT_EQ(ctx.on("dispatch.112").size(), before);
  s.on_tracking(track("a", kLat, kLon, 180, ctx.now - 5, "INC-10"), ctx);
  EXPECT_EQ(ctx.rejects["cctv_tracking/out_of_order"], 1);
}

// H8 of the review: tracks were kept forever. One without an update for the retention goes.
TEST(CctvTracking, ATrackWithoutUpdatesIsForgottenAfterTheRetention) {
  FakeContext ctx;
  ctx.camera("here", kLat, kLon);
  CctvTrackingConfig c;
  c.track_retention_ns = int64_t{60} * 1'000'000'000;
  CctvTracking s(c);
  s.on_tracking(track("here", kLat, kLon, 0, ctx.now), ctx);
  s.on_tick(ctx);
  EXPECT_EQ(s.tracks().size(), 1u);
  ctx.now += int64_t{61} * 1'000'000'000;
  s.on_tick(ctx);
  EXPECT_TRUE(s.tracks().empty());
}

// Review M6: one update dated a year ahead no longer freezes the track; it is refused, and
// the next updates with the right time move the track on.
TEST(CctvTracking, AnUpdateDatedFarFromTheHostsClockIsRefusedAndDoesNotFreezeTheTrack) {
  FakeContext ctx;
  auto [n_lat, n_lon] = offset(kLat, kLon, 100, 0);
  ctx.camera("a", kLat, kLon);
  ctx.camera("b", n_lat, n_lon);
  CctvTracking s;
  const int64_t sec = 1'000'000'000;
  s.on_tracking(track("a", kLat, kLon, 0, ctx.now), ctx);
  s.on_tracking(track("a", kLat, kLon, 0, ctx.now + int64_t{365} * 24 * 3600 * sec), ctx);
  EXPECT_EQ(ctx.rejects["cctv_tracking/implausible_time"], 1);
  s.on_tracking(track("a", kLat, kLon, 0, ctx.now - 10 * 60 * sec), ctx);  // ten minutes old
  EXPECT_EQ(ctx.rejects["cctv_tracking/implausible_time"], 2);
  ctx.now += sec;
  s.on_tracking(track("b", n_lat, n_lon, 0, ctx.now), ctx);
  EXPECT_EQ(ctx.rejects["cctv_tracking/out_of_order"], 0);
  EXPECT_EQ(s.tracks().at("T-1").latest.camera_id(), "b");  // the track moved on
}

// Review M14: a track (real or spurious) must not turn a camera away from another
// incident's scene that an agency is watching through a live grant; a track of nothing open
// turns no camera; and one camera is turned at most once per interval.
TEST(CctvTracking, PtzLeavesCamerasOfOtherIncidentsGrantsAloneAndIsRateLimited) {
  FakeContext ctx;
  auto [n_lat, n_lon] = offset(kLat, kLon, 100, 0);
  ctx.camera("here", kLat, kLon);
  ctx.camera("north-ptz", n_lat, n_lon, 0, 60, 100, /*ptz*/ true);
  ctx.book.apply(event("112UC120", "INC-9", 10, kLat, kLon), true, nullptr);
  CctvTrackingConfig c;
  c.ptz_min_interval_ns = int64_t{5} * 1'000'000'000;
  CctvTracking s(c);
  auto ptz_sent = [&] { return ctx.sent<citylink::v1::PtzCommand>("camera.ptz").size(); };

  // A track with no open incident turns nothing.
  auto lone = track("here", kLat, kLon, 0, ctx.now);
  lone.set_track_id("T-lone");
  s.on_tracking(lone, ctx);
  EXPECT_EQ(ptz_sent(), 0u);

  // The camera serves the live grant of another incident: held.
  GrantRequest other;
  other.incident = {"", "INC-OTHER"};
  other.recipient = "112";
  other.camera_ids = {"north-ptz"};
  other.lifetime_ns = int64_t{600} * 1'000'000'000;
  const std::string other_grant = ctx.grant_book.issue(other, ctx.now).grant_id();
  s.on_tracking(track("here", kLat, kLon, 0, ctx.now, "INC-9"), ctx);
  EXPECT_EQ(ptz_sent(), 0u);
  EXPECT_EQ(ctx.rejects["cctv_tracking/ptz_held"], 1);

  // Serving the grant of the track's own incident, it follows that incident's target.
  ctx.grant_book.revoke(other_grant, "test", ctx.now);
  GrantRequest own = other;
  own.incident = {"", "INC-9"};
  ctx.grant_book.issue(own, ctx.now);
  ctx.now += 1'000'000'000;
  s.on_tracking(track("here", kLat, kLon, 0, ctx.now, "INC-9"), ctx);
  EXPECT_EQ(ptz_sent(), 1u);

  // A second update a second later does not turn it again; one after the interval does.
  ctx.now += 1'000'000'000;
  s.on_tracking(track("here", kLat, kLon, 0, ctx.now, "INC-9"), ctx);
  EXPECT_EQ(ptz_sent(), 1u);
  EXPECT_EQ(ctx.rejects["cctv_tracking/ptz_rate_limited"], 1);
  ctx.now += 5'000'000'000;
  s.on_tracking(track("here", kLat, kLon, 0, ctx.now, "INC-9"), ctx);
  EXPECT_EQ(ptz_sent(), 2u);
}
