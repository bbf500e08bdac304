// Every input kept in tests/fuzz/corpus/<target>/ goes through its fuzz target (fuzz/*.cpp)
// in the normal suite, under the normal sanitizers: a crash scripts/fuzz once found, and
// the seeds that show each target's formats, stay fixed for ever.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_target.hpp"

CITYLINK_FUZZ_TARGET(envelope);
CITYLINK_FUZZ_TARGET(city_config);
CITYLINK_FUZZ_TARGET(plugin_file);
CITYLINK_FUZZ_TARGET(telegram);
CITYLINK_FUZZ_TARGET(legacy);
CITYLINK_FUZZ_TARGET(platform_http);
CITYLINK_FUZZ_TARGET(scenario_input);
CITYLINK_FUZZ_TARGET(worker_protocol);

namespace {

using Target = int (*)(const uint8_t*, std::size_t);

std::size_t replay(const std::string& name, Target target) {
  std::size_t n = 0;
  const auto dir = std::filesystem::path(CITYLINK_FUZZ_CORPUS) / name;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(f.path().string());
    EXPECT_EQ(target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    ++n;
  }
  return n;
}

}  // namespace

TEST(FuzzCorpus, EveryKeptInputPassesItsTarget) {
  const std::vector<std::pair<std::string, Target>> targets = {
      {"envelope", CITYLINK_FUZZ_FN(envelope)},       {"city_config", CITYLINK_FUZZ_FN(city_config)},
      {"plugin_file", CITYLINK_FUZZ_FN(plugin_file)}, {"telegram", CITYLINK_FUZZ_FN(telegram)},
      {"legacy", CITYLINK_FUZZ_FN(legacy)},           {"platform_http", CITYLINK_FUZZ_FN(platform_http)},
      {"scenario_input", CITYLINK_FUZZ_FN(scenario_input)}, {"worker_protocol", CITYLINK_FUZZ_FN(worker_protocol)}};
  for (const auto& [name, fn] : targets) EXPECT_GT(replay(name, fn), 0u) << name << " has no corpus";
}
