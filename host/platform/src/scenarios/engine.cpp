// The scenario engine's thread: registry and incident bookkeeping, then the scenarios.
#include <citylink/host/audit_store.hpp>
#include <citylink/platform/geo.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/wall_clock.hpp>
#include <citylink/platform/scenarios/engine.hpp>
#include <citylink/platform/scenarios/grant_recovery.hpp>
#include <citylink/platform/scenarios/video_share.hpp>
#include <citylink/v1/audit.pb.h>
#include <citylink/v1/camera.pb.h>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/envelope.pb.h>

#include "../api/api.hpp"

#include <algorithm>
#include <ctime>
#include <chrono>
#include <cmath>
#include <set>

namespace citylink::platform::scenarios {
namespace {

// The topics the engine publishes; its grants on the bus.
const std::vector<std::string> kEngineGrants = {"grant.video", "dispatch.*", "audit.*", "camera.ptz",
                                                "incident.disaster"};
const std::vector<std::string> kEngineSubscriptions = {"camera.info", "camera.status", "incident.",
                                                       "sensor.reading", "analytics.tracking"};
constexpr auto kTick = std::chrono::milliseconds(100);
// Outputs kept while the router's queue from the engine is full (review M8): bounded like any
// queue, in messages here and in bytes by host.queue_bytes.
constexpr std::size_t kMaxHeldOutputs = 10000;
// How long a stopping engine tries to send what it still holds; the router runs until after.
constexpr auto kStopSendHeld = std::chrono::seconds(2);
// 360 km/h: faster than anything a street camera tracks; past it the look-ahead radius
// would cover the whole registry (review M12).
constexpr double kMaxTrackSpeedMps = 100;

// Review H8: the engine keeps cameras, incidents, tracks and sensor states, each bounded in
// number; this bounds each one's size, so a plugin within its counts cannot pin gigabytes
// with megabyte-long names, URIs or texts. Returns the area its rejections count under.
struct KeptInput {
  const char* area;
  std::size_t max_payload;
};
std::optional<KeptInput> kept_input(const std::string& topic) {
  if (topic == "camera.info" || topic == "camera.status") return KeptInput{"camera_registry", 4096};
  if (topic == "sensor.reading") return KeptInput{"sensors", 4096};
  if (topic == "analytics.tracking") return KeptInput{"tracking", 4096};
  if (topic.rfind("incident.", 0) == 0) return KeptInput{"incidents", 65536};
  return std::nullopt;
}

// Who an output is addressed to: the router delivers grant.*, dispatch.* and audit.* only
// to instances bound to this recipient.
std::string recipient_of(const google::protobuf::Message& m) {
  if (const auto* d = dynamic_cast<const citylink::v1::DispatchSupport*>(&m)) return d->recipient();
  if (const auto* g = dynamic_cast<const citylink::v1::VideoShareGrant*>(&m)) return g->recipient();
  if (dynamic_cast<const citylink::v1::AuditRecord*>(&m)) return kAuditRecipient;
  return {};
}

}  // namespace

InputPolicy input_policy(const CityConfig& config) {
  InputPolicy p;
  p.authority = config.incident_authority;
  p.max_cameras_per_instance = config.host.max_cameras_per_instance;
  p.max_open_incidents_per_source = config.host.max_open_incidents_per_source;
  p.max_closed_incidents_per_source = config.host.max_closed_incidents_per_source;
  p.incident_retention_ns = static_cast<int64_t>(config.host.incident_retention_minutes) * 60 * 1'000'000'000;
  p.camera_retention_ns = static_cast<int64_t>(config.host.camera_retention_minutes) * 60 * 1'000'000'000;
  for (const auto& e : config.plugins) p.cameras[e.instance_id] = e.cameras;
  return p;
}

ScenarioEngine::ScenarioEngine(std::vector<std::unique_ptr<Scenario>> scenarios, Router& router, zmq::context_t& ctx,
                               InputPolicy policy)
    : scenarios_(std::move(scenarios)),
      policy_(std::move(policy)),
      router_(router),
      ctx_(ctx),
      incidents_(policy_.max_open_incidents_per_source, policy_.max_closed_incidents_per_source),
      grants_([this](const citylink::v1::VideoShareGrant& g) { on_grant(g); }),
      bus_counters_(std::make_shared<InstanceCounters>()) {
  set_wall_clock(host::unix_now_ns);
}

namespace {
// Like the steady clock, but it also runs while the machine is suspended (or a VM paused):
// a grant of 30 minutes must not outlive an 8-hour suspend.
int64_t boot_clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

void ScenarioEngine::set_wall_clock(std::function<int64_t()> clock) {
  wall_clock_ = std::move(clock);
  anchor_wall_ns_ = wall_clock_();
  anchor_boot_ns_ = boot_clock_ns();
}

ScenarioEngine::~ScenarioEngine() { stop(); }

void ScenarioEngine::start(const ComponentContext& context) {
  if (running_) return;
  // First, before anything runs: a configured book that cannot be opened stops the city, as
  // the audit log does, rather than forget every open incident at the next restart.
  open_incident_book(context.config);
  // Every audit record is appended (hash-chained, durable) to the log before it is published.
  audit_store_ = context.audit;
  if (context.events) observer_ = api::feed_observer(context.events);
  const auto& config = context.config;
  if (config.incident_authority.empty())
    log()->warn("no source is authorised to raise incidents (incident_authority is empty), so every incident will "
                "be refused; list each event code with its topic and source instances");
  warn_unbound_recipients(config);
  // What the previous run left live is read now, before this run issues anything: a grant
  // issued during start-up must never look like one a crashed run left behind.
  if (audit_store_) {
    try {
      left_alive_ = grants_left_alive(*audit_store_, wall_clock_());
    } catch (const std::exception& e) {
      log()->error("[{}] could not read the audit log for grants a previous run left live: {}", kSource, e.what());
    }
  }
  if (!publisher_) {
    publisher_ = router_.add_publisher(kSource, kEngineGrants, bus_counters_, PublisherRole::engine);
    publisher_->open();
  }
  const std::string endpoint = router_.endpoint_prefix() + "/sink/" + kSource;
  // Incidents are critical traffic: they wait in a queue of their own and are handled
  // before any camera or sensor message, so no flood of those can delay or drop a 112 report.
  inbox_ = Inbox(ctx_, endpoint, router_.options().queue_depth);
  std::string why;
  if (!router_.add_sink(SinkSpec{kSource, kEngineSubscriptions, endpoint, bus_counters_, false, 0, {},
                                 inbox_.critical_endpoint(), inbox_.bytes()},
                        &why))
    throw std::runtime_error(std::string("the scenario engine cannot receive: the router could not connect to its "
                                         "queue (") + why + ")");
  running_ = true;
  {
    std::lock_guard lk(calls_mu_);
    accepting_calls_ = true;
  }
  thread_ = std::thread([this] { loop(); });
  std::string names;
  for (const auto& s : scenarios_) names += (names.empty() ? "" : ", ") + std::string(s->name());
  log()->info("[{}] started with scenarios: {}", kSource, names.empty() ? "(none)" : names);
}

// Review H6: the book a previous run wrote is read back, so an update or a close sent while
// the host restarted finds its incident. Grants are not re-issued: the previous run revoked
// them at its stop (or this start revokes what a crash left live), and the next update of
// an open incident shares video again as any update does.
void ScenarioEngine::open_incident_book(const CityConfig& config) {
  if (config.host.incident_book.empty() || journal_) return;
  journal_ = std::make_unique<IncidentJournal>(config.host.incident_book);
  std::size_t unreadable = 0, open = 0;
  auto restored = journal_->load(&unreadable);
  // Oldest first, so a book over host.max_closed_incidents_per_source keeps its newest.
  std::stable_sort(restored.begin(), restored.end(),
                   [](const Incident& a, const Incident& b) { return a.last_change_ns < b.last_change_ns; });
  for (auto& inc : restored) {
    open += inc.open ? 1 : 0;
    incidents_.restore(std::move(inc));
  }
  forget_retired(incidents_.take_evicted(), "incidents/retired_early");  // a cap lowered since
  log()->info("[{}] incident book {}: {} incident(s) read back, {} of them open", kSource,
              config.host.incident_book.string(), restored.size(), open);
  if (unreadable)
    log()->error("[{}] incident book {}: {} damaged row(s) skipped; those incidents are forgotten (an update to one "
                 "opens it again)",
                 kSource, config.host.incident_book.string(), unreadable);
  std::lock_guard lk(counters_mu_);
  counters_["incidents/restored"] += restored.size();
  if (unreadable) counters_["incidents/journal_unreadable"] += unreadable;
}

// A change that cannot be written is still acted on (a 112 report is not refused for a full
// disk), and said: the operator learns that a restart would forget it.
void ScenarioEngine::journal(const Incident& incident) {
  if (!journal_) return;
  try {
    journal_->record(incident);
  } catch (const std::exception& e) {
    uint64_t n;
    {
      std::lock_guard lk(counters_mu_);
      n = ++counters_["incidents/journal_failed"];
    }
    if (n <= 5 || n % 1000 == 0)
      log()->error("[{}] incident {} from {} acted on but not written (#{}): {}", kSource, incident.id,
                   incident.source, n, e.what());
  }
}

std::vector<std::string> ScenarioEngine::publishes() const { return kEngineGrants; }

void ScenarioEngine::stop() {
  if (!running_) return;
  router_.remove_sink(kSource);
  running_ = false;
  if (thread_.joinable()) thread_.join();
  // Nobody renews or revokes a grant once the engine is gone, so none is left live (H6):
  // each is revoked, published to its recipient and audited. The thread has ended, so
  // the books are this thread's now.
  for (const auto& g : grants_.revoke_all("the scenario engine stopped", now_ns())) {
    note("grants", g.incident_id() + ": grant " + g.grant_id() + " to " + g.recipient() + " revoked: engine stopping");
    audit(grant_audit(g, "video_grant.revoke", "grant " + g.grant_id() + " revoked: the scenario engine stopped"));
  }
  // The router runs until after the engine: what waits for room gets its chance to leave.
  for (const auto until = std::chrono::steady_clock::now() + kStopSendHeld;
       holding() && std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(std::chrono::milliseconds(1)))
    send_held_outputs();
  drop_held_outputs("when the engine stopped");
  publisher_->close();
  publisher_.reset();  // a later start adds a fresh one: a closed publisher refuses every publish
}

std::vector<ApiRoute> ScenarioEngine::api_routes() { return api::engine_routes(*this); }

void ScenarioEngine::drive(const uint8_t* envelope, std::size_t size) {
  if (running_) throw std::logic_error("ScenarioEngine::drive is for an engine that was never started");
  if (!publisher_) {
    publisher_ = router_.add_publisher(kSource, kEngineGrants, bus_counters_, PublisherRole::engine);
    publisher_->open();
  }
  try {
    handle(envelope, size);
    tick();
    send_held_outputs();
    drop_held_outputs("after a driven message");  // nobody would try them again
  } catch (const std::exception& e) {
    reject("engine", "exception", std::string("while driven: ") + e.what());  // as the loop's guard does
  } catch (...) {
    reject("engine", "exception", "while driven: unknown exception");
  }
}

void ScenarioEngine::loop() {
  auto next_tick = std::chrono::steady_clock::now() + kTick;
  // One message at a time across the router's batches, critical first even inside a batch.
  InboxReader reader(inbox_);
  Received r;
  // Nothing one message or one tick does may end the engine's thread (M1): it is logged
  // and counted, and the engine goes on with the next.
  auto guarded = [this](const char* what, auto&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& e) {
      reject("engine", "exception", std::string(what) + ": " + e.what());
    } catch (...) {
      reject("engine", "exception", std::string(what) + ": unknown exception");
    }
    return false;
  };
  while (true) {
    bool got = false;
    // While outputs wait for room, they are tried again every millisecond.
    const auto wait = holding() ? std::chrono::milliseconds(1) : kTick;
    if (!guarded("receiving", [&] { got = reader.next(r, wait); }))
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no busy loop on a broken socket
    if (got) {
      guarded("handling a message", [&] { handle(r.envelope, r.envelope_size); });
    } else if (!running_) {
      guarded("draining", [&] {
        while (reader.next(r, std::chrono::milliseconds(0)))
          guarded("handling a message", [&] { handle(r.envelope, r.envelope_size); });
      });
      break;
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      guarded("tick", [&] { tick(); });
      next_tick = std::chrono::steady_clock::now() + kTick;
    }
    if (holding()) guarded("sending held outputs", [&] { send_held_outputs(); });
    run_calls();
  }
  {
    std::lock_guard lk(calls_mu_);
    accepting_calls_ = false;
  }
  run_calls();  // what was asked before the door closed is still answered
  inbox_.close();
}

bool ScenarioEngine::run_on_engine(std::function<void()> f) {
  auto task = std::make_shared<std::packaged_task<void()>>(std::move(f));
  auto done = task->get_future();
  {
    std::lock_guard lk(calls_mu_);
    if (!accepting_calls_) return false;
    calls_.push_back(task);
  }
  done.get();  // rethrows what `f` threw
  return true;
}

void ScenarioEngine::run_calls() {
  std::deque<std::shared_ptr<std::packaged_task<void()>>> calls;
  {
    std::lock_guard lk(calls_mu_);
    calls.swap(calls_);
  }
  for (auto& c : calls) (*c)();  // a packaged_task keeps what its function throws for the caller
}

std::optional<EngineSnapshot> ScenarioEngine::snapshot() {
  EngineSnapshot s;
  if (!run_on_engine([&] {
        s.incidents = incidents_.list();
        for (auto& i : s.incidents) i.last_change_ns = wall_ns(i.last_change_ns);
        s.grants = grants_.live();
        for (auto& g : s.grants) g.grant = as_wall(g.grant);
      }))
    return std::nullopt;
  return s;
}

std::optional<citylink::v1::VideoShareGrant> ScenarioEngine::revoke_grant(const std::string& grant_id,
                                                                          const std::string& operator_name,
                                                                          const std::string& reason, std::string* why) {
  std::optional<citylink::v1::VideoShareGrant> out;
  const bool ran = run_on_engine([&] {
    out = grants_.revoke(grant_id, "revoked by operator " + operator_name + ": " + reason, now_ns());
    if (!out) return;
    count("grants/revoked_by_operator");
    log()->warn("[{}] grant {} to {} for incident {} revoked by operator {}: {}", kSource, grant_id, out->recipient(),
                out->incident_id(), operator_name, reason);
    auto record = grant_audit(*out, "video_grant.revoke", "grant " + grant_id + " revoked by operator " +
                                                              operator_name + ": " + reason);
    record.set_actor("operator:" + operator_name);
    audit(std::move(record));
    out = as_wall(*out);
  });
  if (!ran) {
    if (why) *why = "the scenario engine is not running";
  } else if (!out && why) {
    *why = "grant '" + grant_id + "' is not live: it is unknown, has expired or was already revoked; "
           "GET /api/grants lists the live ones";
  }
  return out;
}

void ScenarioEngine::handle(const uint8_t* bytes, std::size_t size) {
  citylink::v1::Envelope env;
  if (!env.ParseFromArray(bytes, static_cast<int>(size))) return reject("engine", "malformed", "unparsable envelope");
  const std::string& topic = env.topic();
  bus_counters_->delivered.fetch_add(1, std::memory_order_relaxed);
  try {
    if (const auto kept = kept_input(topic); kept && env.payload().size() > kept->max_payload)
      return reject(kept->area, "too_large",
                    topic + " from " + env.source() + " is " + std::to_string(env.payload().size()) +
                        " bytes, over the " + std::to_string(kept->max_payload) +
                        " the engine keeps per item; shorten its names, URIs and texts");
    if (topic == "camera.info") {
      citylink::v1::CameraInfo info;
      if (!info.ParseFromString(env.payload()) || env.schema() != info.GetTypeName())
        return reject("camera_registry", "malformed", "camera.info from " + env.source() + " is not a CameraInfo");
      if (!camera_allowed(env.source(), info)) return;
      const bool fresh = !cameras_.find(info.camera_id());
      const std::string why = cameras_.upsert(info, now_ns(), env.source());
      if (!why.empty()) return reject("camera_registry", "invalid_camera", why);
      if (fresh) ++cameras_owned_[env.source()];
      return count("camera_registry/cameras_announced");
    }
    if (topic == "camera.status") {
      citylink::v1::CameraStatus st;
      if (!st.ParseFromString(env.payload()) || env.schema() != st.GetTypeName())
        return reject("camera_registry", "malformed", "camera.status from " + env.source() + " is not a CameraStatus");
      const auto cam = cameras_.find(st.camera_id());
      if (!cam) return reject("camera_registry", "unknown_camera", "status for unknown camera '" + st.camera_id() + "'");
      if (cam->owner_instance != env.source())
        return reject("camera_registry", "not_owner",
                      env.source() + " sent a status for camera '" + st.camera_id() + "', which belongs to " +
                          cam->owner_instance);
      cameras_.update_status(st, now_ns());
      return;
    }
    if (topic.rfind("incident.", 0) == 0) {
      citylink::v1::PlatformEvent ev;
      if (!ev.ParseFromString(env.payload()) || env.schema() != ev.GetTypeName())
        return reject("incidents", "malformed", topic + " from " + env.source() + " is not a PlatformEvent");
      if (!incident_allowed(topic, env.source(), ev)) return;
      std::string why;
      incidents_.complete(ev, env.source());
      const auto change = incidents_.apply(ev, /*needs_position*/ true, &why, env.source(), now_ns());
      if (!change) return reject("incidents", "rejected", why);
      // A source over host.max_closed_incidents_per_source: its oldest closed one goes now.
      forget_retired(incidents_.take_evicted(), "incidents/retired_early");
      count(std::string("incidents/") + (*change == Change::opened ? "opened" : *change == Change::closed ? "closed" : "updated"));
      const Incident& inc = *incidents_.find(IncidentKey{env.source(), ev.occurrence_number()});
      journal(inc);
      if (observer_ && observer_->wants()) {
        Incident shown = inc;  // the operator sees the wall clock's time
        shown.last_change_ns = wall_ns(inc.last_change_ns);
        observer_->incident(shown, *change);
      }
      for (auto& s : scenarios_) s->on_incident(inc, ev, *change, *this);
      return;
    }
    if (topic == "sensor.reading") {
      citylink::v1::SensorReading r;
      if (!r.ParseFromString(env.payload()) || env.schema() != r.GetTypeName())
        return reject("sensors", "malformed", "sensor.reading from " + env.source() + " is not a SensorReading");
      if (!std::isfinite(r.value()))
        return reject("sensors", "not_a_number", "reading of " + r.sensor_id() + " is not a finite number");
      // Review M12: a position goes into incidents and dispatches, so it is a fix or absent.
      if (r.has_position()) {
        const double lat = r.position().lat(), lon = r.position().lon();
        if (!geo::valid_wgs84(lat, lon))
          return reject("sensors", "bad_position",
                        "reading of " + r.sensor_id() + ": position (" + std::to_string(lat) + ", " +
                            std::to_string(lon) + ") is outside WGS84 range (lat -90..90, lon -180..180)");
        if (!geo::is_fix(lat, lon)) r.clear_position();  // (0, 0): the sensor has no fix
      }
      for (auto& s : scenarios_) s->on_reading(r, *this);
      return;
    }
    if (topic == "analytics.tracking") {
      citylink::v1::TrackingInfo t;
      if (!t.ParseFromString(env.payload()) || env.schema() != t.GetTypeName())
        return reject("tracking", "malformed", "analytics.tracking from " + env.source() + " is not a TrackingInfo");
      if (!cameras_.find(t.camera_id()))
        return reject("tracking", "unknown_camera", "track " + t.track_id() + " on unknown camera '" + t.camera_id() + "'");
      // Review M12: the position goes to the patrol car and the heading and speed choose the
      // cameras ahead, so each is checked here, once, for every scenario.
      if (!t.has_position() || !geo::is_fix(t.position().lat(), t.position().lon()))
        return reject("tracking", "bad_position",
                      "track " + t.track_id() + ": " +
                          (t.has_position() ? "position (" + std::to_string(t.position().lat()) + ", " +
                                                  std::to_string(t.position().lon()) +
                                                  ") is outside WGS84 range or (0, 0), a missing fix"
                                            : std::string("no position")) +
                          "; an update is dropped rather than sent with a place the target is not at");
      if (!std::isfinite(t.heading_deg()) || t.heading_deg() < 0 || t.heading_deg() > 360)
        return reject("tracking", "bad_heading",
                      "track " + t.track_id() + ": heading_deg " + std::to_string(t.heading_deg()) +
                          " is outside 0..360 (0 = north, clockwise)");
      if (!std::isfinite(t.speed_mps()) || t.speed_mps() < 0 || t.speed_mps() > kMaxTrackSpeedMps)
        return reject("tracking", "bad_speed",
                      "track " + t.track_id() + ": speed_mps " + std::to_string(t.speed_mps()) + " is outside 0.." +
                          std::to_string(static_cast<int>(kMaxTrackSpeedMps)) + " m/s");
      for (auto& s : scenarios_) s->on_tracking(t, *this);
      return;
    }
  } catch (const std::exception& e) {
    reject("engine", "exception", std::string("while handling ") + topic + ": " + e.what());
  }
}

// Review M8: an output addressed to a recipient nobody is bound to is counted as undelivered
// at run time; a typo in the config is better named at start, once per recipient.
void ScenarioEngine::warn_unbound_recipients(const CityConfig& config) {
  auto bound = [&](const std::string& r) {
    return std::any_of(config.plugins.begin(), config.plugins.end(),
                       [&](const PluginEntry& p) { return p.enabled && p.recipient == r; }) ||
           std::any_of(config.remote.clients.begin(), config.remote.clients.end(),
                       [&](const ClientEntry& c) { return c.recipient == r; }) ||
           std::any_of(config.clients.begin(), config.clients.end(), [&](const ClientEntry& c) { return c.recipient == r; });
  };
  std::set<std::string> warned;
  if (!bound(kAuditRecipient)) {
    warned.insert(kAuditRecipient);
    count("config/unbound_recipient");
    log()->warn("no instance is bound to recipient '{}'; audit records are counted but reach no one", kAuditRecipient);
  }
  for (const auto& s : scenarios_)
    for (const auto& r : s->recipients())
      if (!bound(r) && warned.insert(r).second) {
        count("config/unbound_recipient");
        log()->error("scenario {} sends to recipient '{}', but no enabled plugin instance or client is bound to it, so "
                     "those outputs will reach no one (counted as undeliverable); bind the agency's link with "
                     "`recipient: \"{}\"` or fix the scenario's recipient",
                     s->name(), r, r);
      }
}

// C2 of the review: which source may raise which event code on which topic is the city's
// decision. Incidents are keyed by (source, occurrence number), so an authorised source
// reaches only its own incidents, whatever numbers it uses.
bool ScenarioEngine::incident_allowed(const std::string& topic, const std::string& source,
                                      const citylink::v1::PlatformEvent& ev) {
  const auto& code = ev.event_code();
  const IncidentAuthority* au = nullptr;
  for (const auto& a : policy_.authority)
    if (a.event_code == code) au = &a;
  if (!au)
    return reject("incidents", "not_authorised",
                  source + " raised " + code + " on " + topic + " but no source is authorised for " + code +
                      "; add it under incident_authority in the city config"),
           false;
  if (au->topic != topic)
    return reject("incidents", "not_authorised", source + " raised " + code + " on " + topic + "; " + code +
                                                     " is accepted only on " + au->topic),
           false;
  if (std::find(au->sources.begin(), au->sources.end(), source) == au->sources.end())
    return reject("incidents", "not_authorised", source + " may not raise " + code + " (authorised: " +
                                                     [&] {
                                                       std::string l;
                                                       for (const auto& s : au->sources) l += (l.empty() ? "" : ", ") + s;
                                                       return l;
                                                     }() + ")"),
           false;
  return true;
}

// C3 of the review: a camera id belongs to the instance that first announced it, or to the
// instance whose configured id_prefix it carries; stream URIs stay under the owner's base.
bool ScenarioEngine::camera_allowed(const std::string& source, const citylink::v1::CameraInfo& info) {
  const std::string& id = info.camera_id();
  for (const auto& [inst, pol] : policy_.cameras)
    if (inst != source && !pol.id_prefix.empty() && id.rfind(pol.id_prefix, 0) == 0)
      return reject("camera_registry", "not_owner",
                    source + " announced camera '" + id + "', whose id prefix '" + pol.id_prefix + "' belongs to " + inst),
             false;
  CameraPolicy mine;
  if (auto it = policy_.cameras.find(source); it != policy_.cameras.end()) mine = it->second;
  if (!mine.id_prefix.empty() && id.rfind(mine.id_prefix, 0) != 0)
    return reject("camera_registry", "not_owner",
                  source + " announced camera '" + id + "' outside its id prefix '" + mine.id_prefix + "'"),
           false;
  const auto existing = cameras_.find(id);
  if (existing && existing->owner_instance != source)
    return reject("camera_registry", "not_owner",
                  source + " re-announced camera '" + id + "', which belongs to " + existing->owner_instance),
           false;
  if (!mine.stream_base.empty() && !info.stream_uri().empty() && info.stream_uri().rfind(mine.stream_base, 0) != 0)
    return reject("camera_registry", "bad_stream",
                  source + " announced camera '" + id + "' with stream '" + info.stream_uri() +
                      "' outside its configured stream_base '" + mine.stream_base + "'"),
           false;
  const std::size_t cap = mine.max > 0 ? mine.max : policy_.max_cameras_per_instance;
  if (!existing && cameras_owned_[source] >= cap)
    return reject("camera_registry", "over_cap",
                  source + " already owns " + std::to_string(cap) + " cameras; camera '" + id +
                      "' refused (raise cameras.max for this instance if it is real)"),
           false;
  return true;
}

citylink::v1::VideoShareGrant ScenarioEngine::as_wall(const citylink::v1::VideoShareGrant& g) const {
  citylink::v1::VideoShareGrant out = g;
  out.set_issued_unix_ns(wall_ns(g.issued_unix_ns()));
  out.set_expires_unix_ns(wall_ns(g.expires_unix_ns()));
  return out;
}

void ScenarioEngine::on_grant(const citylink::v1::VideoShareGrant& g) {
  // The book keeps engine time; what leaves the engine says wall time (audit() converts its own).
  const auto sent = as_wall(g);
  emit(grant_topic(g.recipient()), sent, g.incident_id());
  if (observer_ && observer_->wants()) observer_->grant(sent);
  if (g.action() != citylink::v1::VideoShareGrant::ACTION_EXPIRE) return;
  // Scenarios audit what they decide; a grant running out is the engine's to record.
  note("grants", g.incident_id() + ": grant " + g.grant_id() + " to " + g.recipient() + " expired");
  audit(grant_audit(g, "video_grant.expire", "grant " + g.grant_id() + " lifetime ended"));
}

void ScenarioEngine::tick() {
  if (revoke_left_alive_.exchange(false, std::memory_order_acq_rel)) revoke_left_alive();
  const int64_t now = now_ns();
  // A step of the wall clock is said once per step of a second or more: deadlines keep
  // their length; times that leave the engine follow the wall clock.
  if (const int64_t step = wall_ns(now) - now; std::llabs(step - step_reported_ns_) >= 1'000'000'000) {
    log()->warn("[{}] the wall clock moved {:+.1f} s against the engine's clock since it started; grant lifetimes, "
                "holds and retention keep their length, and the times the engine sends follow the wall clock",
                kSource, static_cast<double>(step) / 1e9);
    step_reported_ns_ = step;
  }
  grants_.expire(now);
  // H8: closed incidents do not stay forever; the audit log keeps what they caused.
  if (now >= next_retire_ns_) {
    next_retire_ns_ = now + int64_t{60} * 1'000'000'000;
    forget_retired(incidents_.retire_closed(now - policy_.incident_retention_ns), "incidents/retired");
  }
  forget_unseen_cameras(now);
  for (auto& s : scenarios_) s->on_tick(*this);
}

// Retired incidents leave the incident book's file too, and are counted under `counter`.
void ScenarioEngine::forget_retired(const std::vector<IncidentKey>& retired, const char* counter) {
  if (retired.empty()) return;
  if (journal_) {
    try {
      journal_->forget(retired);
    } catch (const std::exception& e) {  // read back at the next start, they are retired again then
      log()->error("[{}] {} retired incident(s) not removed from the incident book: {}", kSource, retired.size(),
                   e.what());
    }
  }
  std::lock_guard lk(counters_mu_);
  counters_[counter] += retired.size();
}

// H8: a camera that went away, or an id announced once, is forgotten after the retention;
// its owner may announce another in its place. 1,000 slots a tick: a million cameras are
// swept every 100 s, for some tens of microseconds a tick.
void ScenarioEngine::forget_unseen_cameras(int64_t now) {
  const auto gone = cameras_.forget_unseen(now - policy_.camera_retention_ns, 1000);
  if (gone.empty()) return;
  for (const auto& c : gone)
    if (auto it = cameras_owned_.find(c.owner_instance); it != cameras_owned_.end() && --it->second == 0)
      cameras_owned_.erase(it);
  log()->info("[{}] {} camera(s) not heard from for {} minute(s) were forgotten (the first announced by {})", kSource,
              gone.size(), policy_.camera_retention_ns / 60'000'000'000, gone.front().owner_instance);
  std::lock_guard lk(counters_mu_);
  counters_["camera_registry/forgotten"] += gone.size();
}

// H6 of the review: a host killed mid-incident never revoked its grants; the agencies
// would keep video until each grant's own expiry with nobody having decided so. The audit
// log is the durable record of what was handed out, so the next start revokes what it
// shows live, openly: a REVOKE to the recipient and an audit record for each.
void ScenarioEngine::revoke_left_alive() {
  const int64_t now = now_ns();
  auto left = std::move(left_alive_);
  left_alive_.clear();
  for (const auto& r : left) {
    citylink::v1::VideoShareGrant g;
    g.set_grant_id(r.grant_id());
    g.set_incident_id(r.incident_id());
    g.set_incident_source(r.incident_source());
    g.set_recipient(r.recipient());
    for (const auto& c : r.camera_ids()) g.add_camera_ids(c);
    g.set_purpose(r.purpose());
    g.set_legal_basis(r.legal_basis());
    g.set_expires_unix_ns(now);
    g.set_action(citylink::v1::VideoShareGrant::ACTION_REVOKE);
    g.set_reason("the host stopped without revoking this grant (a crash or a kill); revoked at the next start");
    log()->warn("[{}] grant {} to {} for incident {} was left live by the previous run; revoking it", kSource,
                g.grant_id(), g.recipient(), g.incident_id());
    count("grants/revoked_at_start");
    emit(grant_topic(g.recipient()), as_wall(g), g.incident_id());
    audit(grant_audit(g, "video_grant.revoke", "grant " + g.grant_id() + " revoked at start: " + g.reason()));
  }
}

int64_t ScenarioEngine::now_ns() const { return anchor_wall_ns_ + (boot_clock_ns() - anchor_boot_ns_); }

int64_t ScenarioEngine::wall_ns(int64_t engine_ns) const { return engine_ns + (wall_clock_() - now_ns()); }

void ScenarioEngine::emit(const std::string& topic, const google::protobuf::Message& message,
                          const std::string& correlation_id) {
  citylink::v1::Envelope env;
  env.set_topic(topic);
  env.set_schema(message.GetTypeName());
  env.set_recipient(recipient_of(message));
  message.SerializeToString(env.mutable_payload());
  env.set_correlation_id(correlation_id);
  std::string bytes = env.SerializeAsString();
  // The console sees the decision, whether it leaves now or waits for room.
  if (observer_ && observer_->wants())
    if (const auto* d = dynamic_cast<const citylink::v1::DispatchSupport*>(&message)) observer_->dispatch(topic, *d);
  if (!held_[router_.options().is_critical(topic)].outputs.empty()) {
    // Nothing overtakes what waits in its class: a revoke never before its grant.
    hold_output(topic, std::move(bytes));
    send_held_outputs();
    return;
  }
  std::string why;
  const auto st = publisher_->publish(topic, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &why,
                                      Publisher::OnFull::keep);
  if (st == CITYLINK_ERR_BACKPRESSURE) return hold_output(topic, std::move(bytes));
  if (st != CITYLINK_OK) {
    // M8: a failed emit is an alarm and is not counted as emitted.
    log()->error("[{}] could not publish on {}: {}", kSource, topic, why);
    count("emit_failed/" + topic);
    return;
  }
  count("emitted/" + topic);
}

void ScenarioEngine::hold_output(const std::string& topic, std::string bytes) {
  auto& q = held_[router_.options().is_critical(topic)];
  if (q.outputs.size() >= kMaxHeldOutputs || q.bytes + bytes.size() > router_.options().queue_bytes) {
    uint64_t n;
    {
      std::lock_guard lk(counters_mu_);
      n = ++counters_["emit_failed/" + topic];
    }
    if (n <= 5 || n % 1000 == 0)
      log()->error("[{}] OUTPUT DROPPED on {} (#{}): the router's queue from the engine is full and {} output(s) ({} "
                   "bytes) already wait; the router is far behind (see the status table), or raise host.queue_bytes",
                   kSource, topic, n, q.outputs.size(), q.bytes);
    return;
  }
  q.bytes += bytes.size();
  q.outputs.push_back({topic, std::move(bytes)});
  count("emit_held/" + topic);
}

void ScenarioEngine::send_held_outputs() {
  for (auto* q : {&held_[1], &held_[0]}) {  // critical first, as the router serves them
    while (!q->outputs.empty()) {
      auto& h = q->outputs.front();
      std::string why;
      const auto st = publisher_->publish(h.topic, reinterpret_cast<const uint8_t*>(h.bytes.data()), h.bytes.size(),
                                          &why, Publisher::OnFull::keep);
      if (st == CITYLINK_ERR_BACKPRESSURE) break;  // still no room in this class; the next try is soon
      if (st == CITYLINK_OK) {
        count("emitted/" + h.topic);
      } else {
        log()->error("[{}] could not publish on {}: {}", kSource, h.topic, why);
        count("emit_failed/" + h.topic);
      }
      q->bytes -= h.bytes.size();
      q->outputs.pop_front();
    }
  }
}

void ScenarioEngine::drop_held_outputs(const char* when) {
  if (!holding()) return;
  log()->error("[{}] {} output(s) still waited for room in the router's queue {}; they are lost (counted as "
               "emit_failed)",
               kSource, held_[0].outputs.size() + held_[1].outputs.size(), when);
  for (auto& q : held_) {
    for (const auto& h : q.outputs) count("emit_failed/" + h.topic);
    q.outputs.clear();
    q.bytes = 0;
  }
}

void ScenarioEngine::audit(citylink::v1::AuditRecord record) {
  record.set_record_id("A-" + std::to_string(++audit_seq_));
  if (record.actor().empty()) record.set_actor(kSource);  // an operator's action names the operator
  // Scenarios fill valid_until from their books, in engine time; the record says wall time.
  if (record.valid_until_unix_ns() != 0) record.set_valid_until_unix_ns(wall_ns(record.valid_until_unix_ns()));
  record.set_time_unix_ns(wall_clock_());
  if (audit_store_) {
    // Stored first, so what the auditor receives carries its place in the chain.
    try {
      record = audit_store_->append(std::move(record)).record;
    } catch (const std::exception& e) {
      log()->error("[{}] AUDIT NOT STORED ({}, incident {}): {}", kSource, record.action(), record.incident_id(),
                   e.what());
      count("audit/store_failed");
    }
  }
  const std::string topic = "audit." + record.action().substr(0, record.action().find('.'));
  emit(topic, record, record.incident_id());
}

void ScenarioEngine::reject(const std::string& scenario, const std::string& reason, const std::string& detail) {
  const std::string key = scenario + "/" + reason;
  uint64_t n;
  {
    std::lock_guard lk(counters_mu_);
    n = ++counters_[key];
  }
  if (n <= 5 || n % 1000 == 0) log()->warn("[{}] {} rejected ({}, #{}): {}", kSource, scenario, reason, n, detail);
}

void ScenarioEngine::note(const std::string& scenario, const std::string& line) {
  count(scenario + "/fired");
  log()->info("[{}] {}: {}", kSource, scenario, line);
}

void ScenarioEngine::count(const std::string& key) {
  std::lock_guard lk(counters_mu_);
  ++counters_[key];
}

std::map<std::string, uint64_t> ScenarioEngine::counters() const {
  std::lock_guard lk(counters_mu_);
  return counters_;
}

}  // namespace citylink::platform::scenarios
