#include <citylink/host/topic.hpp>
#include <gtest/gtest.h>

using namespace citylink::host;

TEST(Topic, AcceptsDottedLowerCaseWords) {
  EXPECT_TRUE(is_valid_topic("sensor.reading"));
  EXPECT_TRUE(is_valid_topic("incident.112"));
  EXPECT_TRUE(is_valid_topic("kr.vendor-x.feature_2"));
  EXPECT_TRUE(is_valid_topic("camera"));
}

TEST(Topic, RefusesEverythingElse) {
  for (const char* bad : {"", ".a", "a.", "a..b", "Sensor.reading", "a b", "a/b", "a.*", "한글"})
    EXPECT_FALSE(is_valid_topic(bad)) << bad;
  EXPECT_FALSE(is_valid_topic(std::string(256, 'a')));
}

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

TEST(Grant, ExactTopicAndItsChildren) {
  EXPECT_TRUE(grant_allows("sensor.reading", "sensor.reading"));
  EXPECT_TRUE(grant_allows("sensor.reading", "sensor.reading.water"));
  EXPECT_FALSE(grant_allows("sensor.reading", "sensor.readings"));
  EXPECT_FALSE(grant_allows("sensor", "sensors.x"));
  EXPECT_FALSE(grant_allows("sensor.reading", "sensor"));
}

TEST(Grant, SubtreeAndWildcard) {
  EXPECT_TRUE(grant_allows("camera.*", "camera.info"));
  EXPECT_TRUE(grant_allows("camera.", "camera.status"));
  EXPECT_FALSE(grant_allows("camera.*", "camera"));
  EXPECT_FALSE(grant_allows("camera.*", "cameras.info"));
  EXPECT_TRUE(grant_allows("*", "anything.at.all"));
  EXPECT_TRUE(grants_allow({"a.b", "camera.*"}, "camera.ptz"));
  EXPECT_FALSE(grants_allow({}, "camera.ptz"));
}

TEST(Grant, Syntax) {
  EXPECT_TRUE(is_valid_grant("*"));
  EXPECT_TRUE(is_valid_grant("camera.*"));
  EXPECT_TRUE(is_valid_grant("camera."));
  EXPECT_TRUE(is_valid_grant("sensor.reading"));
  EXPECT_FALSE(is_valid_grant("camera.**"));
  EXPECT_FALSE(is_valid_grant(".*"));
  EXPECT_FALSE(is_valid_grant(""));
  EXPECT_FALSE(is_valid_grant("Camera"));
}
