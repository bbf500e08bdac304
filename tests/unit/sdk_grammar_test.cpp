// The grammars the SDK ships as header-only C (citylink/topics.h, citylink/ext/extension_id.h):
// plugins, the loader, `verify` and the router must all agree with these cases.
#include <citylink/event_codes.h>
#include <citylink/ext/extension_id.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>
#include <gtest/gtest.h>

#include <string>

namespace {

bool topic(const std::string& t) { return citylink_topic_is_valid(t.data(), t.size()) != 0; }
bool pattern(const std::string& p) { return citylink_topic_pattern_is_valid(p.data(), p.size()) != 0; }
bool matches(const std::string& p, const std::string& t) {
  return citylink_topic_pattern_matches(p.data(), p.size(), t.data(), t.size()) != 0;
}

}  // namespace

TEST(SdkTopic, AcceptsDottedLowerCaseSegments) {
  for (const char* good : {"sensor.reading", "incident.112", "kr.vendor-x.feature_2", "camera", "a", "_", "-.-"})
    EXPECT_TRUE(topic(good)) << good;
  EXPECT_TRUE(topic(std::string(255, 'a')));
}

TEST(SdkTopic, RefusesEverythingElse) {
  for (const char* bad : {"", ".a", "a.", "a..b", ".", "Sensor.reading", "a b", "a/b", "a.*", "*", "한글", "a\tb"})
    EXPECT_FALSE(topic(bad)) << bad;
  EXPECT_FALSE(topic(std::string(256, 'a')));
  EXPECT_FALSE(topic(std::string("a\0b", 3))) << "an embedded NUL";
  EXPECT_FALSE(citylink_topic_is_valid(nullptr, 3));
}

TEST(SdkTopic, ReadsOnlyTheGivenLength) {
  const char buf[] = "sensor.readingXYZ";
  EXPECT_TRUE(citylink_topic_is_valid(buf, 14));
  EXPECT_FALSE(citylink_topic_is_valid(buf, 17));
  EXPECT_TRUE(citylink_topic_pattern_matches("sensor.*", 8, buf, 14));
}

TEST(SdkTopic, ConstantsAreValidTopics) {
  for (const char* t : {CITYLINK_TOPIC_CAMERA_INFO, CITYLINK_TOPIC_CAMERA_STATUS, CITYLINK_TOPIC_CAMERA_PTZ,
                        CITYLINK_TOPIC_ANALYTICS_DETECTION, CITYLINK_TOPIC_ANALYTICS_TRACKING,
                        CITYLINK_TOPIC_SENSOR_READING, CITYLINK_TOPIC_INCIDENT_112, CITYLINK_TOPIC_INCIDENT_119,
                        CITYLINK_TOPIC_INCIDENT_DISASTER, CITYLINK_TOPIC_INCIDENT_VULNERABLE,
                        CITYLINK_TOPIC_INCIDENT_MOJ, CITYLINK_TOPIC_DISPATCH_112, CITYLINK_TOPIC_DISPATCH_119,
                        CITYLINK_TOPIC_DISPATCH_DISASTER, CITYLINK_TOPIC_DISPATCH_MOJ, CITYLINK_TOPIC_GRANT_VIDEO,
                        CITYLINK_TOPIC_AUDIT_VIDEO_GRANT, CITYLINK_TOPIC_AUDIT_PERSONAL_DATA})
    EXPECT_TRUE(topic(t)) << t;
  EXPECT_STREQ(CITYLINK_TOPIC_CAMERA_INFO, "camera.info");
  EXPECT_STREQ(CITYLINK_TOPIC_INCIDENT_112, "incident.112");
  EXPECT_TRUE(pattern(CITYLINK_TOPIC_AUDIT_ALL));
  EXPECT_TRUE(matches(CITYLINK_TOPIC_AUDIT_ALL, CITYLINK_TOPIC_AUDIT_VIDEO_GRANT));
  for (const char* k : {CITYLINK_KIND_CAMERA, CITYLINK_KIND_ANALYTICS, CITYLINK_KIND_SENSOR, CITYLINK_KIND_WEARABLE,
                        CITYLINK_KIND_BRIDGE, CITYLINK_KIND_SINK})
    EXPECT_TRUE(topic(k)) << k;
  EXPECT_STREQ(CITYLINK_EVENT_112UC001, "112UC001");
  EXPECT_STREQ(CITYLINK_EVENT_DISASTER, "DUCDP110");
  EXPECT_STREQ(CITYLINK_EVENT_MOJUC110, "MOJUC110");
}

