// The Smart City Integrated Platform's domain on top of the CityLink runtime: the camera
// registry, the scenario engine and its scenarios (ARCHITECTURE.md §1). The runtime knows
// none of it; an application loads its city with these functions and hands the engine to
// its Host as a bus component. The `citylink` command, the Python module, the tests and the
// benchmarks all do exactly this.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/host/city_config.hpp>
#include <citylink/host/host.hpp>

#include <filesystem>
#include <string>

namespace citylink::platform {

namespace scenarios {
class ScenarioEngine;
}

// The runtime's loaders, then check_city_config: throw host::ConfigError "FILE:LINE:COL:
// FIELD: what is wrong; the fix".
host::CityConfig load_city_config(const std::filesystem::path& file);
host::CityConfig parse_city_config(const std::string& text, const std::string& name,
                                   const std::filesystem::path& base_dir);

// The sections of a city config that are the platform's: `scenarios:` (each scenario's
// settings) and the event codes of `incident_authority:`.
void check_city_config(const host::CityConfig& config);

// Builds the scenario engine for the scenarios the host's city config enables and hands it
// to the host, before Host::start. nullptr when the config enables none. Throws ConfigError
// as check_city_config does.
scenarios::ScenarioEngine* add_scenario_engine(host::Host& host);

// The scenario engine handed to `host`, or nullptr.
scenarios::ScenarioEngine* scenario_engine(const host::Host& host);

}  // namespace citylink::platform
