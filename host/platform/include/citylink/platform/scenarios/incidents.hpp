// The incidents the platform has reported, and the rules of their status lifecycle.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/v1/platform_event.pb.h>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace citylink::platform::scenarios {

// The event codes the scenarios know (ARCHITECTURE.md §5).
bool is_known_event_code(const std::string& code);
const std::vector<std::string>& known_event_codes();

// Open statuses accept updates; finished (91) and cancelled (90) close the incident.
bool is_closing_status(citylink::v1::EventStatus s);

// An incident is known by who reported it and its occurrence number. Two sources that use
// the same number have two incidents: one can neither squat nor close the other's, and
// grants hang off the key, so a close from one source never revokes another's video.
struct IncidentKey {
  std::string source;  // the instance (or remote client) that opened it
  std::string number;  // the platform's occurrence number
  auto operator<=>(const IncidentKey&) const = default;
};

struct Incident {
  std::string id;                  // occurrence number
  std::string event_code;
  std::string source;              // the instance that opened it; only it updates and closes it
  IncidentKey key() const { return {source, id}; }
  citylink::v1::PlatformEvent latest;
  bool open = true;
  int updates = 0;
  int64_t last_change_ns = 0;      // engine time of the latest accepted event (renewal staleness)
};

// What an accepted event did to its incident.
enum class Change { opened, updated, closed };

class IncidentBook {
 public:
  // At most `max_open_per_source` incidents open at once per source (H8): beyond it a new
  // one is refused. A source's closed ones leave after the retention (retire_closed), and
  // beyond `max_closed_per_source` its oldest closed one leaves early (take_evicted): a
  // source that opens and closes fast cannot fill the host within one retention.
  explicit IncidentBook(std::size_t max_open_per_source = 10000, std::size_t max_closed_per_source = 50000)
      : max_open_per_source_(max_open_per_source), max_closed_per_source_(max_closed_per_source) {}

  // Checks an event against the lifecycle (known code, occurrence number, valid WGS84
  // location when `needs_position` (a close needs none), no status going backwards, nothing
  // after closing) and records it under (`source`, occurrence number). Returns the change,
  // or nullopt with `why` set to a clear reason.
  std::optional<Change> apply(const citylink::v1::PlatformEvent& ev, bool needs_position, std::string* why,
                              const std::string& source = {}, int64_t now_ns = 0);

  // An update that leaves out location, place or some items (a platform's "finished" often
  // does) means "unchanged": fill them in from the incident's latest known values. A location of
  // exactly (0, 0) is a missing fix (a bridge's default), never a place, and counts as absent.
  void complete(citylink::v1::PlatformEvent& ev, const std::string& source = {}) const;

  // Forgets closed incidents whose last change is older than `closed_before_ns`; returns
  // their keys. Retention must outlast any late update: one arriving later opens a new incident.
  std::vector<IncidentKey> retire_closed(int64_t closed_before_ns);
  // Closed incidents forgotten early, since the last call, because their source had more than
  // `max_closed_per_source` closed (apply and restore evict them); the caller forgets them
  // where it kept them too.
  std::vector<IncidentKey> take_evicted();
  // Puts back an incident a previous run wrote (IncidentJournal), as it was: open ones count
  // against their source's cap. One already in the book is left as it is.
  void restore(Incident incident);
  std::size_t size() const { return incidents_.size(); }

  const Incident* find(const IncidentKey& key) const;
  // The one open incident with this occurrence number, for inputs that carry only the number
  // (a tracking update); nullptr when none is open, and when several sources have one open,
  // since guessing would hand one incident's data to the other's responders.
  const Incident* find_open(const std::string& number, bool* ambiguous = nullptr) const;
  std::size_t open_count() const;
  // Every incident in the book (open, and closed ones not yet retired).
  std::vector<Incident> list() const;

 private:
  void remember_closed(IncidentKey key);  // a copy: it may erase map nodes
  void erase(std::map<IncidentKey, Incident>::iterator it);

  std::size_t max_open_per_source_;
  std::size_t max_closed_per_source_;
  std::map<std::string, std::size_t> open_by_source_;
  // Each source's closed incidents (their numbers), oldest closed first; an entry whose
  // incident was retired meanwhile is skipped when it comes up.
  std::map<std::string, std::deque<std::string>> closed_by_source_;
  std::vector<IncidentKey> evicted_;
  std::map<IncidentKey, Incident> incidents_;
  std::multimap<std::string, std::string> sources_by_number_;  // number -> source, for find_open
};

}  // namespace citylink::platform::scenarios
