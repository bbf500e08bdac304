// sample_support.hpp — small helpers the CityLink sample plugins share: strict config
// fields with messages that name the field and the fix, a worker thread with an
// interruptible sleep, wall-clock time and a little spherical geometry.
//
// Header-only and SDK-only (citylink/plugin.hpp + nlohmann::json), so a vendor can copy it.
#pragma once

#include <citylink/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace citylink::samples {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------
// Config fields

// Levenshtein distance, for "did you mean" on unknown fields.
inline std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// One JSON object of the config (the whole config, or an element like events[2]).
// Every accessor checks the type and range and throws ConfigError "field 'x': ...; fix".
class Fields {
 public:
  // The instance config text: must be an object with only the `known` keys.
  static Fields parse(const std::string& text, std::initializer_list<const char*> known) {
    const auto j = json::parse(text, nullptr, /*allow_exceptions*/ false);
    if (!j.is_object()) throw ConfigError("config must be a JSON object, e.g. {}");
    return Fields(j, "", known);
  }
  // The same, straight from the context a plugin constructor receives.
  static Fields parse(const InstanceContext& ctx, std::initializer_list<const char*> known) {
    return parse(ctx.config_json(), known);
  }

  Fields(json j, std::string where, std::initializer_list<const char*> known)
      : j_(std::move(j)), where_(std::move(where)) {
    if (!j_.is_object()) throw ConfigError((where_.empty() ? "config" : "field '" + where_ + "'") +
                                           " must be a JSON object");
    for (const auto& item : j_.items()) {
      const std::string& key = item.key();
      if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) != known.end()) continue;
      std::string list, best;
      std::size_t best_d = 100;  // suggest only close matches: a typo or a missing suffix ("interval")
      for (const char* k : known) {
        const std::string cand = k;
        list += (list.empty() ? "" : ", ") + cand;
        const auto d = edit_distance(key, cand);
        const bool prefix = key.size() >= 3 && (cand.rfind(key, 0) == 0 || key.rfind(cand, 0) == 0);
        if ((d <= 2 || prefix) && d < best_d) best_d = d, best = cand;
      }
      throw ConfigError("unknown field '" + name(key) + "'" + (best.empty() ? "" : "; did you mean '" + best + "'?") +
                        " known: " + list);
    }
  }

  const json& raw() const { return j_; }
  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }
  // The full name of a field, for messages: "events[1].at_ms".
  std::string name(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError("field '" + name(key) + "': " + what);
  }

  std::string text(const std::string& key, const std::string& def) const {
    if (!has(key)) return def;
    if (!j_[key].is_string()) fail(key, "must be a string (got " + j_[key].dump() + ")");
    return j_[key].get<std::string>();
  }
  // A string that must be present and non-empty; `example` shows a valid value.
  std::string required_text(const std::string& key, const std::string& example) const {
    if (!has(key)) fail(key, "is required; e.g. \"" + key + "\": \"" + example + "\"");
    auto s = text(key, "");
    if (s.empty()) fail(key, "must not be empty; e.g. \"" + key + "\": \"" + example + "\"");
    return s;
  }
  // A string that must be one of `choices`.
  std::string choice(const std::string& key, const std::string& def, std::initializer_list<const char*> choices) const {
    const auto s = text(key, def);
    std::string list;
    for (const char* c : choices) {
      if (s == c) return s;
      list += (list.empty() ? "" : ", ") + std::string(c);
    }
    fail(key, "'" + s + "' is not one of: " + list);
  }

  double number(const std::string& key, double def, double lo = -std::numeric_limits<double>::max(),
                double hi = std::numeric_limits<double>::max()) const {
    if (!has(key)) return def;
    return checked_number(key, lo, hi);
  }
  double required_number(const std::string& key, double lo, double hi, const std::string& example) const {
    if (!has(key)) fail(key, "is required; e.g. \"" + key + "\": " + example);
    return checked_number(key, lo, hi);
  }

  int64_t integer(const std::string& key, int64_t def, int64_t lo = std::numeric_limits<int64_t>::min(),
                  int64_t hi = std::numeric_limits<int64_t>::max()) const {
    if (!has(key)) return def;
    return checked_integer(key, lo, hi);
  }
  int64_t required_integer(const std::string& key, int64_t lo, int64_t hi, const std::string& example) const {
    if (!has(key)) fail(key, "is required; e.g. \"" + key + "\": " + example);
    return checked_integer(key, lo, hi);
  }

  bool flag(const std::string& key, bool def) const {
    if (!has(key)) return def;
    if (!j_[key].is_boolean()) fail(key, "must be true or false (got " + j_[key].dump() + ")");
    return j_[key].get<bool>();
  }

  // An array field (empty when absent); each element is handed out by `element`.
  std::size_t array_size(const std::string& key) const {
    if (!has(key)) return 0;
    if (!j_[key].is_array()) fail(key, "must be a list [...] (got " + j_[key].dump() + ")");
    return j_[key].size();
  }
  Fields element(const std::string& key, std::size_t i, std::initializer_list<const char*> known) const {
    return Fields(j_[key][i], name(key) + "[" + std::to_string(i) + "]", known);
  }
  Fields object(const std::string& key, std::initializer_list<const char*> known) const {
    return Fields(j_[key], name(key), known);
  }

  // A flat object of string values ({"upper_color": "red"}); numbers and booleans are
  // not accepted, so nothing is silently reformatted.
  std::map<std::string, std::string> string_map(const std::string& key) const {
    std::map<std::string, std::string> out;
    if (!has(key)) return out;
    if (!j_[key].is_object()) fail(key, "must be an object of strings, e.g. {\"plate\": \"12ga3456\"}");
    for (const auto& item : j_[key].items()) {
      if (!item.value().is_string())
        fail(key + "." + item.key(), "must be a string (got " + item.value().dump() + "); quote it");
      out[item.key()] = item.value().get<std::string>();
    }
    return out;
  }

  double lat(const std::string& key = "lat") const { return required_number(key, -90, 90, "37.4979"); }
  double lon(const std::string& key = "lon") const { return required_number(key, -180, 180, "127.0276"); }

 private:
  double checked_number(const std::string& key, double lo, double hi) const {
    const auto& v = j_[key];
    if (!v.is_number()) fail(key, "must be a number (got " + v.dump() + ")");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) fail(key, range_text(lo, hi) + " (got " + v.dump() + ")");
    return d;
  }
  int64_t checked_integer(const std::string& key, int64_t lo, int64_t hi) const {
    const auto& v = j_[key];
    if (!v.is_number_integer()) fail(key, "must be a whole number (got " + v.dump() + ")");
    const auto i = v.get<int64_t>();
    if (i < lo || i > hi) fail(key, range_text(static_cast<double>(lo), static_cast<double>(hi)) + " (got " + v.dump() + ")");
    return i;
  }
  static std::string fmt(double d) {
    json j = d;
    if (d == std::floor(d) && std::fabs(d) < 1e15) j = static_cast<int64_t>(d);
    return j.dump();
  }
  static std::string range_text(double lo, double hi) {
    const bool no_lo = lo <= -1e15, no_hi = hi >= 1e15;
    if (no_lo && no_hi) return "must be a finite number";
    if (no_hi) return "must be at least " + fmt(lo);
    if (no_lo) return "must be at most " + fmt(hi);
    return "must be between " + fmt(lo) + " and " + fmt(hi);
  }

  json j_;
  std::string where_;
};

