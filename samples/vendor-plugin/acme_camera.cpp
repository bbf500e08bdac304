// ACME street cameras: a vendor's C++ camera product as a CityLink plugin, built against the
// installed SDK only (see CMakeLists.txt). Announces its cameras (CameraInfo on camera.info)
// from its own thread, every `announce_interval_ms`, between start and stop.
#include <citylink/plugin.hpp>
#include <citylink/v1/camera.pb.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

class AcmeCamera : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "com.example.acme.street-camera";
    d.name = "ACME street cameras";
    d.vendor = "ACME Vision Co.";
    d.version = "1.0.0";
    d.kind = CITYLINK_KIND_CAMERA;
    d.description = "Announces ACME street cameras (CameraInfo) on camera.info at a fixed interval.";
    d.publishes = {CITYLINK_TOPIC_CAMERA_INFO};
    d.config_schema = R"({"type":"object","additionalProperties":false,"properties":{
      "announce_interval_ms":{"type":"integer","minimum":10},"site":{"type":"string","minLength":1}}})";
    return d;
  }

  explicit AcmeCamera(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = nlohmann::json::parse(ctx.config_json(), nullptr, /*allow_exceptions=*/false);
    if (!cfg.is_object()) throw citylink::ConfigError("config must be a JSON object");
    for (const auto& [key, value] : cfg.items()) {
      if (key == "announce_interval_ms" && value.is_number_integer() && value.get<int64_t>() >= 10)
        interval_ = std::chrono::milliseconds(value.get<int64_t>());
      else if (key == "site" && value.is_string() && !value.get<std::string>().empty())
        site_ = value.get<std::string>();
      else
        throw citylink::ConfigError("config field '" + key + "' is unknown or invalid; known: announce_interval_ms "
                                    "(integer >= 10), site (non-empty string)");
    }
    cameras_.push_back(camera("ACME-001", "Main gate", 37.5665, 126.9780, 90, false));
    cameras_.push_back(camera("ACME-002", "Market crossing", 37.5670, 126.9790, 200, true));
  }

  void start() override {
    std::lock_guard lk(mu_);
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
  }

  // Idempotent: the destructor calls it too. When it returns, nothing publishes any more.
  void stop() override {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  ~AcmeCamera() override { stop(); }

 private:
  citylink::v1::CameraInfo camera(const char* id, const char* name, double lat, double lon, double heading,
                                  bool ptz) const {
    citylink::v1::CameraInfo c;
    c.set_camera_id(id);
    c.set_name(site_ + " " + name);
    c.mutable_position()->set_lat(lat);
    c.mutable_position()->set_lon(lon);
    c.set_heading_deg(heading);
    c.set_field_of_view_deg(90);
    c.set_range_m(60);
    c.set_ptz_capable(ptz);
    c.set_stream_uri(std::string("rtsp://cameras.acme.example/") + id);
    c.set_status(citylink::v1::CAMERA_STATE_ONLINE);
    c.set_owner("ACME Vision Co.");
    c.set_purpose("crime-prevention");
    return c;
  }

  void run() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      lk.unlock();
      for (const auto& c : cameras_) {
        std::string why;
        if (host_.publish(CITYLINK_TOPIC_CAMERA_INFO, c, {}, {{"camera_id", c.camera_id()}}, &why) != CITYLINK_OK)
          host_.warn("camera.info for " + c.camera_id() + " not published: " + why);
      }
      lk.lock();
      wake_.wait_for(lk, interval_, [this] { return stopping_; });
    }
  }

  citylink::Host host_;
  std::chrono::milliseconds interval_{5000};
  std::string site_ = "Seoul City Hall";
  std::vector<citylink::v1::CameraInfo> cameras_;  // read-only once constructed
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(AcmeCamera)
