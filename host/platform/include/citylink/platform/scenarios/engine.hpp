// The scenario engine: a bus component (handed to the host, citylink/host/bus_component.hpp)
// that keeps the camera registry and the incident book, and runs the platform scenarios
// configured for the city.
#pragma once

#include <citylink/platform/runtime.hpp>

#include <citylink/host/bus_component.hpp>
#include <citylink/host/city_config.hpp>
#include <citylink/platform/camera_registry.hpp>
#include <citylink/host/counters.hpp>
#include <citylink/host/inbox.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/platform/scenarios/incident_journal.hpp>
#include <citylink/platform/scenarios/scenario.hpp>
#include <citylink/v1/dispatch.pb.h>

#include <atomic>
#include <deque>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace citylink::host {
class AuditStore;
class Router;
class Publisher;
}  // namespace citylink::host

namespace citylink::platform::scenarios {

// What the city config trusts each source with. Deny by default: an event code nobody is
// authorised for is refused, and camera ids belong to the instance that announced them.
struct InputPolicy {
  std::vector<IncidentAuthority> authority;
  std::map<std::string, CameraPolicy> cameras;  // by instance id
  std::size_t max_cameras_per_instance = 10000;
  std::size_t max_open_incidents_per_source = 10000;
  std::size_t max_closed_incidents_per_source = 50000;
  int64_t incident_retention_ns = int64_t{24} * 3600 * 1'000'000'000;  // closed incidents kept this long
  int64_t camera_retention_ns = int64_t{24} * 3600 * 1'000'000'000;    // a camera not heard from is kept this long
};

// Reads the engine's input policy out of a city config.
InputPolicy input_policy(const CityConfig& config);

// Told of what the engine decides, on the engine's thread (the management API's live
// stream). wants() is asked first so no event is built when nobody listens.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual bool wants() const = 0;
  virtual void incident(const Incident& incident, Change change) = 0;
  virtual void grant(const citylink::v1::VideoShareGrant& grant) = 0;
  virtual void dispatch(const std::string& topic, const citylink::v1::DispatchSupport& dispatch) = 0;
};

// The books at one moment, for the operator's view.
struct EngineSnapshot {
  std::vector<Incident> incidents;        // open, and closed ones still retained
  std::vector<GrantBook::LiveGrant> grants;  // live video grants
};

class ScenarioEngine : public BusComponent, private ScenarioContext {
 public:
  static constexpr const char* kSource = kEngineName;

  // On `router`'s bus (a host's: Host::router(), Host::context()); the host it is handed to
  // starts and stops it.
  ScenarioEngine(std::vector<std::unique_ptr<Scenario>> scenarios, Router& router, zmq::context_t& ctx,
                 InputPolicy policy = {});
  ~ScenarioEngine() override;

  // BusComponent. start subscribes to camera.*, incident.*, sensor.reading and
  // analytics.tracking and starts the engine's thread; with an audit log it first reads
  // what a previous run left live, which plugins_started() then revokes (the agencies'
  // instances run by then, so the revocations reach them). stop handles what is queued,
  // then revokes every live grant.
  std::string name() const override { return kSource; }
  void start(const ComponentContext& context) override;
  void plugins_started() override { revoke_grants_left_alive(); }
  void stop() override;
  std::vector<std::string> publishes() const override;
  bool running() const override { return running_; }
  CounterSnapshot bus_counters() const override { return bus_counters_->snapshot(); }
  std::vector<ApiRoute> api_routes() override;

  // Handles one envelope, then one tick, on the calling thread as the engine's thread would.
  // Only for a driver that never starts this engine (the scenario fuzzer, fuzz/scenario_input.cpp),
  // whose thread then owns the books; throws std::logic_error on a started engine.
  void drive(const uint8_t* envelope, std::size_t size);

  // Counters per scenario and reason ("emergency_video_112/no_cameras" -> 2), and per input.
  std::map<std::string, uint64_t> counters() const override;
  // Asks the engine's thread to revoke, publish and audit every grant the audit log shows
  // still live from before this start (a host that crashed never revoked them). Call once
  // the agencies' instances run, so the revocations reach them.
  void revoke_grants_left_alive() { revoke_left_alive_.store(true, std::memory_order_release); }
  // Set before start(): the wall clock the engine's time is anchored to and converted back
  // to (default: the system clock). Tests step it to play an NTP step.
  void set_wall_clock(std::function<int64_t()> clock);
  // Set before start(); called on the engine's thread. start() sets one for the management
  // API's live stream when the host has one.
  void set_observer(std::shared_ptr<EngineObserver> observer) { observer_ = std::move(observer); }

