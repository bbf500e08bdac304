// The incidents the platform has reported, and the rules of their status lifecycle.
#pragma once

#include <citylink/v1/platform_event.pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace citylink::host::scenarios {

// The event codes the scenarios know (ARCHITECTURE.md §5).
bool is_known_event_code(const std::string& code);
const std::vector<std::string>& known_event_codes();

// Open statuses accept updates; finished (91) and cancelled (90) close the incident.
bool is_closing_status(citylink::v1::EventStatus s);

struct Incident {
  std::string id;                  // occurrence number
  std::string event_code;
  std::string source;              // the instance that opened it; only it updates and closes it
  citylink::v1::PlatformEvent latest;
  bool open = true;
  int updates = 0;
  int64_t last_change_ns = 0;      // engine time of the latest accepted event (renewal staleness)
};

// What an accepted event did to its incident.
enum class Change { opened, updated, closed };

class IncidentBook {
 public:
  // Checks an event against the lifecycle (known code, occurrence number, valid WGS84
  // location when `needs_position` (a close needs none), no status going backwards, nothing
  // after closing, updates only from the `source` that opened it) and records it. Returns
  // the change, or nullopt with `why` set to a clear reason.
  std::optional<Change> apply(const citylink::v1::PlatformEvent& ev, bool needs_position, std::string* why,
                              const std::string& source = {}, int64_t now_ns = 0);

  // An update that leaves out location, place or some items (a platform's "finished" often
  // does) means "unchanged": fill them in from the incident's latest known values. A location of
  // exactly (0, 0) is a missing fix (a bridge's default), never a place, and counts as absent.
  void complete(citylink::v1::PlatformEvent& ev) const;

  const Incident* find(const std::string& id) const;
  std::size_t open_count() const;

 private:
  std::map<std::string, Incident> incidents_;
};

}  // namespace citylink::host::scenarios