// ---------------------------------------------------------------------------------------
// Threads and time

// One background thread with a sleep that stop() interrupts at once.
class Worker {
 public:
  ~Worker() { stop(); }

  void start(std::function<void()> body) {
    stop();
    {
      std::lock_guard lk(mu_);
      stopping_ = false;
    }
    thread_ = std::thread(std::move(body));
  }
  void stop() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }
  // Sleeps until `t`; false when stop() was called meanwhile (the body should return).
  bool sleep_until(std::chrono::steady_clock::time_point t) {
    std::unique_lock lk(mu_);
    return !cv_.wait_until(lk, t, [this] { return stopping_; });
  }
  bool sleep_for(std::chrono::milliseconds d) { return sleep_until(std::chrono::steady_clock::now() + d); }
  bool stopping() {
    std::lock_guard lk(mu_);
    return stopping_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = true;
  std::thread thread_;
};

inline int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Publishes (retrying briefly on backpressure) and logs a warning when the host refuses;
// returns whether it went out.
inline bool publish_or_warn(const Host& host, const std::string& topic, const google::protobuf::MessageLite& payload,
                            const std::string& correlation_id = {},
                            const std::map<std::string, std::string>& attributes = {}) {
  std::string why;
  auto st = host.publish(topic, payload, correlation_id, attributes, &why);
  // A full outgoing queue clears quickly; a real device would retry a few times too.
  for (int i = 0; st == CITYLINK_ERR_BACKPRESSURE && i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    st = host.publish(topic, payload, correlation_id, attributes, &why);
  }
  if (st == CITYLINK_OK) return true;
  host.warn("not published on " + topic + " (status " + std::to_string(st) + "): " + why);
  return false;
}

