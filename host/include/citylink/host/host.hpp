// The CityLink host: builds the bus and every enabled plugin instance from a city config.
#pragma once

#include <citylink/host/bus_component.hpp>
#include <citylink/host/city_config.hpp>
#include <citylink/host/counters.hpp>
#include <citylink/host/local_client.hpp>
#include <citylink/host/outbox.hpp>
#include <citylink/host/registry.hpp>
#include <citylink/host/remote_endpoint.hpp>
#include <citylink/host/router.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace citylink::host {
class AuditStore;
class EventFeed;
class ManagementServer;

// A plugin entry the host could not bring up, and why. The host runs without it.
struct InstanceFailure {
  std::string instance_id;
  std::string reason;
};

// One instance of the city config as the operator sees it (the management API).
struct InstanceReport {
  std::string instance_id;
  std::string plugin_id;
  std::string state;      // running, stopped, failed, disabled, created
  std::string isolation;  // "process" or "none"
  std::string where;      // "in-process", "worker pid 1234", or empty
  std::string last_error;
  std::string recipient;
  bool enabled_in_config = true;
  std::optional<PluginDescriptor> descriptor;     // when the instance exists
  std::vector<std::string> granted_publish;       // what the city granted
  std::vector<std::string> granted_subscribe;
  CounterSnapshot counters;
};

struct InstanceStatus {
  std::string instance_id;
  std::string plugin_id;
  std::string state;
  CounterSnapshot counters;
};

// Holds SIGINT and SIGTERM for its lifetime (`citylink run`: from before the city starts
// until it has stopped), so a stop request during start or a second one during the drain
// does not kill the process mid-way; run_for returns at the first (review M2).
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static bool requested();

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
};

class Host {
 public:
  explicit Host(CityConfig config);

  // A command that loads a plugin file in a child process and exits 0 when it loads
  // (`citylink __probe`). When set, start() probes every library this way before loading
  // it in-process, so a library that crashes or hangs in init is reported, not fatal.
  void set_probe_command(std::vector<std::string> argv) { probe_command_ = std::move(argv); }
  // How to run `citylink worker` for instances with `isolation: process`. Without it such an
  // instance is refused (never run in the host's process instead).
  void set_worker_command(std::vector<std::string> argv) { worker_command_ = std::move(argv); }
  // How to run the Python worker (`python3 -I .../citylink/runner.py`) for `runtime: python`
  // entries; it also reads their descriptors (`--describe`). Without it they are refused.
  void set_python_command(std::vector<std::string> argv) { python_command_ = std::move(argv); }
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Starts the router, then loads, creates and starts every enabled plugin. A plugin that
  // fails is logged and listed in failures(); the others run.
  void start();
  // Stops every instance (newest first), drains and stops the router.
  void stop();

  // Blocks until `duration` passed or SIGINT/SIGTERM arrived (duration zero: until a signal).
  // Catches those signals itself unless a StopSignals is alive, which then also reports
  // one that came before (during start).
  void run_for(std::chrono::milliseconds duration);

  const CityConfig& config() const { return config_; }
  Router& router() { return *router_; }
  Registry& registry() { return registry_; }
  zmq::context_t& context() { return ctx_; }
  const std::vector<InstanceFailure>& failures() const { return failures_; }
  // Before start(): runs `component` on this host's bus (the platform's scenario engine,
  // citylink/platform/platform.hpp); the host owns it from now on and destroys it before the
  // router. Returns it. Throws std::logic_error once started or when the name is taken.
  BusComponent* add_component(std::unique_ptr<BusComponent> component);
  // The component of that name, or nullptr.
  BusComponent* component(const std::string& name) const;
  const std::vector<std::unique_ptr<BusComponent>>& components() const { return components_; }
  // The CURVE TCP endpoint, when the city config has `remote:` and it started; else nullptr.
  RemoteEndpoint* remote_endpoint() { return remote_.get(); }
  // Before start(): the script embedding this host will use client `name`, so its queue is
  // subscribed before any plugin starts and nothing published during the start is lost.
  void attach_client(const std::string& name) { attached_.insert(name); }
  // The local client `name` from the city config's `clients:` (a script embedding the host),
  // on the bus from start() when attached, else from the first call, until stop(). Throws
  // std::invalid_argument naming the configured clients and the fix, std::logic_error when
  // the host is not running.
  LocalClient& client(const std::string& name);
  // The durable outbox, when an enabled plugin entry is durable; else nullptr.
  Outbox* outbox() { return outbox_.get(); }
  std::vector<InstanceStatus> status() const;

