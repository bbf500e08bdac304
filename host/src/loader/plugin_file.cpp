// Opening a plugin file once, with the checks a city's code deserves (M5 of the review).
#include <citylink/host/error.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/plugin_file.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace citylink::host {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw LoadError("plugin file '" + path.string() + "' " + what);
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Whoever can write a folder on the way to the file can rename the file away and put other
// code in its place, so the rule for the file holds for every folder above it. A sticky
// folder (/tmp) lets nobody replace what they do not own.
void check_folders(const std::filesystem::path& path) {
  std::error_code ec;
  auto dir = std::filesystem::absolute(path, ec).lexically_normal().parent_path();
  for (; !dir.empty(); dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) break;
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
      fail(path, "is in folder '" + dir.string() + "', owned by user " + std::to_string(st.st_uid) +
                     ", neither root nor the user running the host; whoever owns the folder can replace the file: "
                     "move the plugin to a folder you own, or chown it");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
      fail(path, "is in folder '" + dir.string() + "', writable by " +
                     std::string((st.st_mode & S_IWOTH) ? "everyone" : "its group") + " (mode " + octal_mode(st.st_mode) +
                     "); anyone who can write it can replace the file: chmod go-w '" + dir.string() + "'");
    if (dir == dir.root_path()) break;
  }
}

}  // namespace

PluginFile PluginFile::open(const std::filesystem::path& path, const PluginFileRules& rules) {
  PluginFile f;
  f.path_ = path;
  const int flags = O_RDONLY | O_CLOEXEC | (rules.allow_symlinks ? 0 : O_NOFOLLOW);
  f.fd_ = ::open(path.c_str(), flags);
  if (f.fd_ < 0) {
    const int e = errno;
    if (e == ENOENT) fail(path, "does not exist; check the path in the city config");
    if (e == ELOOP && !rules.allow_symlinks)
      fail(path, "is a symbolic link, which this city refuses (a link can be re-pointed after review); name the "
                 "file itself, or set host.allow_symlinks: true");
    fail(path, std::string("cannot be opened for reading: ") + std::strerror(e) + "; check the path and its permissions");
  }
  struct stat st {};
  if (::fstat(f.fd_, &st) != 0) fail(path, std::string("cannot be examined: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "is not a regular file");
  if (rules.check_ownership) {
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
      fail(path, "is owned by user " + std::to_string(st.st_uid) + ", neither root nor the user running the host (" +
                     std::to_string(::geteuid()) + "); whoever owns it can change the code the city runs: chown it");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
      fail(path, "is writable by " + std::string((st.st_mode & S_IWOTH) ? "everyone" : "its group") + " (mode " +
                     octal_mode(st.st_mode) + "); anyone who can write it can run code in the host: chmod go-w '" +
                     path.string() + "'");
    check_folders(path);
  }
  // M4 of the review: a sparse 30 GB file was read whole into memory. No plugin is this big.
  constexpr off_t kMaxPluginBytes = off_t{256} << 20;
  if (st.st_size > kMaxPluginBytes)
    fail(path, "is " + std::to_string(st.st_size) + " bytes, larger than the 256 MiB a plugin library may be; it is "
                   "not a plugin, or it carries data that belongs in files next to it");
  // One read of the whole file: plugin libraries run to megabytes.
  f.bytes_.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < f.bytes_.size()) {
    const ssize_t n = ::pread(f.fd_, f.bytes_.data() + got, f.bytes_.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, "could not be read to the end; check the file");
    got += static_cast<std::size_t>(n);
  }
  f.sha256_ = keys::sha256_hex(f.bytes_.data(), f.bytes_.size());
  return f;
}

PluginFile::PluginFile(PluginFile&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), bytes_(std::move(o.bytes_)), sha256_(std::move(o.sha256_)) {
  o.fd_ = -1;
}

PluginFile::~PluginFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string PluginFile::open_file_name() const { return "/proc/self/fd/" + std::to_string(fd_); }

}  // namespace citylink::host
