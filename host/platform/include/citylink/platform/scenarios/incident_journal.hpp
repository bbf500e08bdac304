// The incident book on disk (`host.incident_book`, review H6): every accepted change is
// written before the engine acts on it, and a restarted engine reads the book back, so a
// "finished" sent while the host was down or restarting still closes its incident.
#pragma once

#include <citylink/platform/scenarios/incidents.hpp>

#include <filesystem>
#include <stdexcept>
#include <vector>

struct sqlite3;

namespace citylink::platform::scenarios {

// "incident book PATH: what went wrong; the fix".
class IncidentJournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One SQLite file (WAL, synchronous=NORMAL: a crash of the host loses nothing written; a
// power cut may lose the last changes). Used by the engine's thread only, after start.
class IncidentJournal {
 public:
  // Opens or creates the file; throws IncidentJournalError naming the path and the fix.
  explicit IncidentJournal(std::filesystem::path path);
  ~IncidentJournal();
  IncidentJournal(const IncidentJournal&) = delete;
  IncidentJournal& operator=(const IncidentJournal&) = delete;

  // Every incident written, open and closed. A row that does not parse is skipped and
  // counted in `unreadable` (a damaged row must not keep the city from starting).
  std::vector<Incident> load(std::size_t* unreadable = nullptr) const;
  // Writes the incident as it is now (insert or replace).
  void record(const Incident& incident);
  // Removes retired incidents, in one transaction.
  void forget(const std::vector<IncidentKey>& keys);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace citylink::platform::scenarios
