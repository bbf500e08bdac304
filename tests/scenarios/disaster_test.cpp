#include <citylink/platform/scenarios/disaster.hpp>

#include "scenario_fixture.hpp"

using namespace citylink::test;

namespace {
constexpr int64_t kSec = 1'000'000'000;
citylink::v1::SensorReading reading(double v, int64_t t, const std::string& kind = "water_level",
                                    const std::string& zone = "flood-prone-road:gangnam-daero") {
  citylink::v1::SensorReading r;
  r.set_sensor_id("WL-1");
  r.set_kind(kind);
  r.set_value(v);
  r.set_unit("m");
  r.set_zone(zone);
  r.set_time_unix_ns(t);
  r.mutable_position()->set_lat(kLat);
  r.mutable_position()->set_lon(kLon);
  return r;
}
DisasterConfig flood(int64_t hold) {
  DisasterConfig c;
  c.rules = {{"flood", "flood-prone-road", "water_level", true, 0.5, 0.4, hold}};
  return c;
}
}  // namespace

TEST(Disaster, RaisesAfterTheHoldTimeAndClearsWithHysteresis) {
  FakeContext ctx;
  ctx.camera("cam", kLat, kLon);
  Disaster s(flood(10 * kSec));
  const int64_t t = ctx.now;
  // A reading received `after` the first one (the host's clock; the sensor's says the same).
  auto at = [&](double v, int64_t after) {
    ctx.now = t + after;
    s.on_reading(reading(v, ctx.now), ctx);
  };
  at(0.55, 0);
  at(0.60, 9 * kSec);
  EXPECT_TRUE(ctx.out.empty());  // not yet held for 10 s
  at(0.62, 10 * kSec);
  auto events = ctx.sent<citylink::v1::PlatformEvent>("incident.disaster");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_code(), "DUCDP110");
  EXPECT_EQ(events[0].status(), citylink::v1::EVENT_STATUS_OCCURRED);
  const auto support = ctx.sent<citylink::v1::DispatchSupport>("dispatch.disaster");
  ASSERT_EQ(support.size(), 1u);
  EXPECT_EQ(support[0].recipient(), "situation-room");
  EXPECT_EQ(support[0].cameras(0).camera_id(), "cam");
  // 0.45 is below the raise level but above the clear level: still raised (hysteresis).
  at(0.45, 20 * kSec);
  at(0.45, 40 * kSec);
  EXPECT_EQ(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").size(), 1u);
  at(0.35, 50 * kSec);
  at(0.30, 60 * kSec);
  events = ctx.sent<citylink::v1::PlatformEvent>("incident.disaster");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].status(), citylink::v1::EVENT_STATUS_RELEASED);
  EXPECT_EQ(events[1].occurrence_number(), events[0].occurrence_number());
  EXPECT_EQ(ctx.on("incident.disaster")[1].correlation_id, events[0].occurrence_number());
}

TEST(Disaster, ANoisySensorInsideTheHoldTimeDoesNotFlap) {
  FakeContext ctx;
  Disaster s(flood(10 * kSec));
  for (int i = 0; i < 60; ++i) {
    ctx.now += 3 * kSec;
    s.on_reading(reading(i % 2 ? 0.58 : 0.47, ctx.now), ctx);
  }
  EXPECT_TRUE(ctx.out.empty());
}