  // Any thread. A copy of the incident and grant books, taken on the engine's thread between
  // two messages (so within one tick, 100 ms), its times the wall clock's; nullopt when the
  // engine is not running.
  std::optional<EngineSnapshot> snapshot();
  // Any thread: the camera registry is safe to query concurrently. Its times are the
  // engine's (clock_ns); shown to a person, they go through as_wall_ns.
  const CameraRegistry& camera_registry() const { return cameras_; }
  // Any thread: the engine's clock now (what its deadlines run on), and one of its times as
  // the wall clock says it now. The snapshot's and the revoked grant's times are wall times.
  int64_t clock_ns() const { return now_ns(); }
  int64_t as_wall_ns(int64_t engine_ns) const { return wall_ns(engine_ns); }
  // Any thread. An operator revokes a live grant: on the engine's thread it is revoked,
  // published to its recipient and audited with the operator's name and reason. Returns
  // the revoked grant, or nullopt with `why` (not live: unknown, expired or already revoked;
  // or the engine is not running).
  std::optional<citylink::v1::VideoShareGrant> revoke_grant(const std::string& grant_id, const std::string& operator_name,
                                                            const std::string& reason, std::string* why);

 private:
  void loop();
  // Runs `f` on the engine's thread and waits for it; false when the engine is not running.
  bool run_on_engine(std::function<void()> f);
  void run_calls();
  void handle(const uint8_t* envelope, std::size_t size);
  void tick();
  void forget_unseen_cameras(int64_t now);
  void forget_retired(const std::vector<IncidentKey>& retired, const char* counter);
  void revoke_left_alive();
  void on_grant(const citylink::v1::VideoShareGrant& g);
  // A grant of the book (engine time) with its times as the wall clock says them now.
  citylink::v1::VideoShareGrant as_wall(const citylink::v1::VideoShareGrant& g) const;
  void count(const std::string& key);
  void warn_unbound_recipients(const CityConfig& config);
  bool incident_allowed(const std::string& topic, const std::string& source, const citylink::v1::PlatformEvent& ev);
  bool camera_allowed(const std::string& source, const citylink::v1::CameraInfo& info);

  // ScenarioContext
  int64_t now_ns() const override;
  int64_t wall_ns(int64_t engine_ns) const override;
  const CameraRegistry& cameras() const override { return cameras_; }
  const IncidentBook& incidents() const override { return incidents_; }
  GrantBook& grants() override { return grants_; }
  void emit(const std::string& topic, const google::protobuf::Message& message,
            const std::string& correlation_id) override;
  void audit(citylink::v1::AuditRecord record) override;
  void reject(const std::string& scenario, const std::string& reason, const std::string& detail) override;
  void note(const std::string& scenario, const std::string& line) override;

  std::vector<std::unique_ptr<Scenario>> scenarios_;
  InputPolicy policy_;
  std::map<std::string, std::size_t> cameras_owned_;  // by instance; engine thread only
  Router& router_;
  zmq::context_t& ctx_;
  CameraRegistry cameras_;
  IncidentBook incidents_;
  // `host.incident_book`: the book on disk, read back at start (review H6); null: memory only.
  std::unique_ptr<IncidentJournal> journal_;
  GrantBook grants_;
  std::shared_ptr<InstanceCounters> bus_counters_;
  std::shared_ptr<AuditStore> audit_store_;
  std::shared_ptr<Publisher> publisher_;
  Inbox inbox_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> revoke_left_alive_{false};
  // Read from the audit log in start(), before this run can issue a grant of its own.
  std::vector<citylink::v1::AuditRecord> left_alive_;
  void open_incident_book(const CityConfig& config);
  // Review M8: an output the router's full queue refused waits here, in order, and leaves
  // before anything newer of its class; past the bound it is dropped with an alarm. One
  // queue per class, as the router has: a full telemetry queue never holds back a grant.
  struct HeldOutput {
    std::string topic;
    std::string bytes;
  };
  struct HeldQueue {
    std::deque<HeldOutput> outputs;
    std::size_t bytes = 0;
  };
  HeldQueue held_[2];  // [critical]; engine thread only (its stopping thread after it)
  bool holding() const { return !held_[0].outputs.empty() || !held_[1].outputs.empty(); }
  void hold_output(const std::string& topic, std::string bytes);
  void send_held_outputs();
  void drop_held_outputs(const char* when);
  void journal(const Incident& incident);
  int64_t next_retire_ns_ = 0;  // closed incidents are retired about once a minute
  // The engine's clock (review M7): the wall clock read once, advanced by CLOCK_BOOTTIME
  // (monotonic, and running through a suspend).
  std::function<int64_t()> wall_clock_;
  int64_t anchor_wall_ns_ = 0;
  int64_t anchor_boot_ns_ = 0;
  int64_t step_reported_ns_ = 0;  // the wall clock's step last logged
  mutable std::mutex counters_mu_;
  std::map<std::string, uint64_t> counters_;
  uint64_t audit_seq_ = 0;
  std::shared_ptr<EngineObserver> observer_;
  std::mutex calls_mu_;
  bool accepting_calls_ = false;
  std::deque<std::shared_ptr<std::packaged_task<void()>>> calls_;
};

}  // namespace citylink::platform::scenarios
