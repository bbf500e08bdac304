// Reading YAML config nodes with errors that say FILE:LINE:COLUMN: FIELD: problem; fix.
// The city config reads itself with it, and the parts built on the runtime (the platform)
// read their sections of the city config with it, so every error has the same form.
#pragma once

#include <citylink/host/error.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace citylink::host {

class ConfigReader {
 public:
  ConfigReader(std::string name, std::filesystem::path base) : name_(std::move(name)), base_(std::move(base)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& what) const {
    const auto m = at.Mark();
    std::ostringstream o;
    o << name_;
    if (!m.is_null()) o << ':' << (m.line + 1) << ':' << (m.column + 1);
    o << ": " << field << ": " << what;
    throw ConfigError(o.str());
  }

  // Refuses keys outside `allowed` (unless `any_key`) and keys written twice: yaml-cpp
  // would silently read the first one while other readers take the last.
  void only_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed,
                 bool any_key = false) const {
    if (!map.IsMap()) fail(map, where, "expected a mapping (key: value lines)");
    std::map<std::string, int> seen;
    for (const auto& kv : map) {
      const auto key = kv.first.as<std::string>();
      const int line = kv.first.Mark().line + 1;
      if (auto [it, fresh] = seen.emplace(key, line); !fresh)
        fail(kv.first, where.empty() ? key : where + "." + key,
             "written twice (first on line " + std::to_string(it->second) + "); keep one");
      if (!any_key && !allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, where.empty() ? key : where + "." + key,
             "unknown field '" + key + "'; expected one of: " + list);
      }
    }
  }

  std::string string(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "expected a text value");
    return n.as<std::string>();
  }

  template <class T>
  T number(const YAML::Node& n, const std::string& field, T lo, T hi) const {
    T v{};
    if (!n.IsScalar() || !YAML::convert<T>::decode(n, v)) fail(n, field, "expected a whole number");
    if (v < lo || v > hi) fail(n, field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }

  double real(const YAML::Node& n, const std::string& field, double lo, double hi) const {
    double v{};
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !(v == v)) fail(n, field, "expected a number");
    if (v < lo || v > hi) fail(n, field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }

  bool boolean(const YAML::Node& n, const std::string& field) const {
    bool v{};
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) fail(n, field, "expected true or false");
    return v;
  }

  std::vector<std::string> strings(const YAML::Node& n, const std::string& field) const {
    if (!n.IsSequence()) fail(n, field, "expected a list, e.g. [a, b]");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(string(n[i], field + "[" + std::to_string(i) + "]"));
    return out;
  }

  std::filesystem::path resolve_dir(const std::string& p) const {
    std::filesystem::path path(p);
    return path.is_absolute() ? path : (base_ / path).lexically_normal();
  }

  std::filesystem::path resolve_plugin_file(const YAML::Node& n, const std::string& field, const std::string& value,
                                            const std::vector<std::filesystem::path>& dirs) const {
    std::filesystem::path p(value);
    std::vector<std::filesystem::path> tried;
    if (p.is_absolute()) {
      tried.push_back(p);
    } else if (value.find('/') != std::string::npos) {
      tried.push_back((base_ / p).lexically_normal());
    } else {
      // Only folders the config names: a search path from the environment would load code
      // that a review of the city config never sees.
      for (const auto& d : dirs) tried.push_back((d / p).lexically_normal());
      tried.push_back((base_ / p).lexically_normal());
    }
    for (const auto& t : tried)
      if (std::filesystem::exists(t)) return t;
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t.string();
    fail(n, field, "plugin file '" + value + "' not found (looked at: " + list +
                       "); build the plugins first, or fix the path (relative paths start at the config file's "
                       "folder; bare names are searched in plugin_dirs, then next to the config)");
  }

  const std::string& name() const { return name_; }
  const std::filesystem::path& base() const { return base_; }

 private:
  std::string name_;
  std::filesystem::path base_;
};

}  // namespace citylink::host