TEST(SdkTopicPattern, Syntax) {
  for (const char* good : {"*", "camera.*", "camera.", "sensor.reading", "a.b.c.*", "a"})
    EXPECT_TRUE(pattern(good)) << good;
  for (const char* bad : {"", "camera.**", ".*", ".", "*.camera", "camera*", "a..*", "Camera", "**", "a.*.b", " "})
    EXPECT_FALSE(pattern(bad)) << bad;
  EXPECT_FALSE(citylink_topic_pattern_is_valid(nullptr, 1));
}

TEST(SdkTopicPattern, StarMatchesEverything) {
  EXPECT_TRUE(matches("*", "anything.at.all"));
  EXPECT_TRUE(matches("*", "camera"));
}

TEST(SdkTopicPattern, SubtreeMatchesStrictDescendantsOnly) {
  for (const char* p : {"a.b.*", "a.b."}) {
    EXPECT_TRUE(matches(p, "a.b.x")) << p;
    EXPECT_TRUE(matches(p, "a.b.x.y")) << p;
    EXPECT_FALSE(matches(p, "a.b")) << p;
    EXPECT_FALSE(matches(p, "a.bx")) << p;
    EXPECT_FALSE(matches(p, "a.b-x")) << p;
    EXPECT_FALSE(matches(p, "a")) << p;
    EXPECT_FALSE(matches(p, "x.a.b.c")) << p;
  }
  EXPECT_TRUE(matches("camera.*", "camera.info"));
  EXPECT_FALSE(matches("camera.*", "cameras.info"));
}

TEST(SdkTopicPattern, ExactMatchesItselfAndItsDescendantsSegmentWise) {
  EXPECT_TRUE(matches("a.b", "a.b"));
  EXPECT_TRUE(matches("a.b", "a.b.x"));
  EXPECT_TRUE(matches("a.b", "a.b.x.y"));
  EXPECT_FALSE(matches("a.b", "a.bx"));
  EXPECT_FALSE(matches("a.b", "a.b-x"));
  EXPECT_FALSE(matches("a.b", "a.b_x"));
  EXPECT_FALSE(matches("a.b", "a"));
  EXPECT_FALSE(matches("sensor", "sensors.x"));
  EXPECT_FALSE(matches("sensor.reading", "sensor.readings"));
  EXPECT_TRUE(matches("sensor.reading", "sensor.reading.water"));
}

TEST(SdkTopicPattern, InvalidPatternsMatchNothing) {
  EXPECT_FALSE(matches("", ""));
  EXPECT_FALSE(matches("", "a"));
  EXPECT_FALSE(matches("camera.**", "camera.x"));
  EXPECT_FALSE(matches("A.b", "A.b"));
  EXPECT_FALSE(citylink_topic_pattern_matches(nullptr, 0, "a", 1));
  EXPECT_FALSE(citylink_topic_pattern_matches("a", 1, nullptr, 0));
}

TEST(SdkExtensionId, Grammar) {
  for (const char* good : {"citylink.timer/1", "kr.vendor.feature/2", "citylink.timer.draft/1",
                           "citylink.plugin-factory/1", "x/1", "a_b.c-d/123456789", "citylink.health/10"})
    EXPECT_TRUE(citylink_extension_id_is_valid(good)) << good;
  for (const char* bad : {"", "citylink.timer", "citylink.timer/", "citylink.timer/0", "citylink.timer/01",
                          "citylink.timer/-1", "citylink.timer/1.0", "Citylink.timer/1", ".timer/1", "timer./1",
                          "a..b/1", "/1", "citylink timer/1", "citylink.timer/1/2", "citylink.timer/x",
                          "citylink.timer/1234567890", "citylink/timer/1"})
    EXPECT_FALSE(citylink_extension_id_is_valid(bad)) << bad;
  EXPECT_FALSE(citylink_extension_id_is_valid(nullptr));
  EXPECT_TRUE(citylink_extension_id_is_valid((std::string(253, 'a') + "/1").c_str()));
  EXPECT_FALSE(citylink_extension_id_is_valid((std::string(300, 'a') + "/1").c_str()));
}
