// Loading a plugin library with Boost.DLL: pre-flight, load, ABI check, init, descriptors.
#include <citylink/host/error.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_library.hpp>

#include <boost/dll/shared_library.hpp>
#include <cstring>
#include <mutex>
#include <vector>
#include <set>

namespace citylink::host {

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::filesystem::path& path, const LoadPolicy& policy) {
  // Opened once: the bytes hashed and pre-flighted here are the bytes that get loaded.
  PluginFile opened = PluginFile::open(path, policy.rules);
  preflight_plugin_file(opened);
  if (policy.admit) policy.admit(opened);

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = path;
  lib->sha256_ = opened.sha256();
  const std::string file = path.string();
  try {
    // RTLD_LOCAL keeps each plugin's symbols (and its private schema copy) to itself;
    // RTLD_NOW makes a missing dependency fail here, not in the middle of a call.
    lib->lib_ = std::make_unique<boost::dll::shared_library>(
        boost::dll::fs::path(opened.open_file_name()),
        boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    opened.keep_open_for_process_life();
  } catch (const std::exception& e) {
    throw LoadError("plugin file '" + file + "' could not be loaded: " + e.what() +
                    "; check that every library it depends on is installed (ldd '" + file + "')");
  }
  if (!lib->lib_->has(CITYLINK_ENTRY_SYMBOL))
    throw LoadError("plugin file '" + file + "' loaded but has no '" CITYLINK_ENTRY_SYMBOL "' symbol");
  lib->entry_ = &lib->lib_->get<const citylink_entry_t>(CITYLINK_ENTRY_SYMBOL);

  // The version check comes before any other read of the entry: a different major may
  // have a different layout for everything after abi_version.
  lib->abi_ = lib->entry_->abi_version;
  check_abi_compatible(lib->abi_, file);

  const citylink_entry_t& e = *lib->entry_;
  if (e.struct_size < offsetof(citylink_entry_t, create) + sizeof(e.create) || !e.init || !e.deinit ||
      !e.plugin_count || !e.descriptor || !e.create)
    throw LoadError("plugin file '" + file + "' has an incomplete citylink_entry (struct_size " +
                    std::to_string(e.struct_size) + " or a NULL function); rebuild it with the CityLink SDK");

  citylink_error err{};
  err.struct_size = sizeof(err);
  const citylink_status st = e.init(file.c_str(), &err);
  if (st != CITYLINK_OK) {
    const std::string reason = err.message[0] ? std::string(err.message, strnlen(err.message, sizeof err.message))
                                              : std::string("no reason given");
    throw LoadError("plugin file '" + file + "': its init() returned failure (status " + std::to_string(st) + ": " +
                    reason + "); the library cannot be used (run it under `citylink plugin verify` and check its "
                    "own documentation for what init needs)");
  }
  lib->initialised_ = true;

  const uint32_t n = e.plugin_count();
  if (n == 0) throw LoadError("plugin file '" + file + "' provides no plugins (plugin_count() is 0)");
  std::set<std::string> ids;
  for (uint32_t i = 0; i < n; ++i) {
    const std::string where = "plugin file '" + file + "', descriptor " + std::to_string(i);
    PluginDescriptor d = copy_descriptor(e.descriptor(i), where);
    if (!ids.insert(d.id).second) throw LoadError(where + ": duplicate plugin id '" + d.id + "'");
    lib->descriptors_.push_back(std::move(d));
  }
  log()->debug("loaded plugin library {} (ABI {}.{}, {} plugin(s))", file, lib->abi_.major, lib->abi_.minor, n);
  return lib;
}

PluginLibrary::~PluginLibrary() {
  // Exactly one deinit for our one successful init (init/deinit are reference-counted).
  if (initialised_ && entry_ && entry_->deinit) entry_->deinit();
  // The code is never unmapped (ABI rule 10, H2 of the review): a thread the plugin started
  // may outlive its instance (a start that failed after starting it), and dlclose under a
  // running thread crashes the host. The handle is kept for the life of the process; a later
  // load of the same file gets the same mapping and a fresh init.
  if (lib_) {
    static std::mutex mu;
    static auto* kept = new std::vector<std::unique_ptr<boost::dll::shared_library>>();
    std::lock_guard lk(mu);
    kept->push_back(std::move(lib_));
  }
}

const void* PluginLibrary::factory(const char* factory_id) const {
  if (!entry_ || !factory_id || !CITYLINK_HAS_FIELD(entry_, citylink_entry_t, get_factory) || !entry_->get_factory)
    return nullptr;
  return entry_->get_factory(factory_id);
}

const PluginDescriptor* PluginLibrary::find(const std::string& plugin_id) const {
  for (const auto& d : descriptors_)
    if (d.id == plugin_id) return &d;
  return nullptr;
}

}  // namespace citylink::host
