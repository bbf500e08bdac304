// A simulated river/road water-level gauge: publishes a noisy SensorReading every interval.
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace {

class WaterLevelSensor : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.water-level-sensor";
    d.name = "Water-level gauge (simulated)";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "sensor";
    d.description = "Ultrasonic water-level gauge for flood-prone roads; publishes a reading every interval.";
    d.publishes = {"sensor.reading"};
    d.config_schema = R"({"type":"object","properties":{
      "sensor_id":{"type":"string"},"interval_ms":{"type":"integer","minimum":1},
      "base_level_m":{"type":"number"},"noise_m":{"type":"number","minimum":0},
      "lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180},
      "zone":{"type":"string"},"count":{"type":"integer","minimum":0}},"additionalProperties":false})";
    return d;
  }

  WaterLevelSensor(citylink::Host host, const std::string& config_json) : host_(host) {
    const auto cfg = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions*/ false);
    if (!cfg.is_object()) throw citylink::ConfigError("config must be a JSON object");
    for (const auto& [key, value] : cfg.items()) {
      (void)value;
      static const char* known[] = {"sensor_id", "interval_ms", "base_level_m", "noise_m", "lat", "lon", "zone", "count"};
      if (std::find(std::begin(known), std::end(known), key) == std::end(known))
        throw citylink::ConfigError("unknown config field '" + key +
                                    "'; known: sensor_id, interval_ms, base_level_m, noise_m, lat, lon, zone, count");
    }
    sensor_id_ = cfg.value("sensor_id", "wl-" + host_.instance_id());
    interval_ = std::chrono::milliseconds(cfg.value("interval_ms", 1000));
    if (interval_.count() <= 0) throw citylink::ConfigError("interval_ms must be at least 1");
    base_ = cfg.value("base_level_m", 0.2);
    noise_ = cfg.value("noise_m", 0.02);
    lat_ = cfg.value("lat", 37.4979);
    lon_ = cfg.value("lon", 127.0276);
    if (lat_ < -90 || lat_ > 90 || lon_ < -180 || lon_ > 180)
      throw citylink::ConfigError("lat/lon must be WGS84 degrees (lat -90..90, lon -180..180)");
    zone_ = cfg.value("zone", "flood-prone-road");
    count_ = cfg.value("count", 0);
  }

  void start() override {
    running_ = true;
    thread_ = std::thread([this] { loop(); });
  }

  void stop() override {
    {
      std::lock_guard lk(mu_);
      running_ = false;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  ~WaterLevelSensor() override { stop(); }

 private:
  void loop() {
    std::mt19937 rng(std::hash<std::string>{}(sensor_id_));
    std::normal_distribution<double> noise(0.0, noise_);
    int sent = 0;
    std::unique_lock lk(mu_);
    while (running_ && (count_ == 0 || sent < count_)) {
      lk.unlock();
      citylink::v1::SensorReading r;
      r.set_sensor_id(sensor_id_);
      r.set_kind("water_level");
      r.set_value(std::max(0.0, base_ + noise(rng)));
      r.set_unit("m");
      r.mutable_position()->set_lat(lat_);
      r.mutable_position()->set_lon(lon_);
      r.set_zone(zone_);
      r.set_time_unix_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count());
      std::string why;
      if (host_.publish("sensor.reading", r, {}, {}, &why) != CITYLINK_OK) host_.warn("reading not published: " + why);
      ++sent;
      lk.lock();
      cv_.wait_for(lk, interval_, [this] { return !running_; });
    }
  }

  citylink::Host host_;
  std::string sensor_id_, zone_;
  std::chrono::milliseconds interval_{1000};
  double base_ = 0, noise_ = 0, lat_ = 0, lon_ = 0;
  int count_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(WaterLevelSensor)