// Review M6: the hold runs on the host's clock. A gauge whose clock is a year ahead for its
// first reading (a reset RTC) still raises the flood after the hold; one whose second
// reading is 10 s ahead does not raise it before the hold.
TEST(Disaster, TheHoldRunsOnTheHostsClockWhateverTheSensorsClockSays) {
  const int64_t year = int64_t{365} * 24 * 3600 * kSec;
  {
    FakeContext ctx;
    ctx.camera("cam", kLat, kLon);
    Disaster s(flood(10 * kSec));
    s.on_reading(reading(0.6, ctx.now + year), ctx);
    for (int i = 1; i <= 11; ++i) {
      ctx.now += kSec;
      s.on_reading(reading(0.6, ctx.now), ctx);
    }
    EXPECT_EQ(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").size(), 1u) << "the flood was never raised";
  }
  {
    FakeContext ctx;
    ctx.camera("cam", kLat, kLon);
    Disaster s(flood(10 * kSec));
    s.on_reading(reading(0.6, ctx.now), ctx);
    ctx.now += kSec;
    s.on_reading(reading(0.6, ctx.now + 10 * kSec), ctx);
    EXPECT_TRUE(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").empty()) << "raised with no hold";
  }
}

TEST(Disaster, HeatAndColdInChildProtectionZones) {
  FakeContext ctx;
  DisasterConfig c;  // the defaults: heat >= 33 (clear 31), cold <= -12 (clear -10), hold 60 s
  Disaster s(c);
  s.on_reading(reading(34, ctx.now, "temperature", "child-protection:seoul-elementary"), ctx);
  ctx.now += 60 * kSec;
  s.on_reading(reading(34.5, ctx.now, "temperature", "child-protection:seoul-elementary"), ctx);
  auto ev = ctx.sent<citylink::v1::PlatformEvent>("incident.disaster");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].items().at("rule"), "heat");
  s.on_reading(reading(-13, ctx.now, "temperature", "park:x"), ctx);  // not a child protection zone
  ctx.now += 61 * kSec;
  s.on_reading(reading(-13, ctx.now, "temperature", "park:x"), ctx);
  EXPECT_EQ(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").size(), 1u);
}

// H8 of the review: one state per sensor id ever seen, kept forever. A quiet sensor's state
// is forgotten after the retention; a sensor with a raised disaster is kept.
TEST(Disaster, QuietSensorsAreForgottenButARaisedDisasterIsKept) {
  FakeContext ctx;
  ctx.camera("cam", kLat, kLon);
  auto c = flood(0);
  c.state_retention_ns = 60 * kSec;
  Disaster s(c);
  for (int i = 0; i < 100; ++i) {
    auto r = reading(0.1, ctx.now);
    r.set_sensor_id("quiet-" + std::to_string(i));
    s.on_reading(r, ctx);
  }
  s.on_reading(reading(0.9, ctx.now), ctx);  // WL-1 raises at once (no hold)
  ASSERT_EQ(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").size(), 1u);
  EXPECT_EQ(s.state_count(), 101u);
  ctx.now += 61 * kSec;
  s.on_tick(ctx);
  EXPECT_EQ(s.state_count(), 1u);  // the raised one
  s.on_reading(reading(0.1, ctx.now), ctx);  // and it still clears
  EXPECT_EQ(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").size(), 2u);
}

// The platform's occurrence numbers are 14 or 17 digits, and a platform that checks them
// refuses text: the engine's own are 17, the host's time in Korea and a sequence.
TEST(Disaster, OccurrenceNumbersAreSeventeenDigitsOfKoreanTimeAndNeverRepeat) {
  FakeContext ctx;  // 1,800,000,000 s: 2027-01-15 08:00:00 UTC, 17:00:00 in Korea
  Disaster s(flood(0));
  for (const char* sensor : {"WL-1", "WL-2", "WL-3"}) {
    auto r = reading(0.6, ctx.now);
    r.set_sensor_id(sensor);
    s.on_reading(r, ctx);
  }
  const auto ev = ctx.sent<citylink::v1::PlatformEvent>("incident.disaster");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].occurrence_number(), "20270115170000000");
  EXPECT_EQ(ev[1].occurrence_number(), "20270115170000001");
  EXPECT_EQ(ev[2].occurrence_number(), "20270115170000002");
  EXPECT_EQ(ev[1].items().at("rule"), "flood");
  EXPECT_EQ(ev[1].items().at("sensor_id"), "WL-2");
  // The host's clock stepping back never repeats a number.
  ctx.now -= 3600 * kSec;
  auto r = reading(0.6, ctx.now);
  r.set_sensor_id("WL-4");
  s.on_reading(r, ctx);
  EXPECT_EQ(ctx.sent<citylink::v1::PlatformEvent>("incident.disaster").back().occurrence_number(), "20270115170000003");
}
