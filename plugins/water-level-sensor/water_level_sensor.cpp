// A simulated river/road water-level gauge: publishes a noisy SensorReading every interval.
// Configured events raise the level the way a flash flood does: a smooth rise, a hold at
// the top, a smooth fall back to the base level.
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <random>

#include "sample_support.hpp"

namespace {

using citylink::samples::Episode;
using citylink::samples::Fields;

class WaterLevelSensor : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.water-level-sensor";
    d.name = "Water-level gauge (simulated)";
    d.vendor = "CityLink samples";
    d.version = "1.1.0";
    d.kind = "sensor";
    d.description = "Ultrasonic water-level gauge for flood-prone roads; publishes a reading every interval; "
                    "configured events raise the level (ramp up, hold, ramp down).";
    d.publishes = {"sensor.reading"};
    d.config_schema = R"({"type":"object","properties":{
      "sensor_id":{"type":"string"},"interval_ms":{"type":"integer","minimum":1},
      "base_level_m":{"type":"number"},"noise_m":{"type":"number","minimum":0},
      "lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180},
      "zone":{"type":"string"},"count":{"type":"integer","minimum":0},
      "events":{"type":"array","items":{"type":"object","required":["at_ms","duration_ms","rise_m"],
        "additionalProperties":false,"properties":{"at_ms":{"type":"integer","minimum":0},
        "duration_ms":{"type":"integer","minimum":1},"rise_m":{"type":"number"},
        "ramp_ms":{"type":"integer","minimum":0}}}}},"additionalProperties":false})";
    return d;
  }

  explicit WaterLevelSensor(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"sensor_id", "interval_ms", "base_level_m", "noise_m", "lat", "lon",
                                                 "zone", "count", "events"});
    sensor_id_ = cfg.text("sensor_id", "wl-" + host_.instance_id());
    interval_ = std::chrono::milliseconds(cfg.integer("interval_ms", 1000, 1));
    base_ = cfg.number("base_level_m", 0.2, -100, 100);
    noise_ = cfg.number("noise_m", 0.02, 0, 10);
    lat_ = cfg.number("lat", 37.4979, -90, 90);
    lon_ = cfg.number("lon", 127.0276, -180, 180);
    zone_ = cfg.text("zone", "flood-prone-road");
    count_ = cfg.integer("count", 0, 0);
    for (std::size_t i = 0; i < cfg.array_size("events"); ++i) {
      const auto f = cfg.element("events", i, {"at_ms", "duration_ms", "rise_m", "ramp_ms"});
      Episode e;
      e.at_ms = f.required_integer("at_ms", 0, INT64_MAX / 4, "3000");
      e.duration_ms = f.required_integer("duration_ms", 1, INT64_MAX / 4, "5000");
      e.delta = f.required_number("rise_m", -100, 100, "0.4");
      e.ramp_ms = f.integer("ramp_ms", e.duration_ms / 4, 0, e.duration_ms);
      events_.push_back(e);
    }
  }

  void start() override {
    const auto t0 = std::chrono::steady_clock::now();
    worker_.start([this, t0] { loop(t0); });
  }
  void stop() override { worker_.stop(); }
  ~WaterLevelSensor() override { stop(); }

 private:
  void loop(std::chrono::steady_clock::time_point t0) {
    std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(sensor_id_)));
    std::normal_distribution<double> noise(0.0, noise_);
    for (int64_t sent = 0; count_ == 0 || sent < count_; ++sent) {
      const double t_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      double level = base_ + (noise_ > 0 ? noise(rng) : 0);
      std::string event;
      for (std::size_t i = 0; i < events_.size(); ++i) {
        const double rise = events_[i].at(t_ms);
        level += rise;
        if (rise != 0) event = std::to_string(i);
      }
      citylink::v1::SensorReading r;
      r.set_sensor_id(sensor_id_);
      r.set_kind("water_level");
      r.set_value(std::max(0.0, level));
      r.set_unit("m");
      r.mutable_position()->set_lat(lat_);
      r.mutable_position()->set_lon(lon_);
      r.set_zone(zone_);
      r.set_time_unix_ns(citylink::samples::now_unix_ns());
      if (!event.empty()) (*r.mutable_attributes())["event"] = event;
      citylink::samples::publish_or_warn(host_, "sensor.reading", r, {}, {{"kind", "water_level"}});
      if (!worker_.sleep_for(interval_)) return;
    }
  }

  citylink::Host host_;
  std::string sensor_id_, zone_;
  std::chrono::milliseconds interval_{1000};
  double base_ = 0, noise_ = 0, lat_ = 0, lon_ = 0;
  int64_t count_ = 0;
  std::vector<Episode> events_;
  citylink::samples::Worker worker_;  // last: stops first
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(WaterLevelSensor)
