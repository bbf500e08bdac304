// The ELF pre-flight: what the loader reads of a plugin file before anything is loaded.
#include <citylink/host/plugin_library.hpp>

#include <filesystem>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "fuzz_target.hpp"

CITYLINK_FUZZ_TARGET(plugin_file) {
  // A file of its own (mkstemp: 0600, a fresh name), removed after each input.
  std::string name = (std::filesystem::temp_directory_path() / "citylink-fuzz-plugin-XXXXXX").string();
  const int fd = mkstemp(name.data());
  if (fd < 0) return 0;
  const bool written = ::write(fd, data, size) == static_cast<ssize_t>(size);
  ::close(fd);
  try {
    if (written) (void)citylink::host::preflight_plugin_file(std::filesystem::path(name));
  } catch (const std::exception&) {
    // Refused with its reason: the right answer to a file that is not a plugin.
  }
  ::unlink(name.c_str());
  return 0;
}
