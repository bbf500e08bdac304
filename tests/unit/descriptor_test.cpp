#include <citylink/host/descriptor.hpp>
#include <citylink/host/error.hpp>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

using namespace citylink::host;

namespace {
const char* const kPub[] = {"sensor.reading", nullptr};
const char* const kSub[] = {"incident.", nullptr};

citylink_descriptor good() {
  citylink_descriptor d{};
  d.struct_size = sizeof d;
  d.id = "kr.acme.gauge";
  d.name = "Gauge";
  d.vendor = "ACME";
  d.version = "1.2.3";
  d.kind = "sensor";
  d.publishes = kPub;
  d.subscribes = kSub;
  d.config_schema = R"({"type":"object"})";
  return d;
}

std::string error_of(const citylink_descriptor& d) {
  try {
    copy_descriptor(&d, "file 'x.so', descriptor 0");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Descriptor, CopiesEveryField) {
  auto d = good();
  const auto c = copy_descriptor(&d, "here");
  EXPECT_EQ(c.id, "kr.acme.gauge");
  EXPECT_EQ(c.publishes, std::vector<std::string>{"sensor.reading"});
  EXPECT_EQ(c.subscribes, std::vector<std::string>{"incident."});
  EXPECT_EQ(to_json(c)["config_schema"]["type"], "object");
}

TEST(Descriptor, CopiesFeaturesAndExtensions) {
  auto d = good();
  const char* const features[] = {"analytics.detection", "ptz", nullptr};
  const char* const extensions[] = {"citylink.health/1", "kr.acme.zoom.draft/2", nullptr};
  d.features = features;
  d.extensions = extensions;
  const auto c = copy_descriptor(&d, "here");
  EXPECT_EQ(c.features, (std::vector<std::string>{"analytics.detection", "ptz"}));
  EXPECT_EQ(c.extensions, (std::vector<std::string>{"citylink.health/1", "kr.acme.zoom.draft/2"}));
  EXPECT_EQ(to_json(c)["features"][1], "ptz");
}

TEST(Descriptor, OlderSmallerStructReadsMissingFieldsAsEmpty) {
  // A plugin built before config_schema/extensions existed: the host must not read past its struct.
  auto d = good();
  d.struct_size = offsetof(citylink_descriptor, config_schema);
  const auto c = copy_descriptor(&d, "here");
  EXPECT_EQ(c.config_schema, "");
  EXPECT_TRUE(c.extensions.empty());
}

TEST(Descriptor, FeaturesBeyondTheWritersStructSizeAreNotRead) {
  // The host copies min(struct_size, sizeof): a features pointer past struct_size is garbage
  // from the reader's point of view and must read as absent.
  auto d = good();
  const char* const features[] = {"ptz", nullptr};
  d.features = features;
  d.struct_size = offsetof(citylink_descriptor, features);
  EXPECT_TRUE(copy_descriptor(&d, "here").features.empty());
}

TEST(Descriptor, RefusesWhatIsUnusable) {
  auto d = good();
  d.id = nullptr;
  EXPECT_NE(error_of(d).find("has no id"), std::string::npos) << error_of(d);
  d = good();
  d.id = "Gauge";
  EXPECT_NE(error_of(d).find("not a reverse-DNS name"), std::string::npos);
  d = good();
  d.version = "v1";
  EXPECT_NE(error_of(d).find("not semver"), std::string::npos);
  d = good();
  const char* const bad_pub[] = {"Sensor Reading", nullptr};
  d.publishes = bad_pub;
  EXPECT_NE(error_of(d).find("neither a topic"), std::string::npos);
  const char* const star[] = {"*", nullptr};
  d.publishes = star;
  EXPECT_NE(error_of(d).find("neither a topic"), std::string::npos);
  const char* const subtree[] = {"incident.*", nullptr};
  d.publishes = subtree;
  EXPECT_EQ(error_of(d), "");
  d = good();
  // Subscriptions follow the same SDK grammar: a pattern that could never match is refused.
  for (const char* bad : {"Sensor Reading", "camera..info", "*", ""}) {
    const char* const sub[] = {bad, nullptr};
    d.subscribes = sub;
    EXPECT_NE(error_of(d).find("subscribes to '" + std::string(bad) + "'"), std::string::npos) << bad;
  }
  for (const char* fine : {"camera.info", "camera.", "camera.*"}) {
    const char* const sub[] = {fine, nullptr};
    d.subscribes = sub;
    EXPECT_EQ(error_of(d), "") << fine;
  }
  d = good();
  d.config_schema = "{not json";
  EXPECT_NE(error_of(d).find("config_schema is not valid JSON"), std::string::npos);
  d = good();
  const char* const bad_ext[] = {"citylink.health", nullptr};
  d.extensions = bad_ext;
  EXPECT_NE(error_of(d).find("extension id 'citylink.health' is not 'name/revision'"), std::string::npos)
      << error_of(d);
  d = good();
  const char* const bad_feature[] = {"On-Board Analytics", nullptr};
  d.features = bad_feature;
  EXPECT_NE(error_of(d).find("feature 'On-Board Analytics'"), std::string::npos) << error_of(d);
  d = good();
  d.struct_size = 8;
  EXPECT_NE(error_of(d).find("too small"), std::string::npos);
  EXPECT_NE(error_of(d).find("x.so"), std::string::npos);
}

// A Python plugin's descriptor arrives as JSON and is judged by the same validator as a C
// struct: every field survives, features and extensions included.
TEST(Descriptor, FromJsonKeepsEveryFieldAndIsJudgedLikeTheCStruct) {
  const auto d = descriptor_from_json(
      R"({"id":"kr.example.py-cam","name":"Py camera","vendor":"Example","version":"1.2.3","kind":"camera",
          "publishes":["camera.info"],"subscribes":["camera.ptz"],"features":["analytics.detection","ptz"],
          "extensions":["kr.example.health/1"],"config_schema":{"type":"object"}})",
      "cam.py");
  EXPECT_EQ(d.features, (std::vector<std::string>{"analytics.detection", "ptz"}));
  EXPECT_EQ(d.extensions, (std::vector<std::string>{"kr.example.health/1"}));
  EXPECT_EQ(d.subscribes, (std::vector<std::string>{"camera.ptz"}));
  try {
    descriptor_from_json(R"({"id":"kr.example.py-cam","name":"n","version":"1.0.0","kind":"camera",
                             "features":["On Board"]})",
                         "cam.py");
    FAIL() << "a feature outside the grammar was accepted";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("feature 'On Board'"), std::string::npos) << e.what();
  }
}
