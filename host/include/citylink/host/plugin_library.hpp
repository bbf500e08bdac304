// One loaded plugin library file: pre-flighted, ABI-checked, initialised, with its descriptors.
#pragma once

#include <citylink/abi.h>
#include <citylink/host/descriptor.hpp>
#include <citylink/host/plugin_file.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::dll {
class shared_library;
}

namespace citylink::host {

// What the pre-flight learned about a file without running any of its code.
struct PreflightReport {
  std::filesystem::path path;
  std::vector<std::string> exported_symbols;  // dynamic symbols the library exports
};

// Reads the file as an ELF shared library for this machine that exports citylink_entry,
// without loading it. Throws LoadError naming the file and what is wrong.
PreflightReport preflight_plugin_file(const PluginFile& file);
PreflightReport preflight_plugin_file(const std::filesystem::path& path);  // opens it with the default rules

// What must hold before any of a file's code runs (the file's rules, then the city's
// allow-list). `admit` is called with the opened file after its pre-flight and before the
// load; it throws LoadError to refuse the file.
struct LoadPolicy {
  PluginFileRules rules;
  std::function<void(const PluginFile&)> admit;
};

// Throws LoadError when a plugin that requires ABI `plugin` (its stamped version) cannot run
// on this host's ABI: a different major, or a minor newer than the host's. The message
// names both versions and the fix.
void check_abi_compatible(citylink_abi_version plugin, const std::string& file);

// A library stays loaded as long as any shared_ptr to it (each instance holds one) lives.
class PluginLibrary {
 public:
  // Pre-flights, loads with RTLD_NOW | RTLD_LOCAL, checks the ABI, calls init (once; the
  // destructor calls the matching deinit) and reads the descriptors. Throws LoadError with
  // a message that names the file, the plugin's own reason and the fix.
  static std::shared_ptr<PluginLibrary> load(const std::filesystem::path& path, const LoadPolicy& policy = {});

  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }  // of the very bytes that were loaded
  citylink_abi_version abi_version() const { return abi_; }
  const std::vector<PluginDescriptor>& descriptors() const { return descriptors_; }
  // The descriptor with this id, or nullptr.
  const PluginDescriptor* find(const std::string& plugin_id) const;
  const citylink_entry_t& entry() const { return *entry_; }
  // A factory of the library by id (CITYLINK_PLUGIN_FACTORY_ID), or nullptr when the
  // library has no get_factory or does not provide that id. Valid while this object lives.
  const void* factory(const char* factory_id) const;

 private:
  PluginLibrary() = default;

  std::filesystem::path path_;
  std::string sha256_;
  std::unique_ptr<boost::dll::shared_library> lib_;
  const citylink_entry_t* entry_ = nullptr;
  citylink_abi_version abi_{};
  std::vector<PluginDescriptor> descriptors_;
  bool initialised_ = false;
};

}  // namespace citylink::host
