// The host's topic functions are thin wrappers over the SDK's grammar (citylink/topics.h,
// tested in sdk_grammar_test.cpp); what is tested here is what the host adds.
#include <citylink/host/topic.hpp>
#include <gtest/gtest.h>

using namespace citylink::host;

TEST(Subscription, MatchesBySegmentNeverByBytePrefix) {
  // Subscriptions use the grant grammar: an agency subscribed to grant.video.112 never
  // receives grant.video.112-x (M9 of the review).
  EXPECT_TRUE(grant_allows("grant.video.112", "grant.video.112"));
  EXPECT_FALSE(grant_allows("grant.video.112", "grant.video.112-x"));
  EXPECT_FALSE(grant_allows("grant.video.112", "grant.video.1120"));
  EXPECT_TRUE(grant_allows("incident.", "incident.112"));
  EXPECT_FALSE(grant_allows("incident.", "incident"));
  EXPECT_FALSE(grant_allows("incident.", "incidents.112"));
}

TEST(Grant, AListAllowsWhatAnyOfItsPatternsAllows) {
  EXPECT_TRUE(grants_allow({"a.b", "camera.*"}, "camera.ptz"));
  EXPECT_FALSE(grants_allow({"a.b", "camera.*"}, "cameras.ptz"));
  EXPECT_FALSE(grants_allow({}, "camera.ptz"));
  EXPECT_TRUE(is_valid_grant("camera.*") && is_valid_topic("incident.112") && !is_valid_grant("Camera"));
}

// A client may narrow what the city granted it, never widen it (citylink.Host.subscribe).
TEST(Grant, CoversOnlyPatternsInsideItself) {
  EXPECT_TRUE(grant_covers("*", "*"));
  EXPECT_TRUE(grant_covers("*", "camera.*"));
  EXPECT_FALSE(grant_covers("camera.*", "*"));
  EXPECT_TRUE(grant_covers("camera.*", "camera.*"));
  EXPECT_TRUE(grant_covers("camera.*", "camera."));
  EXPECT_TRUE(grant_covers("camera.*", "camera.status"));
  EXPECT_TRUE(grant_covers("camera.*", "camera.status.*"));
  EXPECT_FALSE(grant_covers("camera.*", "camera"));  // "camera" itself is not below camera.*
  EXPECT_TRUE(grant_covers("camera", "camera.*"));   // an exact grant matches its subtree too
  EXPECT_TRUE(grant_covers("sensor.reading", "sensor.reading"));
  EXPECT_FALSE(grant_covers("sensor.reading", "sensor"));
  EXPECT_FALSE(grant_covers("sensor.reading", "sensor.*"));
  EXPECT_FALSE(grant_covers("sensor", "sensors"));
  EXPECT_FALSE(grant_covers("camera.*", "Camera.status"));
}
