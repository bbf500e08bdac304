// The registry of libraries and instances.
#include <citylink/host/registry.hpp>

namespace citylink::host {

std::shared_ptr<PluginLibrary> Registry::library(const std::filesystem::path& path, const LoadPolicy& policy) {
  std::error_code ec;
  const std::string key = std::filesystem::weakly_canonical(path, ec).string();
  auto it = libraries_.find(key);
  if (it != libraries_.end()) return it->second;
  auto lib = PluginLibrary::load(path, policy);
  libraries_.emplace(key, lib);
  return lib;
}

void Registry::add_instance(std::unique_ptr<PluginInstance> instance) { instances_.push_back(std::move(instance)); }

PluginInstance* Registry::instance(const std::string& instance_id) const {
  for (const auto& i : instances_)
    if (i->id() == instance_id) return i.get();
  return nullptr;
}

std::unique_ptr<PluginInstance> Registry::remove_instance(const std::string& instance_id) {
  for (auto it = instances_.begin(); it != instances_.end(); ++it)
    if ((*it)->id() == instance_id) {
      auto out = std::move(*it);
      instances_.erase(it);
      return out;
    }
  return nullptr;
}

void Registry::stop_all() {
  stop_if([](const PluginInstance&) { return true; });
}

void Registry::stop_if(const std::function<bool(const PluginInstance&)>& which) {
  for (auto it = instances_.rbegin(); it != instances_.rend(); ++it)
    if (which(**it)) (*it)->stop();
}

void Registry::clear() {
  stop_all();
  // Instances go first: each holds its library, which must outlive it (ABI rule 10).
  while (!instances_.empty()) instances_.pop_back();
  libraries_.clear();
}

std::vector<std::shared_ptr<PluginLibrary>> Registry::libraries() const {
  std::vector<std::shared_ptr<PluginLibrary>> out;
  for (const auto& [k, v] : libraries_) out.push_back(v);
  return out;
}

}  // namespace citylink::host
