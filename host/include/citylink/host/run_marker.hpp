// Tells a start after an unclean shutdown (a crash, a kill, a power cut) from a normal one:
// a marker file written when a city starts and removed when it stops cleanly.
#pragma once

#include <filesystem>
#include <string>

namespace citylink::host {

class RunMarker {
 public:
  // Reads what an earlier run left in `dir`, then writes this run's marker (pid, start
  // time). Never throws: a folder that cannot be written turns detection off, with the
  // reason in problem().
  explicit RunMarker(std::filesystem::path dir);
  ~RunMarker();  // a clean stop: the marker goes
  RunMarker(const RunMarker&) = delete;
  RunMarker& operator=(const RunMarker&) = delete;

  // "pid 4242, started 2026-12-01T23:00:00Z" when the previous run did not stop cleanly;
  // empty otherwise.
  const std::string& previous_unclean() const { return previous_; }
  const std::string& problem() const { return problem_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::string previous_;
  std::string problem_;
  bool written_ = false;
};

}  // namespace citylink::host
