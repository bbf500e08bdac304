// `citylink new-plugin` as a vendor runs it: refuses bad names and kinds, writes a project.
// Building the generated project against the installed SDK is scripts/check-sdk's job.
#include "cli_runner.hpp"
#include "test_support.hpp"

#include <citylink/host/child_process.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace citylink::host;
using citylink::test::citylink_bin;
using citylink::test::cli;
using citylink::test::has;
using citylink::test::TempDir;

namespace {
std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST(NewPlugin, RefusesANameThatIsNotAnIdentifier) {
  TempDir dir;
  for (const std::string name : {"../x", "1cam", "Cam", "a/b"}) {
    const auto r = cli({"new-plugin", name, "--kind", "camera", "--dir", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 2) << name;
    EXPECT_TRUE(has(r.err, "plugin name '" + name + "' is not valid")) << r.err;
    EXPECT_TRUE(has(r.err, "[a-z][a-z0-9_-]{0,62}")) << r.err;  // the rule
    EXPECT_TRUE(has(r.err, "e.g. 'acme-camera'")) << r.err;      // and an example
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(NewPlugin, RefusesAnUnknownKindListingTheChoices) {
  TempDir dir;
  const auto r = cli({"new-plugin", "toaster", "--kind", "toaster", "--dir", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "unknown kind 'toaster'; choose one of: camera, analytics, sensor, wearable, bridge, sink"))
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(NewPlugin, RefusesANonEmptyDirectory) {
  TempDir dir;
  citylink::test::write_file(dir / "keep.txt", "mine");
  const auto r = cli({"new-plugin", "acme-cam", "--kind", "camera", "--dir", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "exists and is not empty")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "CMakeLists.txt"));
}

TEST(NewPlugin, WritesACppProject) {
  TempDir dir;
  const auto out = dir / "acme-cam";
  const auto r = cli({"new-plugin", "acme-cam", "--kind", "camera", "--dir", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"CMakeLists.txt", "src/acme-cam.cpp", "README.md", "test/smoke.sh"})
    EXPECT_TRUE(std::filesystem::is_regular_file(out / f)) << f;
  const auto perms = std::filesystem::status(out / "test/smoke.sh").permissions();
  EXPECT_NE(perms & std::filesystem::perms::owner_exec, std::filesystem::perms::none);

  const auto cmake = read(out / "CMakeLists.txt");
  EXPECT_TRUE(has(cmake, "find_package(CityLink 1 REQUIRED)")) << cmake;
  EXPECT_TRUE(has(cmake, "citylink_add_plugin(acme-cam\n  SOURCES src/acme-cam.cpp")) << cmake;
  const auto src = read(out / "src/acme-cam.cpp");
  EXPECT_TRUE(has(src, "d.kind = CITYLINK_KIND_CAMERA;")) << src;
  EXPECT_TRUE(has(src, "d.id = \"com.example.acme-cam\";")) << src;
  EXPECT_TRUE(has(src, "d.publishes = {CITYLINK_TOPIC_CAMERA_INFO};")) << src;
  EXPECT_TRUE(has(src, "CITYLINK_PLUGIN_LIBRARY(AcmeCamPlugin)")) << src;
  EXPECT_TRUE(has(read(out / "README.md"), "grants: requested"));
  EXPECT_TRUE(has(read(out / "test/smoke.sh"), "plugin verify"));
}

TEST(NewPlugin, WritesACProjectForASinkInTheDefaultDirectory) {
  TempDir dir;
  // The default directory is ./NAME, relative to where the command runs.
  const auto r = run_child({"/bin/sh", "-c", "cd '" + dir.path().string() + "' && exec '" + citylink_bin() +
                                                 "' new-plugin city_archive --kind sink --lang c"},
                           std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = dir / "city_archive";
  for (const char* f : {"CMakeLists.txt", "src/city_archive.c", "README.md", "test/smoke.sh"})
    EXPECT_TRUE(std::filesystem::is_regular_file(out / f)) << f;
  EXPECT_TRUE(has(read(out / "CMakeLists.txt"), "LANGUAGE C")) << read(out / "CMakeLists.txt");
  const auto src = read(out / "src/city_archive.c");
  EXPECT_TRUE(has(src, "CITYLINK_KIND_SINK,")) << src;
  EXPECT_TRUE(has(src, "subscribes[] = {\"sensor.\", NULL}")) << src;
  EXPECT_TRUE(has(src, "p->self.on_message = plugin_on_message;")) << src;
}
