// A scripted feed of integrated-platform events: 112 and 119 reports, anklet violations,
// disaster notices, each published as a PlatformEvent at its time, the way the platform
// bridge would pass them on. Several entries with one occurrence number play one incident
// through its statuses (occurred -> changed -> finished); an update without a position
// repeats the incident's last known one, as the platform does.
#include <citylink/plugin.hpp>
#include <citylink/v1/platform_event.pb.h>

#include "sample_support.hpp"

namespace {

using citylink::samples::Fields;

const std::map<std::string, std::string>& event_names() {
  static const std::map<std::string, std::string> names = {
      {"112UC001", "112 emergency video"},     {"112UC120", "112 dispatch order"},
      {"119UC001", "119 dispatch"},            {"DUCDP110", "disaster support"},
      {"WPSSF110", "social-vulnerable SOS"},   {"MOJUC110", "electronic-anklet tracking"}};
  return names;
}

// The agency that sends on each topic, as the platform names it.
std::string default_sender(const std::string& topic) {
  if (topic == "incident.112") return "112";
  if (topic == "incident.119") return "119";
  if (topic == "incident.moj") return "MOJ";
  return "UCP";
}

struct Scripted {
  int64_t at_ms = 0;
  std::string topic;
  citylink::v1::PlatformEvent event;
};

class IncidentFeed : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.incident-feed";
    d.name = "Integrated-platform incident feed (scripted)";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "source";
    d.description = "Replays a script of 112/119/MOJ/SOS platform events (PlatformEvent) at their times; "
                    "correlation id = occurrence number.";
    d.publishes = {"incident."};
    d.config_schema = R"({"type":"object","required":["events"],"additionalProperties":false,"properties":{
      "events":{"type":"array","minItems":1,"items":{"type":"object","additionalProperties":false,
        "required":["topic","event_code","occurrence_number"],"properties":{
        "at_ms":{"type":"integer","minimum":0},"topic":{"type":"string","pattern":"^incident\\.[a-z0-9_.-]+$"},
        "event_code":{"type":"string"},"event_name":{"type":"string"},
        "status":{"type":"integer","enum":[10,40,50,90,91]},"grade":{"type":"integer","enum":[10,20]},
        "occurrence_number":{"type":"string"},
        "lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180},
        "accuracy_m":{"type":"number","minimum":0},"address":{"type":"string"},"road_name":{"type":"string"},
        "district":{"type":"string"},"content":{"type":"string"},
        "items":{"type":"object","additionalProperties":{"type":"string"}},
        "sender":{"type":"string"},"receiver":{"type":"string"}}}}}})";
    return d;
  }

  explicit IncidentFeed(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"events"});
    const std::size_t n = cfg.array_size("events");
    if (n == 0)
      cfg.fail("events", "needs at least one event, e.g. [{\"at_ms\": 0, \"topic\": \"incident.112\", "
                         "\"event_code\": \"112UC001\", \"occurrence_number\": \"INC-1\", \"lat\": 37.5, \"lon\": 127.0}]");
    for (std::size_t i = 0; i < n; ++i) script_.push_back(parse_event(cfg, i));
    // Stable: entries at the same time keep their order in the script.
    std::stable_sort(script_.begin(), script_.end(), [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
    // Like the platform, an update repeats the incident's last known position and place
    // when the script entry leaves them out.
    std::map<std::string, const citylink::v1::PlatformEvent*> last;
    for (auto& s : script_) {
      auto& ev = s.event;
      const auto it = last.find(ev.occurrence_number());
      if (it != last.end()) {
        if (!ev.has_location() && it->second->has_location()) *ev.mutable_location() = it->second->location();
        if (ev.place().full_text().empty() && ev.place().road_name().empty()) *ev.mutable_place() = it->second->place();
      }
      last[ev.occurrence_number()] = &ev;
    }
  }

  void start() override {
    const auto t0 = std::chrono::steady_clock::now();
    worker_.start([this, t0] {
      std::map<std::string, int64_t> first_seen;  // occurrence number -> occurred time
      for (auto& s : script_) {
        if (!worker_.sleep_until(t0 + std::chrono::milliseconds(s.at_ms))) return;
        auto ev = s.event;
        const int64_t now = citylink::samples::now_unix_ns();
        ev.set_occurred_unix_ns(first_seen.emplace(ev.occurrence_number(), now).first->second);
        const std::string status = std::to_string(static_cast<int>(ev.status()));
        if (citylink::samples::publish_or_warn(host_, s.topic, ev, ev.occurrence_number(),
                                               {{"event_code", ev.event_code()}, {"status", status}}))
          host_.info(s.topic + ": " + ev.event_code() + " " + ev.occurrence_number() + " status " + status +
                     (ev.content().empty() ? "" : " " + ev.content()));
      }
    });
  }

  void stop() override { worker_.stop(); }
  ~IncidentFeed() override { stop(); }

 private:
  static Scripted parse_event(const Fields& cfg, std::size_t i) {
    const auto f = cfg.element("events", i, {"at_ms", "topic", "event_code", "event_name", "status", "grade",
                                             "occurrence_number", "lat", "lon", "accuracy_m", "address", "road_name",
                                             "district", "content", "items", "sender", "receiver"});
    Scripted s;
    s.at_ms = f.integer("at_ms", 0, 0);
    s.topic = f.required_text("topic", "incident.112");
    if (s.topic.rfind("incident.", 0) != 0 || s.topic.size() <= 9 || s.topic.back() == '.')
      f.fail("topic", "'" + s.topic + "' must be an incident topic such as incident.112, incident.119 or incident.moj");
    auto& ev = s.event;
    ev.set_event_code(f.required_text("event_code", "112UC001"));
    const auto known = event_names().find(ev.event_code());
    ev.set_event_name(f.text("event_name", known == event_names().end() ? ev.event_code() : known->second));
    const auto status = f.integer("status", 10);
    if (!citylink::v1::EventStatus_IsValid(static_cast<int>(status)) || status == 0)
      f.fail("status", std::to_string(status) +
                           " is not a platform status; use 10 occurred, 40 changed, 50 released, 90 cancelled, 91 finished");
    ev.set_status(static_cast<citylink::v1::EventStatus>(status));
    const auto grade = f.integer("grade", 10);
    if (grade != 10 && grade != 20) f.fail("grade", std::to_string(grade) + " is not a grade; use 10 urgent or 20 normal");
    ev.set_grade(static_cast<citylink::v1::EventGrade>(grade));
    ev.set_occurrence_number(f.required_text("occurrence_number", "INC-2024-0001"));
    if (f.has("lat") != f.has("lon")) f.fail(f.has("lat") ? "lon" : "lat", "give lat and lon together, or neither");
    if (f.has("lat")) {
      ev.mutable_location()->set_lat(f.lat());
      ev.mutable_location()->set_lon(f.lon());
      ev.mutable_location()->set_accuracy_m(f.number("accuracy_m", 0, 0));
    }
    if (f.has("address")) ev.mutable_place()->set_full_text(f.text("address", ""));
    if (f.has("road_name")) ev.mutable_place()->set_road_name(f.text("road_name", ""));
    if (f.has("district")) ev.mutable_place()->set_district(f.text("district", ""));
    ev.set_content(f.text("content", ""));
    ev.set_sender_system(f.text("sender", default_sender(s.topic)));
    ev.set_receiver_system(f.text("receiver", "UCP"));
    for (const auto& [k, v] : f.string_map("items")) (*ev.mutable_items())[k] = v;
    return s;
  }

  citylink::Host host_;
  std::vector<Scripted> script_;
  citylink::samples::Worker worker_;  // last: stops first
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(IncidentFeed)
