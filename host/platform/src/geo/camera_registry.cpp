// The camera registry: a Boost.Geometry R-tree over the cameras' positions, mapped onto
// the unit sphere (3-D cartesian), for candidate search; exact WGS84 geodesic distances
// for everything reported. See docs/camera-registry.md for the design and the proof that
// the candidate search never misses a camera.
#include <citylink/platform/camera_registry.hpp>
#include <citylink/platform/geo.hpp>

#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <mutex>
#include <numbers>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

namespace citylink::platform {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

namespace {

using Point3 = bg::model::point<double, 3, bg::cs::cartesian>;
using Box3 = bg::model::box<Point3>;
using Value = std::pair<Point3, uint32_t>;  // position on the unit sphere, slot
using Tree = bgi::rtree<Value, bgi::rstar<16>>;

constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr std::size_t kMaxIdBytes = 256;
// On the WGS84 spheroid, with geodetic lat/lon used as spherical coordinates, every
// curve is at least min(meridional, prime-vertical radius) / R = 6335439 / 6371008.8
// = 0.99442 times as long as on the sphere of mean radius R; so the geodesic distance
// is >= 0.99442 x the spherical distance. 0.99 leaves room for rounding and the
// Vincenty formula's own error.
constexpr double kLowerFactor = 0.99;
// Nearest-k rounds start with this many candidates and grow x4; a radius search that
// would need more than kMaxNearestBatch falls back to one box query.
constexpr std::size_t kMinBatch = 8;
constexpr std::size_t kMaxNearestBatch = 64;
constexpr double kCoincidentM = 0.01;

Point3 to_unit(double lat, double lon) {
  const double phi = lat * kDegToRad, lam = lon * kDegToRad;
  const double c = std::cos(phi);
  return Point3(c * std::cos(lam), c * std::sin(lam), std::sin(phi));
}

double chord(const Point3& a, const Point3& b) {
  const double dx = a.get<0>() - b.get<0>(), dy = a.get<1>() - b.get<1>(), dz = a.get<2>() - b.get<2>();
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

// A lower bound of the geodesic distance (metres) between two points whose unit-sphere
// chord is `c`.
double lower_bound_m(double c) {
  return kLowerFactor * geo::kMeanEarthRadiusM * 2.0 * std::asin(std::min(1.0, c / 2.0));
}

// The largest chord a camera within `radius_m` (geodesic) can have; infinity if unbounded.
double chord_limit(double radius_m) {
  if (!std::isfinite(radius_m)) return std::numeric_limits<double>::infinity();
  const double theta = radius_m / (kLowerFactor * geo::kMeanEarthRadiusM);
  if (theta >= std::numbers::pi) return std::numeric_limits<double>::infinity();
  return 2.0 * std::sin(theta / 2.0) * (1.0 + 1e-12) + 1e-12;
}

bool live_at(const CameraRecord& r, int64_t now_ns, int64_t stale_after_ns) {
  if (r.state == citylink::v1::CAMERA_STATE_OFFLINE) return false;
  if (stale_after_ns <= 0 || now_ns <= r.last_seen_ns) return true;
  // now_ns > last_seen_ns: the unsigned difference is exact even across the int64 range.
  const uint64_t age = static_cast<uint64_t>(now_ns) - static_cast<uint64_t>(r.last_seen_ns);
  return age <= static_cast<uint64_t>(stale_after_ns);
}

// Spherical initial bearing, degrees [0, 360): within 0.2 degrees of the WGS84 one at
// city distances (the spheroid's N/M radius ratio is at most 1.0067), used only for
// pre-filtering with a 1 degree margin.
double sphere_bearing_deg(double lat1, double lon1, double lat2, double lon2) {
  const double p1 = lat1 * kDegToRad, p2 = lat2 * kDegToRad, dl = (lon2 - lon1) * kDegToRad;
  const double b = std::atan2(std::sin(dl) * std::cos(p2),
                              std::cos(p1) * std::sin(p2) - std::sin(p1) * std::cos(p2) * std::cos(dl));
  return geo::normalize_deg(b / kDegToRad);
}
// The bearing pre-filter is only used between these distances (metres, lower bounds).
constexpr double kPrefilterMinM = 1.0, kPrefilterMaxM = 100'000.0, kPrefilterMarginDeg = 1.0;

// Accept filters for Impl::search.
struct AcceptAll {
  template <class E>
  bool maybe(const E&, double, double) const { return true; }
  template <class E>
  bool exact(const E&, const geo::Inverse&) const { return true; }
};

struct Cand {
  double chord;  // unit-sphere chord from the query point
  uint32_t slot;
};

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

struct CameraRegistry::Impl {
  struct Entry {
    CameraRecord rec;
    Point3 p;
    bool used = false;
  };

  mutable std::shared_mutex mu;
  Tree tree;
  std::vector<Entry> slots;
  std::vector<uint32_t> free_slots;
  std::unordered_map<std::string, uint32_t> by_id;
  std::atomic<std::size_t> sweep_at{0};  // the slot forget_unseen looks at next

  struct Found {
    double distance_m;
    uint32_t slot;
  };

  // The core search (caller holds the shared lock). Returns live cameras with geodesic
  // distance <= radius_m (may be +inf) that pass `accept`: accept.maybe(entry, chord,
  // lower_bound_m) is a cheap conservative test (false only if exact must be false),
  // accept.exact(entry, inverse_from_query) the real one,
  // ordered by (distance, camera_id), at most max_count.
  //
  // Candidates come from the R-tree in order of unit-sphere chord. A candidate's chord
  // gives a lower bound of its geodesic distance, so once the max_count-th accepted
  // distance is strictly below the lower bound of the next candidate (or that bound
  // exceeds radius_m), no camera not yet examined can change the answer.
  template <class Live, class Accept>
  std::vector<Found> search(double lat, double lon, double radius_m, std::size_t max_count, const Live& live,
                            const Accept& accept) const {
    std::vector<Found> kept;
    const std::size_t n = tree.size();
    if (n == 0 || max_count == 0) return kept;
    const Point3 q = to_unit(lat, lon);
    const double limit = chord_limit(radius_m);

    // Per-thread scratch space: no allocation per query once warm.
    thread_local std::vector<Cand> cands;
    thread_local std::vector<Value> got;

    // Evaluates candidates (sorted by chord) into `kept`; true when the answer is proven
    // complete before running out of candidates.
    auto consume = [&](std::size_t from) -> bool {
      for (std::size_t i = from; i < cands.size(); ++i) {
        const Cand& c = cands[i];
        const double lb = lower_bound_m(c.chord);
        if (lb > radius_m) return true;
        if (kept.size() >= max_count && kept[max_count - 1].distance_m < lb) return true;
        const Entry& e = slots[c.slot];
        if (!accept.maybe(e, c.chord, lb)) continue;  // cheap, conservative pre-filter
        const geo::Inverse inv = geo::inverse(lat, lon, e.rec.lat, e.rec.lon);
        if (!(inv.distance_m <= radius_m) || !accept.exact(e, inv)) continue;
        const Found f{inv.distance_m, c.slot};
        auto pos = std::upper_bound(kept.begin(), kept.end(), f, [&](const Found& a, const Found& b) {
          if (a.distance_m != b.distance_m) return a.distance_m < b.distance_m;
          return slots[a.slot].rec.camera_id < slots[b.slot].rec.camera_id;
        });
        if (kept.size() >= max_count && pos == kept.end()) continue;
        kept.insert(pos, f);
        if (kept.size() > max_count) kept.pop_back();
      }
      return false;
    };

    auto to_cands = [&] {
      cands.clear();
      for (const Value& v : got) {
        const double c = chord(q, v.first);
        if (c <= limit && live(slots[v.second].rec)) cands.push_back({c, v.second});
      }
      std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
        return a.chord != b.chord ? a.chord < b.chord : a.slot < b.slot;
      });
    };

    // Nearest-k rounds.
    std::size_t m = max_count >= n / 2 ? n : std::max(max_count * 2, kMinBatch);
    m = std::min(m, n);
    for (;;) {
      if (std::isfinite(limit) && m > kMaxNearestBatch) break;  // cheaper as one box query
      got.clear();
      // Liveness is checked on the returned candidates, not inside the tree walk: that
      // touches far fewer records. Offline cameras still count for the distance bound.
      tree.query(bgi::nearest(q, static_cast<unsigned>(m)), std::back_inserter(got));
      kept.clear();
      to_cands();
      if (consume(0)) return kept;
      // All candidates examined. Complete if the tree is exhausted, or if every camera
      // beyond the farthest candidate is provably too far.
      if (got.size() < m || m >= n) return kept;
      double far = 0;
      for (const Value& v : got) far = std::max(far, chord(q, v.first));
      const double lb = lower_bound_m(far);
      if (lb > radius_m) return kept;
      if (kept.size() >= max_count && kept[max_count - 1].distance_m < lb) return kept;
      m = m > n / 4 ? n : m * 4;
    }

    // Box query: every live camera whose chord can be within the radius.
    got.clear();
    const Box3 box(Point3(q.get<0>() - limit, q.get<1>() - limit, q.get<2>() - limit),
                   Point3(q.get<0>() + limit, q.get<1>() + limit, q.get<2>() + limit));
    tree.query(bgi::intersects(box), std::back_inserter(got));
    kept.clear();
    to_cands();
    consume(0);
    return kept;
  }

