// Incident lifecycle: codes, positions and statuses that only move forward.
#include <citylink/platform/geo.hpp>
#include <citylink/platform/scenarios/incidents.hpp>

#include <algorithm>
#include <utility>

namespace citylink::platform::scenarios {

using citylink::v1::EventStatus;

const std::vector<std::string>& known_event_codes() {
  static const std::vector<std::string> codes = {"112UC001", "112UC120", "119UC001",
                                                 "DUCDP110", "WPSSF110", "MOJUC110"};
  return codes;
}

bool is_known_event_code(const std::string& code) {
  const auto& c = known_event_codes();
  return std::find(c.begin(), c.end(), code) != c.end();
}

bool is_closing_status(EventStatus s) {
  return s == citylink::v1::EVENT_STATUS_FINISHED || s == citylink::v1::EVENT_STATUS_CANCELLED;
}

namespace {

// (0, 0) is what a missing coordinate turns into on its way through a bridge.
bool has_fix(const citylink::v1::PlatformEvent& ev) {
  return ev.has_location() && !(ev.location().lat() == 0.0 && ev.location().lon() == 0.0);
}

// Lifecycle rank: occurred < changed < released < cancelled/finished.
int rank(EventStatus s) {
  switch (s) {
    case citylink::v1::EVENT_STATUS_OCCURRED: return 1;
    case citylink::v1::EVENT_STATUS_CHANGED: return 2;
    case citylink::v1::EVENT_STATUS_RELEASED: return 3;
    case citylink::v1::EVENT_STATUS_CANCELLED:
    case citylink::v1::EVENT_STATUS_FINISHED: return 4;
    default: return 0;
  }
}

}  // namespace

std::optional<Change> IncidentBook::apply(const citylink::v1::PlatformEvent& ev, bool needs_position, std::string* why,
                                          const std::string& source, int64_t now_ns) {
  auto fail = [&](const std::string& s) -> std::optional<Change> {
    if (why) *why = s;
    return std::nullopt;
  };
  if (ev.occurrence_number().empty()) return fail("event without an occurrence number");
  const std::string& id = ev.occurrence_number();
  if (!is_known_event_code(ev.event_code()))
    return fail("incident " + id + ": unknown event code '" + ev.event_code() + "'");
  if (rank(ev.status()) == 0)
    return fail("incident " + id + ": unknown status " + std::to_string(static_cast<int>(ev.status())) +
                " (known: 10 occurred, 40 changed, 50 released, 90 cancelled, 91 finished)");
  auto it = incidents_.find(IncidentKey{source, id});
  // A close is accepted whatever its position says (H4): refusing it would keep video
  // shared for an incident that is over.
  const bool closes_known = it != incidents_.end() && is_closing_status(ev.status());
  if (needs_position && !closes_known) {
    if (!has_fix(ev)) return fail("incident " + id + " (" + ev.event_code() + ") has no position");
    if (!geo::valid_wgs84(ev.location().lat(), ev.location().lon()))
      return fail("incident " + id + ": position " + std::to_string(ev.location().lat()) + ", " +
                  std::to_string(ev.location().lon()) + " is outside WGS84 range");
  }
  if (it == incidents_.end()) {
    if (is_closing_status(ev.status()))
      return fail("incident " + id + ": first report already closes it (status " +
                  std::to_string(static_cast<int>(ev.status())) + ")");
    std::size_t& open = open_by_source_[source];
    if (open >= max_open_per_source_)
      return fail("incident " + id + ": " + source + " already has " + std::to_string(open) +
                  " incidents open, the most host.max_open_incidents_per_source allows; close some, or raise it");
    ++open;
    Incident inc;
    inc.id = id;
    inc.event_code = ev.event_code();
    inc.source = source;
    inc.latest = ev;
    inc.last_change_ns = now_ns;
    incidents_.emplace(IncidentKey{source, id}, std::move(inc));
    sources_by_number_.emplace(id, source);
    return Change::opened;
  }
  Incident& inc = it->second;
  if (!inc.open) return fail("incident " + id + " is already closed; update ignored");
  if (ev.event_code() != inc.event_code)
    return fail("incident " + id + ": event code changed from " + inc.event_code + " to " + ev.event_code());
  if (rank(ev.status()) < rank(inc.latest.status()))
    return fail("incident " + id + ": status going backwards (" + std::to_string(static_cast<int>(inc.latest.status())) +
                " -> " + std::to_string(static_cast<int>(ev.status())) + ")");
  inc.latest = ev;
  inc.last_change_ns = now_ns;
  ++inc.updates;
  if (is_closing_status(ev.status())) {
    inc.open = false;
    if (auto o = open_by_source_.find(source); o != open_by_source_.end() && --o->second == 0) open_by_source_.erase(o);
    remember_closed(it->first);
    return Change::closed;
  }
  return Change::updated;
}

void IncidentBook::complete(citylink::v1::PlatformEvent& ev, const std::string& source) const {
  if (ev.has_location() && !has_fix(ev)) ev.clear_location();
  const Incident* inc = find(IncidentKey{source, ev.occurrence_number()});
  if (!inc) return;
  // A close with a broken position is still a close (H4); it keeps the last known place.
  if (is_closing_status(ev.status()) && ev.has_location() &&
      !geo::valid_wgs84(ev.location().lat(), ev.location().lon()))
    ev.clear_location();
  if (!ev.has_location() && inc->latest.has_location()) *ev.mutable_location() = inc->latest.location();
  if (!ev.has_place() && inc->latest.has_place()) *ev.mutable_place() = inc->latest.place();
  // Items an update leaves out keep their last value: the anklet's violation kind, for one,
  // must not be lost by an update that omits it (H5).
  for (const auto& [k, v] : inc->latest.items()) ev.mutable_items()->insert({k, v});
}

const Incident* IncidentBook::find(const IncidentKey& key) const {
  auto it = incidents_.find(key);
  return it == incidents_.end() ? nullptr : &it->second;
}

const Incident* IncidentBook::find_open(const std::string& number, bool* ambiguous) const {
  const Incident* found = nullptr;
  if (ambiguous) *ambiguous = false;
  const auto [first, last] = sources_by_number_.equal_range(number);
  for (auto it = first; it != last; ++it) {
    const Incident* inc = find(IncidentKey{it->second, number});
    if (!inc || !inc->open) continue;
    if (found) {
      if (ambiguous) *ambiguous = true;
      return nullptr;
    }
    found = inc;
  }
  return found;
}

void IncidentBook::restore(Incident incident) {
  IncidentKey key = incident.key();
  if (incidents_.count(key)) return;
  const bool open = incident.open;
  if (open) ++open_by_source_[key.source];
  sources_by_number_.emplace(key.number, key.source);
  const auto it = incidents_.emplace(std::move(key), std::move(incident)).first;
  if (!open) remember_closed(it->first);
}

void IncidentBook::remember_closed(IncidentKey key) {
  auto& closed = closed_by_source_[key.source];
  closed.push_back(key.number);
  while (closed.size() > max_closed_per_source_) {
    const IncidentKey oldest{key.source, closed.front()};
    closed.pop_front();
    // An entry left from an earlier incident of the same number (retired, then opened again)
    // never takes the one just closed with it: the caller still holds that one.
    if (oldest.number == key.number) continue;
    const auto it = incidents_.find(oldest);
    if (it == incidents_.end() || it->second.open) continue;  // retired already
    erase(it);
    evicted_.push_back(oldest);
  }
}

void IncidentBook::erase(std::map<IncidentKey, Incident>::iterator it) {
  const auto [first, last] = sources_by_number_.equal_range(it->first.number);
  for (auto s = first; s != last; ++s)
    if (s->second == it->first.source) {
      sources_by_number_.erase(s);
      break;
    }
  incidents_.erase(it);
}

std::vector<IncidentKey> IncidentBook::take_evicted() { return std::exchange(evicted_, {}); }

std::vector<IncidentKey> IncidentBook::retire_closed(int64_t closed_before_ns) {
  std::vector<IncidentKey> retired;
  for (auto it = incidents_.begin(); it != incidents_.end();) {
    if (it->second.open || it->second.last_change_ns >= closed_before_ns) {
      ++it;
      continue;
    }
    retired.push_back(it->first);
    erase(it++);
  }
  // Their entries leave the lists wherever they stand (closing order and retirement order
  // differ after a restore or a clock step): a stale entry would count against the cap.
  for (auto c = closed_by_source_.begin(); c != closed_by_source_.end();) {
    std::erase_if(c->second, [&](const std::string& number) {
      const auto it = incidents_.find(IncidentKey{c->first, number});
      return it == incidents_.end() || it->second.open;
    });
    c = c->second.empty() ? closed_by_source_.erase(c) : std::next(c);
  }
  return retired;
}

std::size_t IncidentBook::open_count() const {
  return static_cast<std::size_t>(
      std::count_if(incidents_.begin(), incidents_.end(), [](const auto& kv) { return kv.second.open; }));
}

std::vector<Incident> IncidentBook::list() const {
  std::vector<Incident> out;
  out.reserve(incidents_.size());
  for (const auto& [key, inc] : incidents_) out.push_back(inc);
  return out;
}

}  // namespace citylink::platform::scenarios
