// A simulated temperature/humidity sensor for a child protection zone (a school gate, a
// playground): two SensorReadings per tick, with noise, a slow daily swing, and configured
// heat waves and cold snaps that ramp in, hold and ramp out.
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <random>

#include "sample_support.hpp"

namespace {

using citylink::samples::Episode;
using citylink::samples::Fields;

// A heat wave or cold snap: temperature and humidity change together.
struct Weather {
  std::string kind;
  Episode temp, humidity;
};

class ClimateSensor : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.climate-sensor";
    d.name = "Temperature/humidity sensor (simulated)";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "sensor";
    d.description = "Temperature (degC) and humidity (%) readings for a child protection zone, with noise and "
                    "configured heat-wave / cold-snap events.";
    d.publishes = {"sensor.reading"};
    d.config_schema = R"({"type":"object","additionalProperties":false,"properties":{
      "sensor_id":{"type":"string"},"interval_ms":{"type":"integer","minimum":1},
      "base_temp_c":{"type":"number"},"base_humidity_pct":{"type":"number","minimum":0,"maximum":100},
      "noise_temp_c":{"type":"number","minimum":0},"noise_humidity_pct":{"type":"number","minimum":0},
      "daily_swing_c":{"type":"number","minimum":0},"day_length_ms":{"type":"integer","minimum":1},
      "lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180},
      "zone":{"type":"string","pattern":"^child-protection:"},"count":{"type":"integer","minimum":0},
      "events":{"type":"array","items":{"type":"object","required":["kind","at_ms","duration_ms","delta_c"],
        "additionalProperties":false,"properties":{"kind":{"enum":["heat_wave","cold_snap"]},
        "at_ms":{"type":"integer","minimum":0},"duration_ms":{"type":"integer","minimum":1},
        "delta_c":{"type":"number","minimum":0},"humidity_delta_pct":{"type":"number"},
        "ramp_ms":{"type":"integer","minimum":0}}}}}})";
    return d;
  }

  explicit ClimateSensor(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"sensor_id", "interval_ms", "base_temp_c", "base_humidity_pct",
                                            "noise_temp_c", "noise_humidity_pct", "daily_swing_c", "day_length_ms",
                                            "lat", "lon", "zone", "count", "events"});
    sensor_id_ = cfg.text("sensor_id", "climate-" + host_.instance_id());
    interval_ = std::chrono::milliseconds(cfg.integer("interval_ms", 1000, 1));
    base_temp_ = cfg.number("base_temp_c", 24, -60, 60);
    base_hum_ = cfg.number("base_humidity_pct", 55, 0, 100);
    noise_temp_ = cfg.number("noise_temp_c", 0.2, 0, 20);
    noise_hum_ = cfg.number("noise_humidity_pct", 1.5, 0, 50);
    swing_ = cfg.number("daily_swing_c", 0, 0, 30);
    day_ms_ = cfg.integer("day_length_ms", 86400000, 1);
    lat_ = cfg.number("lat", 37.5172, -90, 90);
    lon_ = cfg.number("lon", 127.0473, -180, 180);
    zone_ = cfg.text("zone", "child-protection:default");
    if (zone_.rfind("child-protection:", 0) != 0 || zone_.size() <= 17)
      cfg.fail("zone", "'" + zone_ + "' must name a child protection zone, e.g. \"child-protection:seoul-elementary\"");
    count_ = cfg.integer("count", 0, 0);
    for (std::size_t i = 0; i < cfg.array_size("events"); ++i) {
      const auto f = cfg.element("events", i, {"kind", "at_ms", "duration_ms", "delta_c", "humidity_delta_pct", "ramp_ms"});
      Weather w;
      if (!f.has("kind")) f.fail("kind", "is required; use \"heat_wave\" or \"cold_snap\"");
      w.kind = f.choice("kind", "", {"heat_wave", "cold_snap"});
      w.temp.at_ms = f.required_integer("at_ms", 0, INT64_MAX / 4, "3000");
      w.temp.duration_ms = f.required_integer("duration_ms", 1, INT64_MAX / 4, "5000");
      w.temp.ramp_ms = f.integer("ramp_ms", w.temp.duration_ms / 4, 0, w.temp.duration_ms);
      const double delta = f.required_number("delta_c", 0, 60, "12");  // magnitude; the kind gives the sign
      w.temp.delta = w.kind == "heat_wave" ? delta : -delta;
      w.humidity = w.temp;
      // Heat waves here are dry-ish air masses, cold snaps drier still; override per event.
      w.humidity.delta = f.number("humidity_delta_pct", w.kind == "heat_wave" ? -10 : -15, -100, 100);
      events_.push_back(w);
    }
  }

  void start() override {
    const auto t0 = std::chrono::steady_clock::now();
    worker_.start([this, t0] { loop(t0); });
  }
  void stop() override { worker_.stop(); }
  ~ClimateSensor() override { stop(); }

 private:
  void loop(std::chrono::steady_clock::time_point t0) {
    std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(sensor_id_)));
    std::normal_distribution<double> temp_noise(0.0, 1.0), hum_noise(0.0, 1.0);
    for (int64_t sent = 0; count_ == 0 || sent < count_; ++sent) {
      const double t_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      // Coolest at the start of the simulated day, warmest half a day later.
      const double day = -std::cos(2 * citylink::samples::kPi * std::fmod(t_ms, static_cast<double>(day_ms_)) /
                                   static_cast<double>(day_ms_));
      double temp = base_temp_ + swing_ / 2 * day + noise_temp_ * temp_noise(rng);
      double hum = base_hum_ - swing_ * day + noise_hum_ * hum_noise(rng);  // warmer air, lower relative humidity
      std::string active;
      for (const auto& w : events_) {
        const double dt = w.temp.at(t_ms);
        if (dt == 0) continue;
        temp += dt;
        hum += w.humidity.at(t_ms);
        active = w.kind;
      }
      hum = std::clamp(hum, 0.0, 100.0);
      publish("temperature", temp, "degC", active);
      publish("humidity", hum, "%", active);
      if (!worker_.sleep_for(interval_)) return;
    }
  }

  void publish(const std::string& kind, double value, const std::string& unit, const std::string& event) {
    citylink::v1::SensorReading r;
    r.set_sensor_id(sensor_id_);
    r.set_kind(kind);
    r.set_value(std::round(value * 100) / 100);  // the device reports two decimals
    r.set_unit(unit);
    r.mutable_position()->set_lat(lat_);
    r.mutable_position()->set_lon(lon_);
    r.set_zone(zone_);
    r.set_time_unix_ns(citylink::samples::now_unix_ns());
    if (!event.empty()) (*r.mutable_attributes())["event"] = event;
    citylink::samples::publish_or_warn(host_, "sensor.reading", r, {}, {{"kind", kind}});
  }

  citylink::Host host_;
  std::string sensor_id_, zone_;
  std::chrono::milliseconds interval_{1000};
  double base_temp_ = 0, base_hum_ = 0, noise_temp_ = 0, noise_hum_ = 0, swing_ = 0, lat_ = 0, lon_ = 0;
  int64_t day_ms_ = 86400000, count_ = 0;
  std::vector<Weather> events_;
  citylink::samples::Worker worker_;  // last: stops first
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(ClimateSensor)