  CameraHit hit(const Found& f, double lat, double lon) const {
    const CameraRecord& r = slots[f.slot].rec;
    // The distance is symmetric: a camera out of range cannot cover (skips a geodesic).
    return CameraHit{r, f.distance_m, f.distance_m <= r.range_m && CameraRegistry::covers(r, lat, lon)};
  }
};

namespace {

// covering(): the camera's cone covers the query point.
struct CoversPoint {
  double lat, lon;
  template <class E>
  bool maybe(const E& e, double, double lower_m) const {
    const CameraRecord& r = e.rec;
    if (!(r.range_m > 0) || !(r.fov_deg > 0) || lower_m > r.range_m) return false;
    if (r.fov_deg >= 360 || lower_m < kPrefilterMinM || lower_m > kPrefilterMaxM) return true;
    return geo::angle_between_deg(sphere_bearing_deg(r.lat, r.lon, lat, lon), r.heading_deg) <=
           r.fov_deg / 2 + kPrefilterMarginDeg;
  }
  template <class E>
  bool exact(const E& e, const geo::Inverse& inv) const {
    // The geodesic distance is symmetric: out of range needs no second solution.
    return inv.distance_m <= e.rec.range_m && CameraRegistry::covers(e.rec, lat, lon);
  }
};

// ahead(): the camera's bearing from the target is within ±half of the heading.
struct InFront {
  double lat, lon, heading, half;
  template <class E>
  bool maybe(const E& e, double, double lower_m) const {
    if (half >= 180.0 || lower_m < kPrefilterMinM || lower_m > kPrefilterMaxM) return true;
    return geo::angle_between_deg(sphere_bearing_deg(lat, lon, e.rec.lat, e.rec.lon), heading) <=
           half + kPrefilterMarginDeg;
  }
  template <class E>
  bool exact(const E&, const geo::Inverse& inv) const {
    if (inv.distance_m < kCoincidentM) return false;
    return half >= 180.0 || geo::angle_between_deg(inv.bearing_deg, heading) <= half + 1e-9;
  }
};

}  // namespace

CameraRegistry::CameraRegistry() : CameraRegistry(Options{}) {}
CameraRegistry::CameraRegistry(Options o) : options_(o), impl_(std::make_unique<Impl>()) {}
CameraRegistry::~CameraRegistry() = default;

std::string CameraRegistry::validate(const citylink::v1::CameraInfo& info) {
  const std::string& id = info.camera_id();
  if (id.empty()) return "camera_id is empty";
  if (id.size() > kMaxIdBytes)
    return "camera_id is " + std::to_string(id.size()) + " bytes long (limit " + std::to_string(kMaxIdBytes) + ")";
  for (unsigned char ch : id)
    if (ch < 0x20 || ch == 0x7f) return "camera_id contains a control character";
  const std::string who = "camera '" + id + "': ";
  if (!info.has_position()) return who + "no position";
  const double lat = info.position().lat(), lon = info.position().lon();
  if (!std::isfinite(lat) || !std::isfinite(lon))
    return who + "position is not a number (lat " + fmt(lat) + ", lon " + fmt(lon) + ")";
  if (!geo::valid_wgs84(lat, lon))
    return who + "position (lat " + fmt(lat) + ", lon " + fmt(lon) +
           ") is outside WGS84 range (lat -90..90, lon -180..180)";
  if (lat == 0.0 && lon == 0.0) return who + "position (0, 0) is the null island, i.e. a missing GNSS fix";
  if (!std::isfinite(info.heading_deg())) return who + "heading_deg is not a finite number";
  const double fov = info.field_of_view_deg();
  if (!std::isfinite(fov) || fov < 0 || fov > 360)
    return who + "field_of_view_deg " + fmt(fov) + " is outside 0..360";
  const double range = info.range_m();
  if (!std::isfinite(range) || range < 0) return who + "range_m " + fmt(range) + " is not a non-negative number";
  if (!citylink::v1::CameraState_IsValid(info.status()))
    return who + "unknown status value " + std::to_string(static_cast<int>(info.status()));
  return {};
}

std::string CameraRegistry::upsert(const citylink::v1::CameraInfo& info, int64_t now_ns,
                                   const std::string& owner_instance) {
  std::string why = validate(info);
  if (!why.empty()) return why;

  CameraRecord rec;
  rec.camera_id = info.camera_id();
  rec.name = info.name();
  rec.stream_uri = info.stream_uri();
  rec.owner = info.owner();
  rec.purpose = info.purpose();
  rec.lat = info.position().lat();
  rec.lon = info.position().lon();
  rec.heading_deg = geo::normalize_deg(info.heading_deg());
  rec.fov_deg = info.field_of_view_deg();
  rec.range_m = info.range_m();
  rec.ptz = info.ptz_capable();
  rec.state = info.status();
  rec.last_seen_ns = now_ns;
  rec.owner_instance = owner_instance;
  const Point3 p = to_unit(rec.lat, rec.lon);

  std::unique_lock lock(impl_->mu);
  auto& I = *impl_;
  auto it = I.by_id.find(rec.camera_id);
  if (it != I.by_id.end()) {
    Impl::Entry& e = I.slots[it->second];
    const bool moved = e.rec.lat != rec.lat || e.rec.lon != rec.lon;
    if (moved) {
      I.tree.remove(Value(e.p, it->second));
      e.p = p;
      I.tree.insert(Value(e.p, it->second));
    }
    e.rec = std::move(rec);
    return {};
  }
  uint32_t slot;
  if (!I.free_slots.empty()) {
    slot = I.free_slots.back();
    I.free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(I.slots.size());
    I.slots.emplace_back();
  }
  Impl::Entry& e = I.slots[slot];
  e.p = p;
  e.used = true;
  I.tree.insert(Value(e.p, slot));
  I.by_id.emplace(rec.camera_id, slot);
  e.rec = std::move(rec);
  return {};
}

bool CameraRegistry::update_status(const citylink::v1::CameraStatus& status, int64_t now_ns) {
  std::unique_lock lock(impl_->mu);
  auto it = impl_->by_id.find(status.camera_id());
  if (it == impl_->by_id.end()) return false;
  CameraRecord& r = impl_->slots[it->second].rec;
  r.last_seen_ns = now_ns;
  if (status.status() != citylink::v1::CAMERA_STATE_UNSPECIFIED && citylink::v1::CameraState_IsValid(status.status()))
    r.state = status.status();
  if (r.ptz && std::isfinite(status.heading_deg())) r.heading_deg = geo::normalize_deg(status.heading_deg());
  return true;
}

bool CameraRegistry::remove(const std::string& camera_id) {
  std::unique_lock lock(impl_->mu);
  auto& I = *impl_;
  auto it = I.by_id.find(camera_id);
  if (it == I.by_id.end()) return false;
  const uint32_t slot = it->second;
  Impl::Entry& e = I.slots[slot];
  I.tree.remove(Value(e.p, slot));
  e = Impl::Entry{};
  I.free_slots.push_back(slot);
  I.by_id.erase(it);
  return true;
}

std::vector<CameraRecord> CameraRegistry::forget_unseen(int64_t seen_before_ns, std::size_t max_scan) {
  std::vector<std::string> old;
  {
    std::shared_lock lock(impl_->mu);  // queries go on while it looks
    auto& I = *impl_;
    const std::size_t n = std::min(max_scan, I.slots.size());
    std::size_t at = I.sweep_at.load(std::memory_order_relaxed);
    if (at >= I.slots.size()) at = 0;
    for (std::size_t i = 0; i < n; ++i, at = at + 1 < I.slots.size() ? at + 1 : 0) {
      const Impl::Entry& e = I.slots[at];
      if (e.used && e.rec.last_seen_ns < seen_before_ns) old.push_back(e.rec.camera_id);
    }
    I.sweep_at.store(at, std::memory_order_relaxed);
  }
  std::vector<CameraRecord> gone;
  if (old.empty()) return gone;
  std::unique_lock lock(impl_->mu);
  auto& I = *impl_;
  for (const auto& id : old) {
    auto it = I.by_id.find(id);
    if (it == I.by_id.end()) continue;
    const uint32_t slot = it->second;
    Impl::Entry& e = I.slots[slot];
    if (e.rec.last_seen_ns >= seen_before_ns) continue;  // heard from meanwhile
    I.tree.remove(Value(e.p, slot));
    gone.push_back(std::move(e.rec));
    e = Impl::Entry{};
    I.free_slots.push_back(slot);
    I.by_id.erase(it);
  }
  return gone;
}

std::optional<CameraRecord> CameraRegistry::find(const std::string& camera_id) const {
  std::shared_lock lock(impl_->mu);
  auto it = impl_->by_id.find(camera_id);
  if (it == impl_->by_id.end()) return std::nullopt;
  return impl_->slots[it->second].rec;
}

bool CameraRegistry::is_live(const CameraRecord& r, int64_t now_ns) const {
  return live_at(r, now_ns, options_.stale_after_ns);
}

bool CameraRegistry::covers(const CameraRecord& r, double lat, double lon) {
  return geo::in_view_cone(r.lat, r.lon, r.heading_deg, r.fov_deg, r.range_m, lat, lon);
}

std::vector<CameraHit> CameraRegistry::within(double lat, double lon, double radius_m, std::size_t max_count,
                                              int64_t now_ns) const {
  std::vector<CameraHit> out;
  if (!geo::valid_wgs84(lat, lon) || !(radius_m >= 0) || max_count == 0) return out;
  std::shared_lock lock(impl_->mu);
  const auto found = impl_->search(
      lat, lon, radius_m, max_count, [&](const CameraRecord& r) { return live_at(r, now_ns, options_.stale_after_ns); },
      AcceptAll{});
  out.reserve(found.size());
  for (const auto& f : found) out.push_back(impl_->hit(f, lat, lon));
  return out;
}

std::vector<CameraHit> CameraRegistry::nearest(double lat, double lon, std::size_t k, int64_t now_ns) const {
  return within(lat, lon, std::numeric_limits<double>::infinity(), k, now_ns);
}

std::vector<CameraHit> CameraRegistry::covering(double lat, double lon, double search_radius_m,
                                                std::size_t max_count, int64_t now_ns) const {
  std::vector<CameraHit> out;
  if (!geo::valid_wgs84(lat, lon) || !(search_radius_m >= 0) || max_count == 0) return out;
  std::shared_lock lock(impl_->mu);
  const auto found = impl_->search(
      lat, lon, search_radius_m, max_count, [&](const CameraRecord& r) { return live_at(r, now_ns, options_.stale_after_ns); },
      CoversPoint{lat, lon});
  out.reserve(found.size());
  for (const auto& f : found) out.push_back(CameraHit{impl_->slots[f.slot].rec, f.distance_m, true});
  return out;
}

std::vector<CameraHit> CameraRegistry::ahead(double lat, double lon, double heading_deg, double radius_m,
                                             double half_angle_deg, std::size_t max_count, int64_t now_ns) const {
  std::vector<CameraHit> out;
  if (!geo::valid_wgs84(lat, lon) || !std::isfinite(heading_deg) || !(radius_m >= 0) || !(half_angle_deg >= 0) ||
      max_count == 0)
    return out;
  const double heading = geo::normalize_deg(heading_deg);
  std::shared_lock lock(impl_->mu);
  const auto found = impl_->search(
      lat, lon, radius_m, max_count, [&](const CameraRecord& r) { return live_at(r, now_ns, options_.stale_after_ns); },
      InFront{lat, lon, heading, half_angle_deg});
  out.reserve(found.size());
  for (const auto& f : found) out.push_back(impl_->hit(f, lat, lon));
  return out;
}

std::vector<CameraRecord> CameraRegistry::all(std::size_t max_count) const {
  std::shared_lock lock(impl_->mu);
  std::vector<CameraRecord> out;
  out.reserve(std::min(max_count, impl_->by_id.size()));
  for (const auto& e : impl_->slots) {
    if (out.size() >= max_count) break;
    if (e.used) out.push_back(e.rec);
  }
  std::sort(out.begin(), out.end(), [](const CameraRecord& a, const CameraRecord& b) { return a.camera_id < b.camera_id; });
  return out;
}

std::size_t CameraRegistry::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->by_id.size();
}

std::size_t CameraRegistry::live_count(int64_t now_ns) const {
  std::shared_lock lock(impl_->mu);
  std::size_t n = 0;
  for (const auto& e : impl_->slots)
    if (e.used && is_live(e.rec, now_ns)) ++n;
  return n;
}

}  // namespace citylink::platform
