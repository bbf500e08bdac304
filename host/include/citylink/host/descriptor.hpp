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
  std::vector<std::string> features;  // empty for a plugin whose descriptor predates the field
};

// Copies a descriptor across the boundary: min(struct_size, sizeof) bytes, the rest read as
// zero (absent). Throws LoadError naming `where` when it is unusable (no id, bad id, bad
// topic, bad extension id, bad feature).
PluginDescriptor copy_descriptor(const citylink_descriptor* raw, const std::string& where);

// A descriptor a plugin scanner printed as JSON (to_json's fields; a Python plugin's), checked
// by the same rules as copy_descriptor. Throws LoadError naming `where`.
PluginDescriptor descriptor_from_json(const std::string& text, const std::string& where);

// The kinds the platform knows; other kinds are accepted with a warning.
const std::vector<std::string>& known_plugin_kinds();

nlohmann::json to_json(const PluginDescriptor& d);

}  // namespace citylink::host
