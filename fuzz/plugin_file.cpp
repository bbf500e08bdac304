// The ELF pre-flight: what the loader reads of a plugin file before anything is loaded.
#include <citylink/host/plugin_library.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "fuzz_target.hpp"

CITYLINK_FUZZ_TARGET(plugin_file) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("citylink-fuzz-plugin-" + std::to_string(getpid()) + ".so");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  try {
    (void)citylink::host::preflight_plugin_file(path);
  } catch (const std::exception&) {
    // Refused with its reason: the right answer to a file that is not a plugin.
  }
  return 0;
}
