// A plugin library file opened exactly once: the same open file is hashed, pre-flighted
// and loaded, so nothing can swap the file between the checks and the load.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace citylink::host {

// How strictly a file is opened. The host uses strict rules for a city's plugins;
// `inspect` and `verify`, run by a vendor on their own build, use the defaults.
struct PluginFileRules {
  bool allow_symlinks = true;      // a symlink as the last path component; false: refused
  bool check_ownership = false;    // owned by root or by us, and not writable by group or others
};

class PluginFile {
 public:
  // Opens and reads the file. Throws LoadError naming the file, what is wrong and the fix.
  static PluginFile open(const std::filesystem::path& path, const PluginFileRules& rules = {});

  PluginFile(PluginFile&& other) noexcept;
  PluginFile& operator=(PluginFile&&) = delete;
  PluginFile(const PluginFile&) = delete;
  ~PluginFile();

  const std::filesystem::path& path() const { return path_; }  // as named; for messages
  const std::vector<char>& bytes() const { return bytes_; }
  const std::string& sha256() const { return sha256_; }         // 64 lower-case hex digits
  // A name of this very open file ("/proc/self/fd/N") for dlopen and library_info: it
  // reaches the inode that was read even if the path now names another file.
  std::string open_file_name() const;
  // Once dlopen has mapped the file, its descriptor stays open for the life of the process:
  // the dynamic linker knows the library by open_file_name(), and a reused descriptor number
  // would make a later dlopen of another file return this library.
  void keep_open_for_process_life() { fd_ = -1; }

 private:
  PluginFile() = default;
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<char> bytes_;
  std::string sha256_;
};

}  // namespace citylink::host
