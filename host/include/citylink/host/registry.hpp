// The registry of loaded plugin libraries (by canonical path) and of live instances.
#pragma once

#include <functional>

#include <citylink/host/instance.hpp>
#include <citylink/host/plugin_library.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace citylink::host {

class Registry {
 public:
  // Loads a library once per canonical path; later calls return the same library (the
  // policy applies to the first load; the caller checks a returned library's sha256).
  std::shared_ptr<PluginLibrary> library(const std::filesystem::path& path, const LoadPolicy& policy = {});

  void add_instance(std::unique_ptr<PluginInstance> instance);
  PluginInstance* instance(const std::string& instance_id) const;
  // Takes an instance out (the caller stops and destroys it); nullptr when there is none.
  std::unique_ptr<PluginInstance> remove_instance(const std::string& instance_id);
  const std::vector<std::unique_ptr<PluginInstance>>& instances() const { return instances_; }

  // Stops every instance (newest first) and destroys them. Libraries unload when unused.
  void stop_all();
  // Stops, in reverse order of start, the instances `which` picks.
  void stop_if(const std::function<bool(const PluginInstance&)>& which);
  void clear();

  // Libraries held by the registry (a library also lives while an instance holds it).
  std::vector<std::shared_ptr<PluginLibrary>> libraries() const;

 private:
  std::map<std::string, std::shared_ptr<PluginLibrary>> libraries_;
  std::vector<std::unique_ptr<PluginInstance>> instances_;
};

}  // namespace citylink::host
