// Disaster: thresholds with hysteresis and hold times, per sensor and rule.
#include <citylink/platform/scenarios/disaster.hpp>

#include <cstdio>
#include <ctime>

namespace citylink::platform::scenarios {

void Disaster::on_reading(const citylink::v1::SensorReading& r, ScenarioContext& ctx) {
  for (const auto& rule : c_.rules) {
    if (r.kind() != rule.kind || r.zone().rfind(rule.zone_prefix, 0) != 0) continue;
    State& s = states_[rule.name + "/" + r.sensor_id()];
    s.last_reading_ns = ctx.now_ns();
    const bool beyond = rule.above ? r.value() >= rule.raise_at : r.value() <= rule.raise_at;
    const bool recovered = rule.above ? r.value() <= rule.clear_at : r.value() >= rule.clear_at;
    // Crossing toward the other state starts the hold clock; falling back resets it. The
    // clock is the host's, never the sensor's: a gauge whose clock is a year ahead would
    // otherwise hold a flood forever, or one 10 s ahead raise it with no hold (review M6).
    const bool crossing = s.raised ? recovered : beyond;
    const int64_t now = ctx.now_ns();
    if (!crossing) {
      s.pending_since = 0;
      continue;
    }
    if (s.pending_since == 0) s.pending_since = now;
    if (now - s.pending_since < rule.hold_ns) continue;
    s.pending_since = 0;
    if (s.raised) clear(rule, r, s, ctx);
    else raise(rule, r, s, ctx);
  }
}

void Disaster::on_tick(ScenarioContext& ctx) {
  const int64_t cutoff = ctx.now_ns() - c_.state_retention_ns;
  std::erase_if(states_, [&](const auto& kv) {
    const State& s = kv.second;
    return !s.raised && s.pending_since == 0 && s.last_reading_ns < cutoff;
  });
}

void Disaster::raise(const DisasterRule& rule, const citylink::v1::SensorReading& r, State& s, ScenarioContext& ctx) {
  s.raised = true;
  s.incident_id = next_occurrence_number(ctx.wall_ns(ctx.now_ns()));
  announce(rule, r, s, true, ctx);
}

// The platform's occurrence numbers are 14 or 17 digits (platform-interface.md), and a
// platform that checks them refuses text. The rule and the sensor travel as items instead.
std::string Disaster::next_occurrence_number(int64_t now_ns) {
  constexpr int64_t kKoreaOffsetS = 9 * 3600;  // Korea keeps no daylight saving time
  int64_t second = now_ns / 1'000'000'000 + kKoreaOffsetS;
  // A thousand raises in one second borrow the next second, so a number is never repeated
  // while the host runs.
  if (second <= numbered_second_) {
    second = numbered_second_;
    if (++numbered_in_second_ == 1000) {
      ++second;
      numbered_in_second_ = 0;
    }
  } else {
    numbered_in_second_ = 0;
  }
  numbered_second_ = second;
  const std::time_t t = static_cast<std::time_t>(second);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32], seq[8];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
  std::snprintf(seq, sizeof seq, "%03d", numbered_in_second_);
  return std::string(stamp, n) + seq;
}

void Disaster::clear(const DisasterRule& rule, const citylink::v1::SensorReading& r, State& s, ScenarioContext& ctx) {
  s.raised = false;
  announce(rule, r, s, false, ctx);
}

void Disaster::announce(const DisasterRule& rule, const citylink::v1::SensorReading& r, const State& s, bool raised,
                        ScenarioContext& ctx) {
  const auto status = raised ? citylink::v1::EVENT_STATUS_OCCURRED : citylink::v1::EVENT_STATUS_RELEASED;
  const std::string reading = r.kind() + " " + std::to_string(r.value()) + " " + r.unit();
  citylink::v1::PlatformEvent ev;
  ev.set_event_code("DUCDP110");
  ev.set_event_name("disaster support: " + rule.name);
  ev.set_grade(citylink::v1::EVENT_GRADE_URGENT);
  ev.set_occurrence_number(s.incident_id);
  ev.set_status(status);
  // A reading without a fix (the engine cleared a (0, 0)) leaves the incident without a
  // location rather than at the null island; the zone still names the place.
  if (r.has_position()) *ev.mutable_location() = r.position();
  // The sensor is named in the text: the occurrence number is digits only.
  const std::string where = r.zone() + " (sensor " + r.sensor_id() + ")";
  ev.set_content(raised ? rule.name + " at " + where + ": " + reading + (rule.above ? " >= " : " <= ") +
                              std::to_string(rule.raise_at)
                        : rule.name + " cleared at " + where + ": " + reading);
  ev.set_occurred_unix_ns(ctx.wall_ns(ctx.now_ns()));
  ev.set_sender_system("UCP");
  ev.set_receiver_system(c_.recipient);
  (*ev.mutable_items())["rule"] = rule.name;
  (*ev.mutable_items())["sensor_id"] = r.sensor_id();
  (*ev.mutable_items())["zone"] = r.zone();
  ctx.emit("incident.disaster", ev, s.incident_id);

  citylink::v1::DispatchSupport d;
  d.set_recipient(c_.recipient);
  d.set_incident_id(s.incident_id);
  d.set_event_code("DUCDP110");
  d.set_status(status);
  if (r.has_position()) *d.mutable_position() = r.position();
  std::vector<CameraHit> hits;
  if (raised && r.has_position()) {
    const auto& p = r.position();
    hits = ctx.cameras().covering(p.lat(), p.lon(), c_.radius_m, c_.max_cameras, ctx.now_ns());
    if (hits.empty()) hits = ctx.cameras().within(p.lat(), p.lon(), c_.radius_m, c_.max_cameras, ctx.now_ns());
    for (const auto& h : hits) *d.add_cameras() = camera_ref(h);
  }
  d.set_text((raised ? "raised: " : "cleared: ") + ev.content());
  ctx.note(name(), s.incident_id + (raised ? " raised -> " : " cleared -> ") + c_.recipient + ": " + ev.content() +
                       (raised ? (r.has_position() ? "; cameras " + describe(hits) : "; no position, so no cameras") : ""));
  ctx.emit(c_.topic, d, s.incident_id);
}

}  // namespace citylink::platform::scenarios
