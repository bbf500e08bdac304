// A fleet of CCTV cameras as a video-management system (VMS) would expose them: each camera
// announces itself (CameraInfo on camera.info), heartbeats its state and pose (CameraStatus
// on camera.status), turns when a PtzCommand for one of its PTZ cameras arrives on
// camera.ptz, and can go offline on a configured schedule.
//
// Cameras come from an explicit list, a CSV file of positions, a generated street grid,
// or any mix of the three.
#include <citylink/plugin.hpp>
#include <citylink/v1/camera.pb.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sample_support.hpp"

namespace {

using citylink::samples::Fields;
using citylink::samples::num;
using citylink::v1::CameraInfo;
using citylink::v1::CameraState;
using Clock = std::chrono::steady_clock;

struct Camera {
  CameraInfo info;  // as announced; heading_deg follows PTZ moves
  double zoom = 1.0;
  bool offline = false;
};

// A scheduled outage: the camera is offline from at_ms until until_ms (0 = for good).
struct Outage {
  std::string camera_id, detail;
  int64_t at_ms = 0, until_ms = 0;
};

struct Defaults {
  std::string stream_base, owner, purpose;
  double fov_deg = 90, range_m = 80;
};

// Splits one CSV line; double quotes protect commas ("Gangnam-daero, north").
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else if (c != '\r') out.back() += c;
  }
  for (auto& f : out) {  // trim
    f.erase(0, f.find_first_not_of(" \t"));
    f.erase(f.find_last_not_of(" \t") + 1);
  }
  return out;
}

