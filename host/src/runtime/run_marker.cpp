// The marker file of a running city.
#include <citylink/host/run_marker.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace citylink::host {
namespace {

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

RunMarker::RunMarker(std::filesystem::path dir) : path_(dir / "citylink.running") {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    problem_ = "cannot create state folder " + dir.string() + ": " + ec.message();
    return;
  }
  if (std::ifstream in(path_); in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    long pid = 0;
    std::string started;
    std::istringstream s(text);
    std::string word;
    while (s >> word) {
      if (word == "pid") s >> pid;
      if (word == "started") s >> started;
    }
    // A marker whose process still runs belongs to another host sharing this folder, not to
    // a crash; that is a mistake of its own.
    if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) == 0) {
      // Its marker stays: overwriting it (and removing it at our exit) would hide its crash.
      problem_ = "another process (pid " + std::to_string(pid) + ") has a run marker in " + dir.string() +
                 "; give each host its own host.state_dir";
      return;
    }
    previous_ = "pid " + std::to_string(pid) + ", started " + (started.empty() ? "at an unknown time" : started);
  }
  std::ofstream out(path_, std::ios::trunc);
  out << "pid " << ::getpid() << "\nstarted " << utc_now() << "\n";
  out.flush();
  if (!out) {
    problem_ = "cannot write " + path_.string() + ": " + std::strerror(errno);
    return;
  }
  written_ = true;
}

RunMarker::~RunMarker() {
  if (!written_) return;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

}  // namespace citylink::host
