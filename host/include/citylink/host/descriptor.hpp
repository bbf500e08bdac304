// The host's own copy of a plugin descriptor, taken once so it outlives nothing of the plugin's.
#pragma once

#include <citylink/abi.h>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace citylink::host {

struct PluginDescriptor {
  std::string id;
  std::string name;
  std::string vendor;
  std::string version;
  std::string kind;
  std::string description;
  std::vector<std::string> publishes;
  std::vector<std::string> subscribes;
  std::string config_schema;
  std::vector<std::string> extensions;
};

// Copies a descriptor across the boundary, honouring its struct_size. Throws LoadError
// naming `where` when it is unusable (no id, bad id, bad topic).
PluginDescriptor copy_descriptor(const citylink_descriptor* raw, const std::string& where);

// The kinds the platform knows; other kinds are accepted with a warning.
const std::vector<std::string>& known_plugin_kinds();

nlohmann::json to_json(const PluginDescriptor& d);

}  // namespace citylink::host
