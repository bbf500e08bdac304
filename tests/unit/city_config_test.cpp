#include "test_support.hpp"

#include <citylink/host/city_config.hpp>
#include <citylink/host/error.hpp>
#include <gtest/gtest.h>

using namespace citylink::host;
using citylink::test::TempDir;

namespace {

// Parses `yaml` with a real plugin file named gauge.so next to it.
struct Fixture {
  TempDir dir;
  Fixture() { citylink::test::write_file(dir / "gauge.so", "x"); }
  CityConfig parse(const std::string& yaml) { return parse_city_config(yaml, "city.yaml", dir.path()); }
  std::string error(const std::string& yaml) {
    try {
      parse(yaml);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

}  // namespace

TEST(CityConfig, ReadsEveryField) {
  Fixture f;
  const auto c = f.parse(R"(
citylink: 1
city: suwon
host:
  log_level: debug
  max_message_bytes: 65536
  queue_depth: 500
plugins:
  - instance: gauge-1
    plugin: kr.acme.gauge
    file: gauge.so
    config:
      interval_ms: 250
      label: "007"
      ratio: 0.5
      on: true
      tags: [a, b]
    grants:
      publish: [sensor.reading, "camera.*"]
      subscribe: [incident.]
)");
  EXPECT_EQ(c.city, "suwon");
  EXPECT_EQ(c.host.log_level, "debug");
  EXPECT_EQ(c.host.max_message_bytes, 65536u);
  EXPECT_EQ(c.host.queue_depth, 500);
  ASSERT_EQ(c.plugins.size(), 1u);
  const auto& p = c.plugins[0];
  EXPECT_EQ(p.instance_id, "gauge-1");
  EXPECT_EQ(p.plugin_id, "kr.acme.gauge");
  EXPECT_EQ(p.file, f.dir / "gauge.so");
  EXPECT_EQ(nlohmann::json::parse(p.config_json),
            nlohmann::json::parse(R"({"interval_ms":250,"label":"007","ratio":0.5,"on":true,"tags":["a","b"]})"));
  EXPECT_EQ(*p.publish_grants, (std::vector<std::string>{"sensor.reading", "camera.*"}));
  EXPECT_EQ(*p.subscriptions, (std::vector<std::string>{"incident."}));
}

TEST(CityConfig, UnknownFieldNamesFileLineColumnFieldAndTheChoices) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grnats: {}\n");
  EXPECT_NE(e.find("city.yaml:4:5: plugins[0].grnats: unknown field 'grnats'"), std::string::npos) << e;
  EXPECT_NE(e.find("grants"), std::string::npos) << e;
}

TEST(CityConfig, MissingPluginFileSaysWhereItLooked) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: nowhere.so\n");
  EXPECT_NE(e.find("city.yaml:3:11: plugins[0].file: plugin file 'nowhere.so' not found"), std::string::npos) << e;
  EXPECT_NE(e.find((f.dir / "nowhere.so").string()), std::string::npos) << e;
}

TEST(CityConfig, DuplicateInstanceNamesBothLines) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: a\n    file: gauge.so\n  - instance: a\n    file: gauge.so\n");
  EXPECT_NE(e.find("city.yaml:4:15: plugins[1].instance: duplicate instance 'a' (first used on line 2)"),
            std::string::npos)
      << e;
}

TEST(CityConfig, BadValuesAreNamed) {
  Fixture f;
  EXPECT_NE(f.error("host:\n  queue_depth: lots\nplugins: []\n").find("city.yaml:2:16: host.queue_depth: expected a whole number"),
            std::string::npos);
  EXPECT_NE(f.error("host:\n  log_level: loud\nplugins: []\n").find("host.log_level: 'loud' is not one of"),
            std::string::npos);
  EXPECT_NE(f.error("plugins:\n  - instance: a\n    file: gauge.so\n    grants:\n      publish: [Camera]\n")
                .find("plugins[0].grants.publish[0]: 'Camera' is not a topic"),
            std::string::npos);
  EXPECT_NE(f.error("citylink: 2\nplugins: []\n").find("config format 2 is not supported"), std::string::npos);
  EXPECT_NE(f.error("city: x\n").find("plugins: missing"), std::string::npos);
  EXPECT_NE(f.error("plugins:\n  - file: gauge.so\n").find("plugins[0].instance: missing"), std::string::npos);
  EXPECT_NE(f.error("plugins:\n  - instance: a\n    file: gauge.so\n    config: [1]\n").find("plugins[0].config: expected a mapping"),
            std::string::npos);
}

TEST(CityConfig, YamlSyntaxErrorHasAPosition) {
  Fixture f;
  const auto e = f.error("plugins:\n  - instance: [a\n");
  EXPECT_EQ(e.rfind("city.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

TEST(CityConfig, BareNamesAreSearchedInPluginDirsAndDisabledEntriesNeedNoFile) {
  Fixture f;
  std::filesystem::create_directories(f.dir / "lib");
  citylink::test::write_file(f.dir / "lib" / "cam.so", "x");
  const auto c = f.parse("plugin_dirs: [lib]\nplugins:\n  - instance: cam\n    file: cam.so\n"
                         "  - instance: off\n    file: missing.so\n    enabled: false\n");
  EXPECT_EQ(c.plugins[0].file, f.dir / "lib" / "cam.so");
  EXPECT_FALSE(c.plugins[1].enabled);
}

TEST(CityConfig, MissingConfigFileIsNamed) {
  try {
    load_city_config("/nonexistent/city.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/city.yaml"), std::string::npos);
  }
}
