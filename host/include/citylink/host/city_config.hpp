// The city config: which plugins a municipality enables, from which files, with what config.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace citylink::host {

struct PluginEntry {
  std::string instance_id;          // `instance`: unique name of this instance in the city
  std::string plugin_id;            // `plugin`: descriptor id; may be empty when the file has one plugin
  std::filesystem::path file;       // `file`: resolved absolute path of the library
  bool enabled = true;              // `enabled`
  std::string config_json = "{}";   // `config`: any mapping, handed to the plugin as JSON
  std::optional<std::vector<std::string>> publish_grants;  // `grants.publish`
  std::optional<std::vector<std::string>> subscriptions;   // `grants.subscribe`
  int queue_depth = 0;              // `queue_depth`: this instance's incoming queue; 0 = host.queue_depth
  int line = 0;                     // where the entry starts, for messages
};

struct HostSettings {
  std::string log_level = "info";
  std::size_t max_message_bytes = 1 << 20;
  int queue_depth = 10000;
};

struct CityConfig {
  std::filesystem::path source;     // the file it came from ("<string>" when parsed from text)
  std::filesystem::path base_dir;   // relative paths start here
  YAML::Node scenarios;             // the `scenarios:` mapping, checked at load (see scenarios/catalog)
  std::string city = "unnamed-city";
  HostSettings host;
  std::vector<std::filesystem::path> plugin_dirs;
  std::vector<PluginEntry> plugins;
};

// Parses a city config file. Throws ConfigError "FILE:LINE:COL: FIELD: what is wrong; the fix".
CityConfig load_city_config(const std::filesystem::path& file);
// Parses config text; relative paths resolve against `base_dir`.
CityConfig parse_city_config(const std::string& text, const std::string& name,
                             const std::filesystem::path& base_dir);

}  // namespace citylink::host
