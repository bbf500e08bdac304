// The names and namespaces the host keeps for itself (host/src/security/permissions.cpp).
#include <citylink/host/permissions.hpp>
#include <gtest/gtest.h>

using namespace citylink::host;

TEST(Permissions, TheEnginesNamespacesAreWholeSubtreesMatchedBySegment) {
  for (const char* t : {"grant.video.112", "grant", "dispatch.119", "audit.video_grant", "camera.ptz", "camera.ptz.x"})
    EXPECT_TRUE(is_engine_only_topic(t)) << t;
  for (const char* t : {"grants.x", "dispatcher", "camera.info", "camera.ptzx", "incident.112", "auditing"})
    EXPECT_FALSE(is_engine_only_topic(t)) << t;
  EXPECT_TRUE(is_recipient_addressed("dispatch.disaster"));
  EXPECT_FALSE(is_recipient_addressed("camera.ptz"));  // engine-only, but not addressed
}

TEST(Permissions, PatternsInsideAProtectedNamespaceAreTheOnesToRefuse) {
  for (const char* p : {"grant.*", "grant.", "grant.video.112", "dispatch", "audit.*", "camera.ptz"})
    EXPECT_TRUE(pattern_inside_engine_only(p)) << p;
  // Wider patterns are allowed: the router keeps the protected topics out of them.
  for (const char* p : {"*", "camera.*", "camera.", "sensor.reading", "grants.x"})
    EXPECT_FALSE(pattern_inside_engine_only(p)) << p;
  EXPECT_TRUE(pattern_inside_recipient_addressed("dispatch.119"));
  EXPECT_FALSE(pattern_inside_recipient_addressed("camera.ptz"));
  EXPECT_FALSE(pattern_inside_recipient_addressed("*"));
}

TEST(Permissions, InstanceNamesAndRecipients) {
  EXPECT_TRUE(is_valid_instance_name("cctv-gangnam-1"));
  EXPECT_TRUE(is_valid_instance_name("112-centre"));
  for (const char* bad : {"", "-a", "A", "a_b", "a b", "a.b", "a\nb"}) EXPECT_FALSE(is_valid_instance_name(bad)) << bad;
  EXPECT_FALSE(is_valid_instance_name(std::string(65, 'a')));
  EXPECT_TRUE(is_reserved_instance_name(kEngineName));
  EXPECT_TRUE(is_reserved_instance_name(kAuditRecipient));
  EXPECT_FALSE(is_reserved_instance_name("scenario-engine-2"));
  EXPECT_TRUE(is_valid_recipient("112"));
  EXPECT_TRUE(is_valid_recipient("situation room"));
  EXPECT_TRUE(is_valid_recipient("MOJ"));
  for (const char* bad : {"", " 112", "a/b", "a\"b", "112\n"}) EXPECT_FALSE(is_valid_recipient(bad)) << bad;
}