// "12.5" rather than "12.500000".
inline std::string num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// ---------------------------------------------------------------------------------------
// Geometry on a spherical earth (good to centimetres over a city)

constexpr double kPi = 3.14159265358979323846;
constexpr double kEarthRadiusM = 6371008.8;
inline double rad(double deg) { return deg * kPi / 180.0; }
inline double deg(double rad) { return rad * 180.0 / kPi; }

inline double normalize_deg(double d) {
  d = std::fmod(d, 360.0);
  return d < 0 ? d + 360.0 : d;
}
// The smallest angle between two headings, 0..180.
inline double angle_between(double a, double b) {
  const double d = std::fabs(normalize_deg(a) - normalize_deg(b));
  return d > 180 ? 360 - d : d;
}

// Great-circle distance (haversine).
inline double distance_m(double lat1, double lon1, double lat2, double lon2) {
  const double dlat = rad(lat2 - lat1), dlon = rad(lon2 - lon1);
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(a)));
}

// Initial bearing from point 1 to point 2: 0 = north, clockwise, 0..360.
inline double bearing_deg(double lat1, double lon1, double lat2, double lon2) {
  const double y = std::sin(rad(lon2 - lon1)) * std::cos(rad(lat2));
  const double x = std::cos(rad(lat1)) * std::sin(rad(lat2)) -
                   std::sin(rad(lat1)) * std::cos(rad(lat2)) * std::cos(rad(lon2 - lon1));
  return normalize_deg(deg(std::atan2(y, x)));
}

// The point `north_m` north and `east_m` east of (lat, lon).
inline std::pair<double, double> offset_m(double lat, double lon, double north_m, double east_m) {
  return {lat + deg(north_m / kEarthRadiusM), lon + deg(east_m / (kEarthRadiusM * std::cos(rad(lat))))};
}

// Linear interpolation between two close points, t in 0..1.
inline std::pair<double, double> lerp(double lat1, double lon1, double lat2, double lon2, double t) {
  return {lat1 + (lat2 - lat1) * t, lon1 + (lon2 - lon1) * t};
}

// A camera's view: true when the point is within range and inside the field of view.
inline bool in_view(double cam_lat, double cam_lon, double heading_deg, double fov_deg, double range_m, double lat,
                    double lon) {
  const double d = distance_m(cam_lat, cam_lon, lat, lon);
  if (d > range_m) return false;
  if (d < 1.0 || fov_deg >= 360) return true;  // right under the camera, or a 360-degree dome
  return angle_between(bearing_deg(cam_lat, cam_lon, lat, lon), heading_deg) <= fov_deg / 2;
}

// ---------------------------------------------------------------------------------------
// Scripted events that change a sensor value: ramp up, hold, ramp down.

struct Episode {
  int64_t at_ms = 0;        // when the ramp up starts, after start()
  int64_t duration_ms = 0;  // ramp up + hold
  int64_t ramp_ms = 0;      // length of each ramp
  double delta = 0;         // the full change at the top

  // The change at `t_ms` after start, with a smooth (smoothstep) ramp each way.
  double at(double t_ms) const {
    auto smooth = [](double x) { return x * x * (3 - 2 * x); };
    const double up = static_cast<double>(at_ms), top = up + static_cast<double>(ramp_ms),
                 down = static_cast<double>(at_ms + duration_ms), end = down + static_cast<double>(ramp_ms);
    if (t_ms <= up || t_ms >= end) return 0;
    if (ramp_ms > 0 && t_ms < top) return delta * smooth((t_ms - up) / static_cast<double>(ramp_ms));
    if (t_ms <= down) return delta;
    return ramp_ms > 0 ? delta * smooth((end - t_ms) / static_cast<double>(ramp_ms)) : 0;
  }
};

}  // namespace citylink::samples
