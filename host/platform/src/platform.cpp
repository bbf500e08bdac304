// Loading a city for the platform and handing its scenario engine to a host.
#include <citylink/host/config_reader.hpp>
#include <citylink/host/error.hpp>
#include <citylink/platform/platform.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/platform/scenarios/incidents.hpp>

#include "scenarios/catalog.hpp"

namespace citylink::platform {

host::CityConfig load_city_config(const std::filesystem::path& file) {
  auto config = host::load_city_config(file);
  check_city_config(config);
  return config;
}

host::CityConfig parse_city_config(const std::string& text, const std::string& name,
                                   const std::filesystem::path& base_dir) {
  auto config = host::parse_city_config(text, name, base_dir);
  check_city_config(config);
  return config;
}

namespace {

// The runtime keeps any code under incident_authority:; which codes exist is the platform's.
void check_event_codes(const host::CityConfig& config) {
  for (const auto& a : config.incident_authority)
    if (!scenarios::is_known_event_code(a.event_code)) {
      std::string known;
      for (const auto& c : scenarios::known_event_codes()) known += (known.empty() ? "" : ", ") + c;
      throw ConfigError(config.source.string() + (a.line > 0 ? ":" + std::to_string(a.line) : "") +
                        ": incident_authority." + a.event_code + ": unknown event code '" + a.event_code +
                        "'; known: " + known);
    }
}

std::vector<std::unique_ptr<scenarios::Scenario>> build(const host::CityConfig& config) {
  return scenarios::build_scenarios(config.scenarios, ConfigReader(config.source.string(), config.base_dir));
}

}  // namespace

void check_city_config(const host::CityConfig& config) {
  check_event_codes(config);
  (void)build(config);  // only to report mistakes now, with their lines; the engine builds its own
}

scenarios::ScenarioEngine* add_scenario_engine(host::Host& host) {
  const auto& config = host.config();
  check_event_codes(config);
  auto list = build(config);
  if (list.empty()) return nullptr;
  auto engine = std::make_unique<scenarios::ScenarioEngine>(std::move(list), host.router(), host.context(),
                                                            scenarios::input_policy(config));
  return static_cast<scenarios::ScenarioEngine*>(host.add_component(std::move(engine)));
}

scenarios::ScenarioEngine* scenario_engine(const host::Host& host) {
  return dynamic_cast<scenarios::ScenarioEngine*>(host.component(scenarios::ScenarioEngine::kSource));
}

}  // namespace citylink::platform
