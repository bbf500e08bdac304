// Reading the city config (YAML) with errors that name the file, line, column and field.
#include <citylink/host/city_config.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/topic.hpp>

#include "../scenarios/catalog.hpp"
#include "yaml_reader.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace citylink::host {
namespace {

nlohmann::json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      auto a = nlohmann::json::array();
      for (const auto& e : n) a.push_back(to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      auto o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      // Quoted scalars carry the tag "!" and stay text; plain ones are typed like YAML 1.2 core.
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;
      if (s == "~" || s == "null") return nullptr;
      bool b;
      if (s == "true" || s == "false" || s == "True" || s == "False") {
        YAML::convert<bool>::decode(n, b);
        return b;
      }
      long long i;
      std::size_t pos = 0;
      try {
        i = std::stoll(s, &pos);
        if (pos == s.size()) return i;
      } catch (...) {
      }
      try {
        double d = std::stod(s, &pos);
        if (pos == s.size() && std::isfinite(d)) return d;
      } catch (...) {
      }
      return s;
    }
  }
  return nullptr;
}

CityConfig parse(const YAML::Node& root, const ConfigReader& r, const std::filesystem::path& source) {
  CityConfig cfg;
  cfg.source = source;
  if (!root || root.IsNull()) r.fail(root, "(file)", "the config is empty; it needs at least `plugins:`");
  r.only_keys(root, "", {"citylink", "city", "host", "plugin_dirs", "plugins", "scenarios"});
  if (root["citylink"]) {
    const int v = r.number<int>(root["citylink"], "citylink", 0, 1000);
    if (v != 1) r.fail(root["citylink"], "citylink", "config format " + std::to_string(v) + " is not supported; this host reads format 1");
  }
  if (root["city"]) cfg.city = r.string(root["city"], "city");
  if (const auto h = root["host"]) {
    r.only_keys(h, "host", {"log_level", "max_message_bytes", "queue_depth"});
    if (h["log_level"]) {
      cfg.host.log_level = r.string(h["log_level"], "host.log_level");
      static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
      if (!levels.count(cfg.host.log_level))
        r.fail(h["log_level"], "host.log_level", "'" + cfg.host.log_level + "' is not one of trace, debug, info, warn, error, off");
    }
    if (h["max_message_bytes"])
      cfg.host.max_message_bytes = r.number<std::size_t>(h["max_message_bytes"], "host.max_message_bytes", 1024, 256u << 20);
    if (h["queue_depth"]) cfg.host.queue_depth = r.number<int>(h["queue_depth"], "host.queue_depth", 1, 10'000'000);
  }
  if (root["plugin_dirs"])
    for (const auto& d : r.strings(root["plugin_dirs"], "plugin_dirs")) cfg.plugin_dirs.push_back(r.resolve_dir(d));

  if (root["scenarios"]) {
    cfg.scenarios = root["scenarios"];
    scenarios::build_scenarios(cfg.scenarios, r);  // only to report mistakes now, with their lines
  }
  cfg.base_dir = r.base();

  const auto plugins = root["plugins"];
  if (!plugins) r.fail(root, "plugins", "missing; list the plugin instances the city enables");
  if (!plugins.IsSequence()) r.fail(plugins, "plugins", "expected a list of plugin entries (lines starting with '- ')");
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    const auto p = plugins[i];
    const std::string where = "plugins[" + std::to_string(i) + "]";
    r.only_keys(p, where, {"instance", "plugin", "file", "enabled", "config", "grants", "queue_depth"});
    PluginEntry e;
    e.line = p.Mark().line + 1;
    if (!p["instance"]) r.fail(p, where + ".instance", "missing; give every plugin entry a unique instance name");
    e.instance_id = r.string(p["instance"], where + ".instance");
    if (e.instance_id.empty() || e.instance_id.size() > 128 ||
        e.instance_id.find_first_of(" \t/\\\"'") != std::string::npos)
      r.fail(p["instance"], where + ".instance", "'" + e.instance_id + "' must be 1-128 characters without spaces, quotes or slashes");
    if (auto [it, fresh] = seen.emplace(e.instance_id, e.line); !fresh)
      r.fail(p["instance"], where + ".instance",
             "duplicate instance '" + e.instance_id + "' (first used on line " + std::to_string(it->second) +
                 "); every instance needs its own name");
    if (p["plugin"]) e.plugin_id = r.string(p["plugin"], where + ".plugin");
    if (!p["file"]) r.fail(p, where + ".file", "missing; name the plugin library file (.so)");
    if (p["enabled"]) e.enabled = r.boolean(p["enabled"], where + ".enabled");
    if (p["queue_depth"]) e.queue_depth = r.number<int>(p["queue_depth"], where + ".queue_depth", 1, 10'000'000);
    const std::string file = r.string(p["file"], where + ".file");
    if (e.enabled) {
      e.file = r.resolve_plugin_file(p["file"], where + ".file", file, cfg.plugin_dirs);
    } else {
      e.file = file;
    }
    if (p["config"]) {
      if (!p["config"].IsMap()) r.fail(p["config"], where + ".config", "expected a mapping of the plugin's settings");
      e.config_json = to_json(p["config"]).dump();
    }
    if (const auto g = p["grants"]) {
      r.only_keys(g, where + ".grants", {"publish", "subscribe"});
      if (g["publish"]) {
        e.publish_grants = r.strings(g["publish"], where + ".grants.publish");
        for (std::size_t k = 0; k < e.publish_grants->size(); ++k)
          if (!is_valid_grant((*e.publish_grants)[k]))
            r.fail(g["publish"][k], where + ".grants.publish[" + std::to_string(k) + "]",
                   "'" + (*e.publish_grants)[k] + "' is not a topic ('sensor.reading'), a subtree ('camera.*') or '*'");
      }
      if (g["subscribe"]) {
        e.subscriptions = r.strings(g["subscribe"], where + ".grants.subscribe");
        for (std::size_t k = 0; k < e.subscriptions->size(); ++k)
          if ((*e.subscriptions)[k].empty() || (*e.subscriptions)[k].find('*') != std::string::npos)
            r.fail(g["subscribe"][k], where + ".grants.subscribe[" + std::to_string(k) + "]",
                   "'" + (*e.subscriptions)[k] + "' is not a topic prefix; subscriptions are plain prefixes such as "
                   "'camera.' (no '*', not empty)");
      }
    }
    cfg.plugins.push_back(std::move(e));
  }
  return cfg;
}

}  // namespace

CityConfig parse_city_config(const std::string& text, const std::string& name, const std::filesystem::path& base_dir) {
  ConfigReader r(name, base_dir);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": not valid YAML: " + e.msg);
  }
  try {
    return parse(root, r, name);
  } catch (const YAML::Exception& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

CityConfig load_city_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError(file.string() + ": cannot open the city config; check the path");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto abs = std::filesystem::absolute(file);
  return parse_city_config(ss.str(), file.string(), abs.parent_path());
}

}  // namespace citylink::host
