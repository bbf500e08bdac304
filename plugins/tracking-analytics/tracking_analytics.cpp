// An intelligent-CCTV analytics server following one target (a person or a vehicle) along
// a route through the street grid. It learns the camera layout from camera.info (and the
// current pose and state from camera.status), and while the target is inside a camera's
// view (within range and field of view) it emits a Detection on analytics.detection and a
// TrackingInfo on analytics.tracking; when another camera takes over, handed_over_from
// names the camera that saw the target before. Next-camera prediction is the host's job.
#include <citylink/plugin.hpp>
#include <citylink/v1/analytics.pb.h>
#include <citylink/v1/camera.pb.h>

#include "sample_support.hpp"

namespace {

using citylink::samples::Fields;
namespace geo = citylink::samples;

struct Cam {
  double lat = 0, lon = 0, heading = 0, fov = 90, range = 80;
  bool online = true;
};

struct Waypoint {
  double lat = 0, lon = 0;
  double from_start_m = 0;  // route distance from the first waypoint
};

class TrackingAnalytics : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.tracking-analytics";
    d.name = "Intelligent-CCTV tracking analytics (simulated)";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "analytics";
    d.description = "Follows a person or vehicle along configured waypoints; emits Detection and TrackingInfo while "
                    "it is in a camera's view, with handover between cameras. Learns cameras from camera.info.";
    d.publishes = {"analytics.detection", "analytics.tracking"};
    d.subscribes = {"camera.info", "camera.status"};
    d.config_schema = R"({"type":"object","required":["waypoints"],"additionalProperties":false,"properties":{
      "track_id":{"type":"string"},"target_class":{"enum":["person","vehicle"]},
      "appearance":{"type":"object","additionalProperties":{"type":"string"}},
      "waypoints":{"type":"array","minItems":2,"items":{"type":"object","required":["lat","lon"],
        "properties":{"lat":{"type":"number","minimum":-90,"maximum":90},"lon":{"type":"number","minimum":-180,"maximum":180}}}},
      "speed_mps":{"type":"number","exclusiveMinimum":0},"tick_ms":{"type":"integer","minimum":1},
      "time_scale":{"type":"number","exclusiveMinimum":0},"start_at_ms":{"type":"integer","minimum":0},
      "loop":{"type":"boolean"},"incident_id":{"type":"string"},"confidence":{"type":"number","minimum":0,"maximum":1}}})";
    return d;
  }

  explicit TrackingAnalytics(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"track_id", "target_class", "appearance", "waypoints", "speed_mps",
                                            "tick_ms", "time_scale", "start_at_ms", "loop", "incident_id",
                                            "confidence"});
    track_id_ = cfg.text("track_id", "T-" + host_.instance_id());
    if (track_id_.empty()) cfg.fail("track_id", "must not be empty; e.g. \"track_id\": \"T-1\"");
    target_class_ = cfg.choice("target_class", "person", {"person", "vehicle"});
    appearance_ = cfg.string_map("appearance");
    speed_ = cfg.number("speed_mps", target_class_ == "person" ? 1.4 : 8.3, 0.01, 100);
    tick_ = std::chrono::milliseconds(cfg.integer("tick_ms", 500, 1, 60000));
    time_scale_ = cfg.number("time_scale", 1, 0.001, 100000);
    start_at_ = std::chrono::milliseconds(cfg.integer("start_at_ms", 0, 0));
    loop_ = cfg.flag("loop", false);
    incident_id_ = cfg.text("incident_id", "");
    confidence_ = cfg.number("confidence", 0.92, 0, 1);
    const auto n = cfg.array_size("waypoints");
    if (n < 2)
      cfg.fail("waypoints", "needs at least two points of the route, e.g. [{\"lat\": 37.5, \"lon\": 127.0}, "
                            "{\"lat\": 37.501, \"lon\": 127.0}]");
    for (std::size_t i = 0; i < n; ++i) {
      const auto f = cfg.element("waypoints", i, {"lat", "lon"});
      Waypoint w{f.lat(), f.lon(), 0};
      if (!route_.empty())
        w.from_start_m = route_.back().from_start_m + geo::distance_m(route_.back().lat, route_.back().lon, w.lat, w.lon);
      route_.push_back(w);
    }
    if (route_.back().from_start_m < 1)
      cfg.fail("waypoints", "the route is shorter than 1 m; give waypoints that are apart");
  }

  void start() override {
    worker_.start([this] { run(); });
  }
  void stop() override { worker_.stop(); }
  ~TrackingAnalytics() override { stop(); }

  void on_message(const citylink::Message& m) override {
    if (auto info = m.payload<citylink::v1::CameraInfo>()) {
      if (info->camera_id().empty()) return;
      std::lock_guard lk(mu_);
      Cam& c = cams_[info->camera_id()];
      c.lat = info->position().lat();
      c.lon = info->position().lon();
      c.heading = info->heading_deg();
      c.fov = info->field_of_view_deg() > 0 ? info->field_of_view_deg() : 90;
      c.range = info->range_m() > 0 ? info->range_m() : 80;
      c.online = info->status() != citylink::v1::CAMERA_STATE_OFFLINE;
    } else if (auto st = m.payload<citylink::v1::CameraStatus>()) {
      std::lock_guard lk(mu_);
      const auto it = cams_.find(st->camera_id());
      if (it == cams_.end()) return;  // not announced yet; its camera.info will follow
      it->second.online = st->status() != citylink::v1::CAMERA_STATE_OFFLINE;
      if (st->status() != citylink::v1::CAMERA_STATE_OFFLINE && std::isfinite(st->heading_deg()))
        it->second.heading = st->heading_deg();  // pose after a PTZ move
    }
  }

 private:
  // Where the target is after `d` metres along the route, and its direction of travel.
  void position_at(double d, double& lat, double& lon, double& heading) const {
    std::size_t i = 1;
    while (i + 1 < route_.size() && route_[i].from_start_m < d) ++i;
    const auto &a = route_[i - 1], &b = route_[i];
    const double seg = b.from_start_m - a.from_start_m;
    const double t = seg > 0 ? std::clamp((d - a.from_start_m) / seg, 0.0, 1.0) : 1.0;
    std::tie(lat, lon) = geo::lerp(a.lat, a.lon, b.lat, b.lon, t);
    heading = geo::bearing_deg(a.lat, a.lon, b.lat, b.lon);
  }

  // The camera that sees (lat, lon): the current one while it still does, else the nearest.
  std::string camera_seeing(double lat, double lon, double& distance) {
    std::lock_guard lk(mu_);
    std::string best;
    double best_d = 0;
    for (const auto& [id, c] : cams_) {
      if (!c.online || !geo::in_view(c.lat, c.lon, c.heading, c.fov, c.range, lat, lon)) continue;
      const double d = geo::distance_m(c.lat, c.lon, lat, lon);
      if (id == current_) {
        distance = d;
        return id;
      }
      if (best.empty() || d < best_d) best = id, best_d = d;
    }
    distance = best_d;
    return best;
  }

  void run() {
    if (!worker_.sleep_for(start_at_)) return;
    const double total = route_.back().from_start_m;
    const auto t0 = std::chrono::steady_clock::now();
    host_.info("tracking " + target_class_ + " " + track_id_ + " along " + geo::num(total, 0) + " m at " +
               geo::num(speed_) + " m/s" + (incident_id_.empty() ? "" : " for incident " + incident_id_));
    for (uint64_t seq = 1;; ++seq) {
      const double sim_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * time_scale_;
      double along = speed_ * sim_s;
      const bool done = along >= total && !loop_;
      if (loop_) along = std::fmod(along, total);
      double lat = 0, lon = 0, heading = 0;
      position_at(std::min(along, total), lat, lon, heading);
      observe(seq, lat, lon, heading);
      if (done) {
        host_.info(track_id_ + " reached the end of its route");
        return;
      }
      if (!worker_.sleep_for(tick_)) return;
    }
  }

  void observe(uint64_t seq, double lat, double lon, double heading) {
    double dist = 0;
    const std::string cam = camera_seeing(lat, lon, dist);
    if (cam.empty()) {
      if (!current_.empty()) host_.info(track_id_ + " left the view of " + current_);
      if (!current_.empty()) last_seen_by_ = current_;
      current_.clear();
      return;
    }
    std::string from;
    if (cam != current_) {
      const std::string before = current_.empty() ? last_seen_by_ : current_;
      if (before != cam) from = before;
      host_.info(track_id_ + " now seen by " + cam + (from.empty() ? "" : " (handed over from " + from + ")"));
      current_ = cam;
      last_seen_by_ = cam;
    }
    const int64_t now = geo::now_unix_ns();
    double range = 80;
    {
      std::lock_guard lk(mu_);
      range = cams_[cam].range;
    }
    const double conf = std::round(confidence_ * (1.0 - 0.3 * std::min(1.0, dist / range)) * 1000) / 1000;

    citylink::v1::Detection det;
    det.set_detection_id(track_id_ + "-" + std::to_string(seq));
    det.set_camera_id(cam);
    det.set_target_class(target_class_);
    det.set_confidence(conf);
    det.mutable_position()->set_lat(lat);
    det.mutable_position()->set_lon(lon);
    det.set_time_unix_ns(now);
    for (const auto& [k, v] : appearance_) (*det.mutable_attributes())[k] = v;
    det.set_track_id(track_id_);

    citylink::v1::TrackingInfo t;
    t.set_track_id(track_id_);
    t.set_target_class(target_class_);
    for (const auto& [k, v] : appearance_) (*t.mutable_appearance())[k] = v;
    t.set_camera_id(cam);
    *t.mutable_position() = det.position();
    t.set_heading_deg(heading);
    t.set_speed_mps(speed_);
    t.set_time_unix_ns(now);
    t.set_handed_over_from(from);
    t.set_incident_id(incident_id_);
    t.set_confidence(conf);

    std::map<std::string, std::string> attrs = {{"camera_id", cam}, {"track_id", track_id_}};
    geo::publish_or_warn(host_, "analytics.detection", det, incident_id_, attrs);
    if (!from.empty()) attrs["handed_over_from"] = from;
    geo::publish_or_warn(host_, "analytics.tracking", t, incident_id_, attrs);
  }

  citylink::Host host_;
  std::string track_id_, target_class_, incident_id_;
  std::map<std::string, std::string> appearance_;
  double speed_ = 1.4, time_scale_ = 1, confidence_ = 0.92;
  std::chrono::milliseconds tick_{500}, start_at_{0};
  bool loop_ = false;
  std::vector<Waypoint> route_;
  std::mutex mu_;                        // cams_: on_message writes, the worker reads
  std::map<std::string, Cam> cams_;
  std::string current_, last_seen_by_;  // worker thread only
  citylink::samples::Worker worker_;     // last: stops first
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(TrackingAnalytics)
