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
  citylink::v1::PlatformEvent latest;
  bool open = true;
  int updates = 0;
};

// What an accepted event did to its incident.
enum class Change { opened, updated, closed };

class IncidentBook {
 public:
  // Checks an event against the lifecycle (known code, occurrence number, valid WGS84
  // location when `needs_position`, no status going backwards, nothing after closing) and
  // records it. Returns the change, or nullopt with `why` set to a clear reason.
  std::optional<Change> apply(const citylink::v1::PlatformEvent& ev, bool needs_position, std::string* why);

  // An update that leaves out location or place (a platform's "finished" often does)
  // means "unchanged": fill them in from the incident's latest known values.
  void complete(citylink::v1::PlatformEvent& ev) const;

  const Incident* find(const std::string& id) const;
  std::size_t open_count() const;

 private:
  std::map<std::string, Incident> incidents_;
};

}  // namespace citylink::host::scenarios