class CameraFleet : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.samples.camera-fleet";
    d.name = "CCTV camera fleet (simulated VMS)";
    d.vendor = "CityLink samples";
    d.version = "1.0.0";
    d.kind = "camera";
    d.description = "CCTV cameras from a list, a CSV of positions or a street grid: announces CameraInfo, heartbeats "
                    "CameraStatus, executes PtzCommands for its PTZ cameras, goes offline on schedule.";
    d.publishes = {"camera.info", "camera.status"};
    d.subscribes = {"camera.ptz"};
    d.config_schema = R"({"type":"object","additionalProperties":false,"properties":{
      "cameras":{"type":"array","items":{"type":"object","required":["camera_id","lat","lon"],"properties":{
        "camera_id":{"type":"string"},"name":{"type":"string"},"lat":{"type":"number","minimum":-90,"maximum":90},
        "lon":{"type":"number","minimum":-180,"maximum":180},"heading_deg":{"type":"number"},
        "fov_deg":{"type":"number","exclusiveMinimum":0,"maximum":360},"range_m":{"type":"number","exclusiveMinimum":0},
        "ptz":{"type":"boolean"},"stream_uri":{"type":"string"},"owner":{"type":"string"},"purpose":{"type":"string"}}}},
      "csv":{"type":"string","description":"columns camera_id,name,lat,lon,heading_deg,fov_deg,range_m,ptz,stream_uri"},
      "grid":{"type":"object","required":["origin_lat","origin_lon","rows","cols","spacing_m"],"properties":{
        "origin_lat":{"type":"number"},"origin_lon":{"type":"number"},"rows":{"type":"integer","minimum":1},
        "cols":{"type":"integer","minimum":1},"spacing_m":{"type":"number","exclusiveMinimum":0},
        "heading_pattern":{"enum":["north","east","south","west","cycle","alternate"]},
        "fov_deg":{"type":"number"},"range_m":{"type":"number"},"ptz_every":{"type":"integer","minimum":0},
        "id_prefix":{"type":"string"}}},
      "announce_interval_ms":{"type":"integer","minimum":0},"heartbeat_ms":{"type":"integer","minimum":1},
      "stream_base":{"type":"string"},"owner":{"type":"string"},"purpose":{"type":"string"},
      "fov_deg":{"type":"number"},"range_m":{"type":"number"},
      "offline":{"type":"array","items":{"type":"object","required":["camera_id","at_ms"],"properties":{
        "camera_id":{"type":"string"},"at_ms":{"type":"integer","minimum":0},"until_ms":{"type":"integer","minimum":0},
        "detail":{"type":"string"}}}}}})";
    return d;
  }

  explicit CameraFleet(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg = Fields::parse(ctx, {"cameras", "csv", "grid", "announce_interval_ms", "heartbeat_ms",
                                            "stream_base", "owner", "purpose", "fov_deg", "range_m", "offline"});
    announce_every_ = std::chrono::milliseconds(cfg.integer("announce_interval_ms", 30000, 0));
    heartbeat_every_ = std::chrono::milliseconds(cfg.integer("heartbeat_ms", 5000, 1));
    Defaults def;
    def.stream_base = cfg.text("stream_base", "rtsp://vms.example.city/");
    def.owner = cfg.text("owner", "city-cctv-centre");
    def.purpose = cfg.text("purpose", "crime-prevention");
    def.fov_deg = cfg.number("fov_deg", 90, 1, 360);
    def.range_m = cfg.number("range_m", 80, 1, 5000);

    for (std::size_t i = 0; i < cfg.array_size("cameras"); ++i) add(from_config(cfg, i, def), cfg.name("cameras"));
    if (cfg.has("csv")) load_csv(cfg.required_text("csv", "cameras.csv"), def);
    if (cfg.has("grid")) make_grid(cfg.object("grid", {"origin_lat", "origin_lon", "rows", "cols", "spacing_m",
                                                       "heading_pattern", "fov_deg", "range_m", "ptz_every",
                                                       "id_prefix"}), def);
    if (cameras_.empty())
      throw citylink::ConfigError("no cameras configured; give `cameras` (a list), `csv` (a file of positions) or "
                                  "`grid` ({origin_lat, origin_lon, rows, cols, spacing_m})");

    for (std::size_t i = 0; i < cfg.array_size("offline"); ++i) {
      const auto f = cfg.element("offline", i, {"camera_id", "at_ms", "until_ms", "detail"});
      Outage o{f.required_text("camera_id", "CAM-001"), f.text("detail", "no video signal"),
               f.integer("at_ms", 0, 0), f.integer("until_ms", 0, 0)};
      if (!index_.count(o.camera_id))
        f.fail("camera_id", "'" + o.camera_id + "' is not one of this fleet's cameras");
      if (o.until_ms && o.until_ms <= o.at_ms) f.fail("until_ms", "must be after at_ms, or 0 for an outage that lasts");
      outages_.push_back(o);
    }
  }

  void start() override {
    const auto t0 = Clock::now();
    worker_.start([this, t0] { run(t0); });
  }
  void stop() override { worker_.stop(); }
  ~CameraFleet() override { stop(); }

  void on_message(const citylink::Message& m) override {
    const auto cmd = m.payload<citylink::v1::PtzCommand>();
    if (!cmd) return;
    citylink::v1::CameraStatus st;
    std::string outcome;
    {
      std::lock_guard lk(mu_);
      const auto it = index_.find(cmd->camera_id());
      if (it == index_.end()) return;  // another fleet's camera
      Camera& cam = cameras_[it->second];
      if (!cam.info.ptz_capable()) {
        outcome = "ptz refused: fixed camera";
      } else if (cam.offline) {
        outcome = "ptz refused: camera offline";
      } else {
        const auto& p = cam.info.position();
        const bool look = cmd->has_look_at() && (cmd->look_at().lat() != 0 || cmd->look_at().lon() != 0);
        const double heading = look ? citylink::samples::bearing_deg(p.lat(), p.lon(), cmd->look_at().lat(),
                                                                      cmd->look_at().lon())
                                    : citylink::samples::normalize_deg(cmd->pan_deg());
        if (!std::isfinite(heading)) {
          outcome = "ptz refused: pan/look_at not a number";
        } else {
          cam.info.set_heading_deg(heading);
          if (cmd->zoom() > 0 && std::isfinite(cmd->zoom())) cam.zoom = std::min(cmd->zoom(), 30.0);
          outcome = "ptz: turned to " + num(heading) + " deg" + (look ? " to look at target" : "") +
                    (cmd->reason().empty() ? "" : " (" + cmd->reason() + ")");
        }
      }
      st = status_of(cam, outcome);
    }
    if (outcome.rfind("ptz refused", 0) == 0) host_.warn(cmd->camera_id() + ": " + outcome);
    publish_status(st, "ptz", m.envelope().correlation_id());
  }

 private:
  // --- configuration -------------------------------------------------------------------
  static Camera make(const std::string& id, const std::string& name, double lat, double lon, double heading,
                     double fov, double range, bool ptz, const std::string& uri, const Defaults& def) {
    Camera c;
    auto& i = c.info;
    i.set_camera_id(id);
    i.set_name(name.empty() ? id : name);
    i.mutable_position()->set_lat(lat);
    i.mutable_position()->set_lon(lon);
    i.set_heading_deg(citylink::samples::normalize_deg(heading));
    i.set_field_of_view_deg(fov);
    i.set_range_m(range);
    i.set_ptz_capable(ptz);
    i.set_stream_uri(uri.empty() ? def.stream_base + id : uri);
    i.set_owner(def.owner);
    i.set_purpose(def.purpose);
    i.set_status(citylink::v1::CAMERA_STATE_ONLINE);
    return c;
  }

  static Camera from_config(const Fields& cfg, std::size_t i, const Defaults& def) {
    const auto f = cfg.element("cameras", i, {"camera_id", "name", "lat", "lon", "heading_deg", "fov_deg", "range_m",
                                              "ptz", "stream_uri", "owner", "purpose"});
    Camera c = make(f.required_text("camera_id", "CAM-001"), f.text("name", ""), f.lat(), f.lon(),
                    f.number("heading_deg", 0, -360, 360), f.number("fov_deg", def.fov_deg, 1, 360),
                    f.number("range_m", def.range_m, 1, 5000), f.flag("ptz", false), f.text("stream_uri", ""), def);
    if (f.has("owner")) c.info.set_owner(f.text("owner", ""));
    if (f.has("purpose")) c.info.set_purpose(f.text("purpose", ""));
    return c;
  }

  void add(Camera c, const std::string& from) {
    const auto& id = c.info.camera_id();
    if (!index_.emplace(id, cameras_.size()).second)
      throw citylink::ConfigError(from + ": camera_id '" + id + "' appears twice; camera ids must be unique");
    cameras_.push_back(std::move(c));
  }

  void load_csv(const std::string& path, const Defaults& def) {
    std::ifstream in(path);
    if (!in) throw citylink::ConfigError("field 'csv': cannot read '" + path + "'; give the path of a CSV file with "
                                         "columns camera_id,name,lat,lon,heading_deg,fov_deg,range_m,ptz,stream_uri");
    std::string line;
    std::map<std::string, std::size_t> col;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
      const auto f = csv_fields(line);
      const std::string where = "csv '" + path + "' line " + std::to_string(n);
      if (col.empty()) {  // the header
        for (std::size_t i = 0; i < f.size(); ++i) col[f[i]] = i;
        for (const char* need : {"camera_id", "lat", "lon"})
          if (!col.count(need))
            throw citylink::ConfigError(where + ": the header has no '" + need + "' column; the first line must name "
                                        "the columns, e.g. camera_id,name,lat,lon,heading_deg,fov_deg,range_m,ptz,stream_uri");
        continue;
      }
      auto get = [&](const char* c) -> std::string {
        const auto it = col.find(c);
        return it == col.end() || it->second >= f.size() ? "" : f[it->second];
      };
      auto number = [&](const char* c, double fallback, double lo, double hi) {
        const auto s = get(c);
        if (s.empty()) return fallback;
        std::size_t used = 0;
        double v = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != s.size() || !std::isfinite(v) || v < lo || v > hi)
          throw citylink::ConfigError(where + ": column '" + c + "' is '" + s + "'; it must be a number between " +
                                      num(lo, 0) + " and " + num(hi, 0));
        return v;
      };
      const auto id = get("camera_id");
      if (id.empty()) throw citylink::ConfigError(where + ": column 'camera_id' is empty; every camera needs an id");
      if (get("lat").empty() || get("lon").empty())
        throw citylink::ConfigError(where + ": camera '" + id + "' has no lat/lon; fill both columns");
      const auto ptz = get("ptz");
      if (!ptz.empty() && ptz != "true" && ptz != "false" && ptz != "1" && ptz != "0" && ptz != "yes" && ptz != "no")
        throw citylink::ConfigError(where + ": column 'ptz' is '" + ptz + "'; use true/false, 1/0 or yes/no");
      add(make(id, get("name"), number("lat", 0, -90, 90), number("lon", 0, -180, 180),
               number("heading_deg", 0, -360, 360), number("fov_deg", def.fov_deg, 1, 360),
               number("range_m", def.range_m, 1, 5000), ptz == "true" || ptz == "1" || ptz == "yes", get("stream_uri"),
               def),
          where);
    }
    if (col.empty()) throw citylink::ConfigError("field 'csv': '" + path + "' is empty; it needs a header and rows");
  }

  void make_grid(const Fields& g, const Defaults& def) {
    const double lat0 = g.lat("origin_lat"), lon0 = g.lon("origin_lon");
    const auto rows = g.required_integer("rows", 1, 1000, "10"), cols = g.required_integer("cols", 1, 1000, "20");
    const double spacing = g.required_number("spacing_m", 1, 10000, "100");
    const auto pattern = g.choice("heading_pattern", "cycle", {"north", "east", "south", "west", "cycle", "alternate"});
    const double fov = g.number("fov_deg", def.fov_deg, 1, 360), range = g.number("range_m", def.range_m, 1, 5000);
    const auto ptz_every = g.integer("ptz_every", 0, 0);
    const auto prefix = g.text("id_prefix", "GRID");
    if (rows * cols > 100000) g.fail("rows", "rows x cols is more than 100000 cameras; make the grid smaller");
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t n = r * cols + c;
        double heading = 0;
        if (pattern == "east") heading = 90;
        else if (pattern == "south") heading = 180;
        else if (pattern == "west") heading = 270;
        else if (pattern == "cycle") heading = 90.0 * static_cast<double>(n % 4);  // N, E, S, W around the block
        else if (pattern == "alternate") heading = r % 2 == 0 ? 90 : 270;          // along the street, both ways
        const auto [lat, lon] = citylink::samples::offset_m(lat0, lon0, static_cast<double>(r) * spacing,
                                                            static_cast<double>(c) * spacing);
        char id[64];
        std::snprintf(id, sizeof id, "%s-R%02lldC%02lld", prefix.c_str(), static_cast<long long>(r),
                      static_cast<long long>(c));
        add(make(id, prefix + " street " + std::to_string(r + 1) + " / avenue " + std::to_string(c + 1), lat, lon,
                 heading, fov, range, ptz_every > 0 && n % ptz_every == 0, "", def),
            g.name("grid"));
      }
    }
  }

  // --- running -------------------------------------------------------------------------
  citylink::v1::CameraStatus status_of(const Camera& c, const std::string& detail) const {
    citylink::v1::CameraStatus st;
    st.set_camera_id(c.info.camera_id());
    st.set_status(c.offline ? citylink::v1::CAMERA_STATE_OFFLINE : citylink::v1::CAMERA_STATE_ONLINE);
    st.set_time_unix_ns(citylink::samples::now_unix_ns());
    st.set_heading_deg(c.info.heading_deg());
    st.set_zoom(c.zoom);
    st.set_detail(detail);
    return st;
  }

  void publish_status(const citylink::v1::CameraStatus& st, const std::string& reason, const std::string& corr = {}) {
    const std::string state = st.status() == citylink::v1::CAMERA_STATE_OFFLINE ? "OFFLINE" : "ONLINE";
    citylink::samples::publish_or_warn(host_, "camera.status", st, corr,
                                       {{"camera_id", st.camera_id()}, {"status", state}, {"reason", reason},
                                        {"heading_deg", num(st.heading_deg())}});
  }

  void announce() {
    std::vector<CameraInfo> infos;
    {
      std::lock_guard lk(mu_);
      for (const auto& c : cameras_) infos.push_back(c.info);
    }
    for (const auto& i : infos) {
      const std::string state = i.status() == citylink::v1::CAMERA_STATE_OFFLINE ? "OFFLINE" : "ONLINE";
      citylink::samples::publish_or_warn(host_, "camera.info", i, {}, {{"camera_id", i.camera_id()}, {"status", state}});
    }
  }

  void heartbeat() {
    std::vector<citylink::v1::CameraStatus> all;
    {
      std::lock_guard lk(mu_);
      for (const auto& c : cameras_) all.push_back(status_of(c, c.offline ? offline_detail_[c.info.camera_id()] : "ok"));
    }
    for (const auto& st : all) publish_status(st, "heartbeat");
  }

  // Applies outages whose start or end has come; publishes each change at once.
  void apply_outages(int64_t elapsed_ms) {
    std::vector<citylink::v1::CameraStatus> changes;
    {
      std::lock_guard lk(mu_);
      std::map<std::string, std::string> down;  // camera -> detail, for cameras that should be offline now
      for (const auto& o : outages_)
        if (elapsed_ms >= o.at_ms && (o.until_ms == 0 || elapsed_ms < o.until_ms)) down[o.camera_id] = o.detail;
      for (auto& c : cameras_) {
        const auto it = down.find(c.info.camera_id());
        const bool off = it != down.end();
        if (off == c.offline) continue;
        c.offline = off;
        c.info.set_status(off ? citylink::v1::CAMERA_STATE_OFFLINE : citylink::v1::CAMERA_STATE_ONLINE);
        if (off) offline_detail_[c.info.camera_id()] = it->second;
        changes.push_back(status_of(c, off ? it->second : "back online"));
      }
    }
    for (const auto& st : changes) {
      host_.info(st.camera_id() + " is now " + (st.status() == citylink::v1::CAMERA_STATE_OFFLINE ? "OFFLINE" : "ONLINE") +
                 ": " + st.detail());
      publish_status(st, st.status() == citylink::v1::CAMERA_STATE_OFFLINE ? "offline" : "online");
    }
  }

  // Milliseconds after start of the next outage start or end after `elapsed_ms`, or -1.
  int64_t next_outage_change(int64_t elapsed_ms) const {
    int64_t next = -1;
    for (const auto& o : outages_)
      for (int64_t t : {o.at_ms, o.until_ms})
        if (t > elapsed_ms && (next < 0 || t < next)) next = t;
    return next;
  }

  void run(Clock::time_point t0) {
    host_.info("camera fleet of " + std::to_string(cameras_.size()) + " cameras starting");
    auto next_announce = t0, next_heartbeat = t0 + heartbeat_every_;
    while (true) {
      const auto now = Clock::now();
      const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - t0).count();
      apply_outages(elapsed);
      if (now >= next_announce) {
        announce();
        next_announce = announce_every_.count() > 0 ? now + announce_every_ : now + std::chrono::hours(24 * 365);
      }
      if (now >= next_heartbeat) {
        heartbeat();
        next_heartbeat = now + heartbeat_every_;
      }
      auto wake = std::min(next_announce, next_heartbeat);
      if (const auto o = next_outage_change(elapsed); o >= 0) wake = std::min(wake, t0 + std::chrono::milliseconds(o));
      if (!worker_.sleep_until(wake)) return;
    }
  }

  citylink::Host host_;
  std::chrono::milliseconds announce_every_{30000}, heartbeat_every_{5000};
  std::mutex mu_;  // cameras_ and offline_detail_: the worker and on_message both touch them
  std::vector<Camera> cameras_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> offline_detail_;
  std::vector<Outage> outages_;
  citylink::samples::Worker worker_;  // last: stops first
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(CameraFleet)
