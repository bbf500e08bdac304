// The scenarios a city can enable, by config key. Adding a scenario is adding its file
// and one line to the table in catalog.cpp.
#pragma once

#include <citylink/platform/scenarios/scenario.hpp>

#include <memory>
#include <vector>
#include <yaml-cpp/yaml.h>

#include <citylink/host/config_reader.hpp>

namespace citylink::platform::scenarios {

// Builds the enabled scenarios from the `scenarios:` mapping; throws ConfigError with the
// line and field of anything wrong. A scenario not mentioned, or with `enabled: false`, is off.
std::vector<std::unique_ptr<Scenario>> build_scenarios(const YAML::Node& node, const ConfigReader& r);

// The config keys, in the order the engine runs them.
std::vector<std::string> scenario_keys();

}  // namespace citylink::platform::scenarios