  // Runtime control of one instance of the city config, from any thread while the host runs
  // (the management API); the rest of the city runs on. Each throws std::out_of_range for an
  // instance the city config does not list, std::logic_error when the instance is not in a
  // state to do it (enable a running one, disable one not running), and the loader's or the
  // plugin's error when it cannot start. `actor` is logged.
  void enable_instance(const std::string& instance_id, const std::string& actor);
  void disable_instance(const std::string& instance_id, const std::string& actor);
  void restart_instance(const std::string& instance_id, const std::string& actor);
  // Every instance the city config lists, in config order, then the remote and local clients.
  std::vector<InstanceReport> instance_reports() const;
  // The audit log, when host.audit_log is set; else nullptr.
  std::shared_ptr<AuditStore> audit_store() const { return audit_store_; }
  // Live events (incidents, grants, dispatches, instance changes) for the management API.
  const std::shared_ptr<EventFeed>& events() const { return events_; }
  // The management API, when host.http is set and it started; else nullptr.
  ManagementServer* management() { return http_.get(); }
  // Counters in the Prometheus text exposition format.
  std::string metrics_prometheus() const;
  // A fixed-width table of the counters, for the terminal.
  std::string status_table() const;
  // Each component's own counters (the scenario engine's decisions, refusals, outputs by
  // topic), for the terminal; empty without components.
  std::string component_table() const;

 private:
  void warn_if_queues_outgrow_memory() const;
  std::unique_ptr<PluginInstance> create_instance(const PluginEntry& entry);
  std::unique_ptr<PluginInstance> create_python_instance(const PluginEntry& entry);
  InstanceOptions instance_options(const PluginEntry& entry, const std::string& plugin_id) const;
  void probe(const std::filesystem::path& file, const std::string& sha256);
  // Warns about (or, with host.strict_config, refuses) a config that breaks the plugin's config_schema.
  void check_config_schema(const PluginEntry& entry, const PluginDescriptor& d) const;

  CityConfig config_;
  zmq::context_t ctx_;
  std::unique_ptr<Router> router_;
  Registry registry_;
  std::vector<InstanceFailure> failures_;
  bool started_ = false;
  std::vector<std::string> probe_command_;
  std::vector<std::string> worker_command_;
  std::vector<std::string> python_command_;
  std::vector<std::unique_ptr<BusComponent>> components_;  // in the order added
  std::unique_ptr<RemoteEndpoint> remote_;
  mutable std::mutex clients_mu_;
  std::map<std::string, std::unique_ptr<LocalClient>> clients_;  // by name; see client()
  std::set<std::string> attached_;
  std::shared_ptr<Outbox> outbox_;  // when a plugin entry is durable
  std::map<std::string, std::string> probe_failures_;  // canonical path -> reason
  std::set<std::string> unpinned_logged_;              // hashes already named in the no-allow-list warning
  const PluginEntry& entry_of(const std::string& instance_id) const;
  void announce(const std::string& instance_id, const std::string& state, const std::string& actor,
                const std::string& detail = {});
  // Guards registry_'s instances and failures_ once the host runs: the management API
  // enables and disables instances from its own threads.
  mutable std::recursive_mutex instances_mu_;
  std::shared_ptr<AuditStore> audit_store_;
  std::shared_ptr<EventFeed> events_;
  std::unique_ptr<ManagementServer> http_;
};

}  // namespace citylink::host
