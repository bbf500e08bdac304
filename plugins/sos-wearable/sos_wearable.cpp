// An SOS wearable service (a pendant or watch for elderly, children, people with dementia):
// when a configured person presses the button, the service reports a WPSSF110 platform
// event on incident.vulnerable with the position and the person's registered data.
// A press can be followed by a finish (the person was found safe) after finish_after_ms.
#include <citylink/plugin.hpp>
#include <citylink/v1/platform_event.pb.h>

#include "sample_support.hpp"

namespace {

using citylink::samples::Fields;
using citylink::v1::PlatformEvent;

struct Person {
  std::string person_id, name, phone, guardian, guardian_phone, condition, address, device_id;
  double lat = 0, lon = 0, accuracy_m = 10;
  std::vector<int64_t> presses_ms;
  int64_t finish_after_ms = 0;  // 0 = the platform closes it
};

// One thing to send: the press (status 10) or its finish (status 91).
struct Step {
  int64_t at_ms = 0;
  const Person* person = nullptr;
  int press = 0;  // 1-based press number of this person
  bool finish = false;
};

class SosWearable : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.sos-wearable";
    d.name = "SOS wearable service (simulated)";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "wearable";
    d.description = "SOS button presses of registered vulnerable people, reported as WPSSF110 PlatformEvents with "
                    "position and personal data items (name, phone, guardian).";
    d.publishes = {"incident.vulnerable"};
    d.config_schema = R"({"type":"object","required":["persons"],"additionalProperties":false,"properties":{
      "sender":{"type":"string"},"persons":{"type":"array","minItems":1,"items":{"type":"object",
        "required":["person_id","name","phone","guardian","lat","lon","at_ms"],"additionalProperties":false,
        "properties":{"person_id":{"type":"string"},"name":{"type":"string"},"phone":{"type":"string"},
        "guardian":{"type":"string"},"guardian_phone":{"type":"string"},"condition":{"type":"string"},
        "address":{"type":"string"},"device_id":{"type":"string"},
        "lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180},
        "accuracy_m":{"type":"number","minimum":0},
        "at_ms":{"oneOf":[{"type":"integer","minimum":0},{"type":"array","items":{"type":"integer","minimum":0}}]},
        "finish_after_ms":{"type":"integer","minimum":1}}}}}})";
    return d;
  }

  explicit SosWearable(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"persons", "sender"});
    sender_ = cfg.text("sender", "WEARABLE");
    const auto n = cfg.array_size("persons");
    if (n == 0)
      cfg.fail("persons", "needs at least one person, e.g. [{\"person_id\": \"P-1\", \"name\": \"Kim\", \"phone\": "
                          "\"010-0000-0000\", \"guardian\": \"Lee\", \"lat\": 37.5, \"lon\": 127.0, \"at_ms\": 1000}]");
    persons_.reserve(n);  // Steps point into it
    for (std::size_t i = 0; i < n; ++i) persons_.push_back(parse_person(cfg, i));
    for (const auto& p : persons_) {
      if (std::count_if(persons_.begin(), persons_.end(), [&](const Person& q) { return q.person_id == p.person_id; }) > 1)
        cfg.fail("persons", "person_id '" + p.person_id + "' appears twice; give each person their own id");
      int press = 0;
      for (auto at : p.presses_ms) {
        ++press;
        steps_.push_back({at, &p, press, false});
        if (p.finish_after_ms > 0) steps_.push_back({at + p.finish_after_ms, &p, press, true});
      }
    }
    std::stable_sort(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) { return a.at_ms < b.at_ms; });
  }

  void start() override {
    const auto t0 = std::chrono::steady_clock::now();
    worker_.start([this, t0] {
      for (const auto& s : steps_) {
        if (!worker_.sleep_until(t0 + std::chrono::milliseconds(s.at_ms))) return;
        send(s);
      }
    });
  }
  void stop() override { worker_.stop(); }
  ~SosWearable() override { stop(); }

 private:
  static Person parse_person(const Fields& cfg, std::size_t i) {
    const auto f = cfg.element("persons", i, {"person_id", "name", "phone", "guardian", "guardian_phone", "condition",
                                              "address", "device_id", "lat", "lon", "accuracy_m", "at_ms",
                                              "finish_after_ms"});
    Person p;
    p.person_id = f.required_text("person_id", "P-001");
    p.name = f.required_text("name", "Kim Young-hee");
    p.phone = f.required_text("phone", "010-1234-5678");
    p.guardian = f.required_text("guardian", "Kim Min-su (son)");
    p.guardian_phone = f.text("guardian_phone", "");
    p.condition = f.text("condition", "");
    p.address = f.text("address", "");
    p.device_id = f.text("device_id", "SOS-" + p.person_id);
    p.lat = f.lat();
    p.lon = f.lon();
    p.accuracy_m = f.number("accuracy_m", 10, 0, 10000);
    p.finish_after_ms = f.integer("finish_after_ms", 0, 1);
    // at_ms: one press time, or a list of them.
    const auto& at = f.raw()["at_ms"];
    if (at.is_array()) {
      for (std::size_t k = 0; k < at.size(); ++k) {
        if (!at[k].is_number_integer() || at[k].get<int64_t>() < 0)
          f.fail("at_ms", "element " + std::to_string(k) + " is " + at[k].dump() + "; press times are whole ms >= 0");
        p.presses_ms.push_back(at[k].get<int64_t>());
      }
      if (p.presses_ms.empty()) f.fail("at_ms", "is an empty list; give at least one press time in ms");
    } else {
      p.presses_ms.push_back(f.required_integer("at_ms", 0, std::numeric_limits<int64_t>::max(), "1000"));
    }
    return p;
  }

  void send(const Step& s) {
    const Person& p = *s.person;
    PlatformEvent ev;
    const std::string number = "WPSSF110-" + p.person_id + "-" + std::to_string(s.press);
    ev.set_event_code("WPSSF110");
    ev.set_event_name("social-vulnerable SOS");
    ev.set_grade(citylink::v1::EVENT_GRADE_URGENT);
    ev.set_occurrence_number(number);
    ev.set_status(s.finish ? citylink::v1::EVENT_STATUS_FINISHED : citylink::v1::EVENT_STATUS_OCCURRED);
    ev.mutable_location()->set_lat(p.lat);
    ev.mutable_location()->set_lon(p.lon);
    ev.mutable_location()->set_accuracy_m(p.accuracy_m);
    ev.mutable_place()->set_full_text(p.address);
    ev.set_content(s.finish ? "SOS closed: " + p.person_id + " reported safe"
                            : "SOS button pressed on " + p.device_id + " (" + p.person_id +
                                  (p.condition.empty() ? "" : ", " + p.condition) + ")");
    ev.set_occurred_unix_ns(citylink::samples::now_unix_ns());
    ev.set_sender_system(sender_);
    ev.set_receiver_system("UCP");
    auto& items = *ev.mutable_items();
    items["person_id"] = p.person_id;
    items["device_id"] = p.device_id;
    items["name"] = p.name;
    items["phone"] = p.phone;
    items["guardian"] = p.guardian;
    if (!p.guardian_phone.empty()) items["guardian_phone"] = p.guardian_phone;
    if (!p.condition.empty()) items["condition"] = p.condition;
    const std::string status = s.finish ? "91" : "10";
    if (citylink::samples::publish_or_warn(host_, "incident.vulnerable", ev, number,
                                           {{"event_code", "WPSSF110"}, {"status", status}, {"person_id", p.person_id}}))
      host_.info(number + (s.finish ? ": finished" : ": SOS at " + citylink::samples::num(p.lat, 5) + "," +
                                                         citylink::samples::num(p.lon, 5)));
  }

  citylink::Host host_;
  std::string sender_;
  std::vector<Person> persons_;
  std::vector<Step> steps_;
  citylink::samples::Worker worker_;  // last: stops first
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(SosWearable)
