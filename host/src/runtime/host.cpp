// The host: config in, bus and plugin instances up, counters out.
#include <citylink/host/allow_list.hpp>
#include <citylink/host/audit_store.hpp>
#include <citylink/host/child_process.hpp>
#include <citylink/host/config_schema.hpp>
#include <citylink/host/descriptor.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/event_feed.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/management_server.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/plugin_file.hpp>
#include <citylink/host/scenarios/engine.hpp>

#include "../config/yaml_reader.hpp"
#include "../scenarios/catalog.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <sstream>
#include <thread>

namespace citylink::host {
namespace {

std::atomic<bool> g_signalled{false};
std::atomic<bool> g_held{false};  // a StopSignals is alive
extern "C" void on_signal(int) { g_signalled = true; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Host::Host(CityConfig config) : config_(std::move(config)), ctx_(1) {
  set_log_level(config_.host.log_level);
  RouterOptions ro;
  ro.max_message_bytes = config_.host.max_message_bytes;
  ro.queue_depth = config_.host.queue_depth;
  ro.queue_bytes = config_.host.queue_bytes;
  ro.critical_topics = config_.host.critical_topics;
  ro.origin = config_.city;
  router_ = std::make_unique<Router>(ctx_, ro);
}

Host::~Host() {
  stop();
  http_.reset();
  clients_.clear();
  remote_.reset();
  engine_.reset();
  registry_.clear();
  router_.reset();
}

void Host::start() {
  if (started_) return;
  started_ = true;
  if (std::any_of(config_.plugins.begin(), config_.plugins.end(),
                  [](const PluginEntry& p) { return p.enabled && p.durable; })) {
    // Like the audit log: an outbox that cannot be opened stops the city, because delivery
    // without it is not a guarantee the host may quietly drop.
    OutboxOptions oo;
    oo.path = config_.host.outbox.empty() ? config_.host.state_dir / "outbox.db" : config_.host.outbox;
    oo.max_bytes = config_.host.outbox_max_mb << 20;
    oo.fsync_each_commit = config_.host.outbox_fsync;
    outbox_ = std::make_shared<Outbox>(oo);
    router_->set_admission_gate(outbox_);
    log()->info("outbox: {}", oo.path.string());
  }
  router_->start();
  {
    // A script's client is subscribed before any plugin starts, as instances are: what a
    // plugin publishes while the city starts waits in the client's queue for the script.
    std::lock_guard lk(clients_mu_);
    for (const auto& c : config_.clients)
      if (attached_.count(c.name)) clients_.emplace(c.name, std::make_unique<LocalClient>(ctx_, *router_, c));
  }
  log()->info("city '{}': starting {} plugin instance(s) from {}", config_.city, config_.plugins.size(),
              config_.source.string());
  if (!config_.host.audit_log.empty() && !audit_store_) {
    // A configured audit log that cannot be opened stops the city: grants without the
    // record the law requires are not an option the host picks on its own.
    audit_store_ = std::make_shared<AuditStore>(config_.host.audit_log);
    log()->info("audit log: {}", config_.host.audit_log.string());
  }
  if (config_.host.http.enabled && !events_) events_ = std::make_shared<EventFeed>(config_.host.http.event_queue);
  auto scenario_list = scenarios::build_scenarios(config_.scenarios, ConfigReader(config_.source.string(), config_.base_dir));
  if (!scenario_list.empty()) {
    engine_ = std::make_unique<scenarios::ScenarioEngine>(std::move(scenario_list), *router_, ctx_,
                                                          scenarios::input_policy(config_));
    if (audit_store_) engine_->set_audit_store(audit_store_);
    if (events_) engine_->set_observer(feed_observer(events_));
    engine_->start();
    if (config_.incident_authority.empty())
      log()->warn("no source is authorised to raise incidents (incident_authority is empty), so every incident will "
                  "be refused; list each event code with its topic and source instances");
    const bool auditor =
        std::any_of(config_.plugins.begin(), config_.plugins.end(),
                    [](const PluginEntry& p) { return p.enabled && p.recipient == kAuditRecipient; }) ||
        std::any_of(config_.remote.clients.begin(), config_.remote.clients.end(),
                    [](const ClientEntry& c) { return c.recipient == kAuditRecipient; }) ||
        std::any_of(config_.clients.begin(), config_.clients.end(),
                    [](const ClientEntry& c) { return c.recipient == kAuditRecipient; });
    if (!auditor)
      log()->warn("no instance is bound to recipient '{}'; audit records are counted but reach no one", kAuditRecipient);
  }
  if (!config_.remote.bind.empty()) {
    // A remote endpoint that cannot start is reported like a plugin that cannot: the city
    // runs on without it, and nobody is admitted unauthenticated in its place.
    try {
      remote_ = std::make_unique<RemoteEndpoint>(ctx_, *router_, config_.remote);
      remote_->start();
    } catch (const std::exception& e) {
      remote_.reset();
      failures_.push_back({"remote", e.what()});
      log()->error("[remote] not started: {}", e.what());
    }
  }
  // Create everything first so every subscriber's queue exists before the first publisher
  // starts: start order in the config then cannot lose messages.
  std::vector<std::unique_ptr<PluginInstance>> created;
  for (const auto& entry : config_.plugins) {
    if (!entry.enabled) {
      log()->info("[{}] disabled in the city config", entry.instance_id);
      continue;
    }
    try {
      created.push_back(create_instance(entry));
    } catch (const std::exception& e) {
      failures_.push_back({entry.instance_id, e.what()});
      log()->error("[{}] not started: {}", entry.instance_id, e.what());
    }
  }
  for (auto& inst : created) {
    try {
      inst->start();
      std::lock_guard lk(instances_mu_);
      registry_.add_instance(std::move(inst));
    } catch (const std::exception& e) {
      failures_.push_back({inst->id(), e.what()});
      log()->error("[{}] not started: {}", inst->id(), e.what());
    }
  }
  if (outbox_) {
    // Rows no durable instance of this config will take (renamed, removed, disabled, no
    // longer durable) wait in the file; said once at start so they are not forgotten.
    for (const auto& row : outbox_->subscribers()) {
      const auto& [subscriber, n] = row;
      const bool taken = std::any_of(config_.plugins.begin(), config_.plugins.end(), [&](const PluginEntry& p) {
        return p.enabled && p.durable && p.instance_id == row.first;
      });
      if (!taken)
        log()->warn("outbox {} holds {} message(s) for '{}', which is not an enabled durable instance of this city "
                    "config; they wait there until an instance of that name is durable again",
                    outbox_->path().string(), n, subscriber);
    }
  }
  // Now that the agencies' instances run, what a crashed previous run left live is revoked.
  if (engine_) engine_->revoke_grants_left_alive();
  if (config_.host.http.enabled) {
    // Like the remote endpoint: an API that cannot listen is reported, and the city runs.
    try {
      http_ = std::make_unique<ManagementServer>(*this, config_.host.http);
      http_->start();
    } catch (const std::exception& e) {
      http_.reset();
      failures_.push_back({"http", e.what()});
      log()->error("[http] management API not started: {}", e.what());
    }
  }
}

const PluginEntry& Host::entry_of(const std::string& instance_id) const {
  for (const auto& e : config_.plugins)
    if (e.instance_id == instance_id) return e;
  throw std::out_of_range("the city config has no instance '" + instance_id +
                          "'; GET /api/instances lists the instances it has");
}

void Host::announce(const std::string& instance_id, const std::string& state, const std::string& actor,
                    const std::string& detail) {
  log()->info("[{}] {} by {}{}", instance_id, state, actor, detail.empty() ? "" : ": " + detail);
  if (events_ && events_->has_listeners())
    events_->publish("instance", nlohmann::json{{"instance_id", instance_id}, {"state", state}, {"actor", actor},
                                                {"detail", detail}}
                                     .dump());
}

void Host::enable_instance(const std::string& instance_id, const std::string& actor) {
  const PluginEntry& entry = entry_of(instance_id);
  std::lock_guard lk(instances_mu_);
  if (!started_) throw std::logic_error("the host is not running");
  if (registry_.instance(instance_id))
    throw std::logic_error("instance '" + instance_id + "' is already enabled; restart it instead");
  failures_.erase(std::remove_if(failures_.begin(), failures_.end(),
                                 [&](const InstanceFailure& f) { return f.instance_id == instance_id; }),
                  failures_.end());
  try {
    auto inst = create_instance(entry);
    inst->start();
    registry_.add_instance(std::move(inst));
  } catch (const std::exception& e) {
    failures_.push_back({instance_id, e.what()});
    announce(instance_id, "failed", actor, e.what());
    throw;
  }
  announce(instance_id, "running", actor, "enabled");
}

void Host::disable_instance(const std::string& instance_id, const std::string& actor) {
  entry_of(instance_id);
  std::unique_ptr<PluginInstance> gone;
  {
    std::lock_guard lk(instances_mu_);
    if (!started_) throw std::logic_error("the host is not running");
    gone = registry_.remove_instance(instance_id);
    if (!gone) {
      const bool failed = std::any_of(failures_.begin(), failures_.end(),
                                      [&](const InstanceFailure& f) { return f.instance_id == instance_id; });
      if (!failed) throw std::logic_error("instance '" + instance_id + "' is already disabled");
      failures_.erase(std::remove_if(failures_.begin(), failures_.end(),
                                     [&](const InstanceFailure& f) { return f.instance_id == instance_id; }),
                      failures_.end());
    }
  }
  // Stopped and destroyed outside the lock: a slow plugin stop must not block the operator's view.
  gone.reset();
  announce(instance_id, "disabled", actor);
}

void Host::restart_instance(const std::string& instance_id, const std::string& actor) {
  entry_of(instance_id);
  {
    std::lock_guard lk(instances_mu_);
    if (!registry_.instance(instance_id) &&
        std::none_of(failures_.begin(), failures_.end(),
                     [&](const InstanceFailure& f) { return f.instance_id == instance_id; }))
      throw std::logic_error("instance '" + instance_id + "' is disabled; enable it instead");
  }
  disable_instance(instance_id, actor);
  enable_instance(instance_id, actor);
}

std::vector<InstanceReport> Host::instance_reports() const {
  std::lock_guard lk(instances_mu_);
  std::vector<InstanceReport> out;
  for (const auto& e : config_.plugins) {
    InstanceReport r;
    r.instance_id = e.instance_id;
    r.plugin_id = e.plugin_id;
    r.isolation = e.isolated() ? "process" : "none";
    r.recipient = e.recipient;
    r.enabled_in_config = e.enabled;
    r.granted_publish = e.publish_grants;
    r.granted_subscribe = e.subscriptions;
    if (const auto* i = registry_.instance(e.instance_id)) {
      r.plugin_id = i->plugin_id();
      r.state = to_string(i->state());
      r.where = i->where();
      r.last_error = i->last_error();
      r.descriptor = i->descriptor();
      r.granted_publish = i->publish_grants();
      r.granted_subscribe = i->subscriptions();
      r.counters = i->counters()->snapshot();
    } else {
      r.state = "disabled";
      for (const auto& f : failures_)
        if (f.instance_id == e.instance_id) {
          r.state = "failed";
          r.last_error = f.reason;
        }
    }
    out.push_back(std::move(r));
  }
  return out;
}

void Host::probe(const std::filesystem::path& file, const std::string& sha256) {
  if (probe_command_.empty()) return;
  std::error_code ec;
  const std::string path = std::filesystem::weakly_canonical(file, ec).string();
  const std::string key = path + "#" + sha256;
  auto it = probe_failures_.find(key);
  if (it == probe_failures_.end()) {
    static constexpr std::chrono::milliseconds kProbeTimeout{10000};
    auto argv = probe_command_;
    argv.insert(argv.end(), {path, "--sha256", sha256});
    const auto r = run_child(argv, kProbeTimeout);
    std::string reason;
    if (r.timed_out || r.signal)
      reason = "plugin file '" + path + "' " + describe(r, kProbeTimeout) +
               " while loading in a probe process; it was not loaded into the host";
    it = probe_failures_.emplace(key, reason).first;
  }
  // A probe that ran and reported an ordinary load error falls through: loading in-process
  // gives the same error with its full message.
  if (!it->second.empty()) throw LoadError(it->second);
}

void Host::check_config_schema(const PluginEntry& entry, const PluginDescriptor& d) const {
  if (d.config_schema.empty()) return;
  const auto schema = nlohmann::json::parse(d.config_schema, nullptr, false);
  const auto config = nlohmann::json::parse(entry.config_json, nullptr, false);
  std::vector<std::string> ignored;
  const auto violations = validate_config(schema, config, &ignored);
  if (violations.empty()) return;
  const std::string where = config_.source.string() + ":" + std::to_string(entry.line) + ": plugins['" +
                            entry.instance_id + "'].config";
  std::string all;
  for (const auto& v : violations) all += (all.empty() ? "" : "; ") + where + v.path + " " + v.message;
  if (config_.host.strict_config)
    throw ConfigError(all + " (the plugin's config_schema; fix the config, host.strict_config is on)");
  for (const auto& v : violations)
    log()->warn("{}{} {} (the plugin's config_schema; with host.strict_config or --strict-config this refuses the "
                "instance)",
                where, v.path, v.message);
}

std::unique_ptr<PluginInstance> Host::create_instance(const PluginEntry& entry) {
  if (entry.is_python()) return create_python_instance(entry);
  // Which code may run is decided before any of it runs, even in the probe process.
  LoadPolicy policy;
  policy.rules.allow_symlinks = config_.host.allow_symlinks;
  policy.rules.check_ownership = true;
  const auto& allow = config_.allow_list;
  const PluginFile early = PluginFile::open(entry.file, policy.rules);
  if (config_.has_allow_list) admit_file(allow, entry.file, early.sha256(), entry.plugin_id);
  // The probe child and the host load the bytes that were checked here, or nothing: a file
  // swapped in between is refused, so what crashed (or not) in the probe is what is loaded.
  const std::string checked = early.sha256();
  policy.admit = [&](const PluginFile& f) {
    if (f.sha256() != checked)
      throw LoadError("plugin file '" + f.path().string() + "' changed while the host was loading it (SHA-256 " +
                      f.sha256() + ", checked " + checked + "); it was not loaded. Find out who replaced it");
    if (config_.has_allow_list) admit_file(allow, f.path(), f.sha256(), entry.plugin_id);
  };
  probe(entry.file, checked);
  auto lib = registry_.library(entry.file, policy);
  std::vector<std::string> ids;
  for (const auto& d : lib->descriptors()) ids.push_back(d.id);
  std::string plugin_id = entry.plugin_id;
  if (plugin_id.empty()) {
    if (ids.size() != 1) {
      throw ConfigError(config_.source.string() + ":" + std::to_string(entry.line) + ": plugins['" +
                        entry.instance_id + "']: '" + entry.file.string() + "' provides " +
                        std::to_string(ids.size()) + " plugins; choose one with `plugin:` (" + join(ids) + ")");
    }
    plugin_id = ids[0];
  }
  if (!lib->find(plugin_id)) {
    throw ConfigError(config_.source.string() + ":" + std::to_string(entry.line) + ": plugins['" + entry.instance_id +
                      "'].plugin: '" + entry.file.string() + "' has no plugin '" + plugin_id +
                      "'; it provides: " + join(ids));
  }
  const PluginDescriptor& chosen = *lib->find(plugin_id);
  if (config_.has_allow_list) {
    // A library loaded earlier for another instance is checked again by what was loaded.
    admit_plugin(admit_file(allow, entry.file, lib->sha256(), plugin_id), entry.file, plugin_id, chosen.version);
  } else if (unpinned_logged_.insert(lib->sha256()).second) {
    log()->warn("[{}] plugin file {} (SHA-256 {}) is loaded without an allow-list; after review, pin it with "
                "allow_list: [{{plugin: {}, sha256: {}}}]",
                entry.instance_id, entry.file.string(), lib->sha256(), plugin_id, lib->sha256());
  }
  check_config_schema(entry, chosen);
  auto o = instance_options(entry, plugin_id);
  if (entry.isolated()) {
    if (worker_command_.empty())
      throw ConfigError(config_.source.string() + ":" + std::to_string(entry.line) + ": plugins['" +
                        entry.instance_id + "'].isolation: this host cannot start worker processes (no worker "
                        "command); run it with `citylink run`, or set `isolation: none` for trusted code");
    o.worker.command = worker_command_;
    o.worker.plugin_file = lib->path().string();
    o.worker.plugin_sha256 = lib->sha256();
  }
  return std::make_unique<PluginInstance>(lib, std::move(o), *router_, ctx_);
}

// A Python plugin: the host checks and hashes the file like a library, learns the
// descriptor from the Python worker's scanner in a child process (no Python runs in the
// host), and the instance runs in a Python worker speaking the worker protocol.
std::unique_ptr<PluginInstance> Host::create_python_instance(const PluginEntry& entry) {
  const std::string where = config_.source.string() + ":" + std::to_string(entry.line) + ": plugins['" +
                            entry.instance_id + "']";
  if (python_command_.empty())
    throw ConfigError(where + ".runtime: this host cannot run Python plugins (no Python worker command); run it with "
                      "`citylink run` or citylink.Host");
  PluginFileRules rules;
  rules.allow_symlinks = config_.host.allow_symlinks;
  rules.check_ownership = true;
  const PluginFile file = PluginFile::open(entry.file, rules);
  std::vector<AllowMatch> allowed;
  if (config_.has_allow_list) allowed = admit_file(config_.allow_list, entry.file, file.sha256(), entry.plugin_id);
  auto argv = python_command_;
  argv.insert(argv.end(), {"--describe", "--plugin", entry.file.string(), "--sha256", file.sha256(), "--class",
                           entry.class_name});
  // The scan runs the module's top level: with the worker's environment and limits.
  if (entry.memory_mb) argv.insert(argv.end(), {"--memory-mb", std::to_string(entry.memory_mb)});
  if (entry.open_files) argv.insert(argv.end(), {"--open-files", std::to_string(entry.open_files)});
  if (entry.cpu_seconds) argv.insert(argv.end(), {"--cpu-seconds", std::to_string(entry.cpu_seconds)});
  static constexpr std::chrono::milliseconds kScanTimeout{30000};
  const auto scan = run_child(argv, kScanTimeout, &plugin_environment());
  if (!scan.ok()) {
    std::string err = scan.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
    throw LoadError("Python plugin '" + entry.file.string() + "' class '" + entry.class_name + "' could not be read: " +
                    describe(scan, kScanTimeout) + (err.empty() ? "" : ":\n" + err));
  }
  auto d = descriptor_from_json(scan.out, "Python plugin '" + entry.file.string() + "' class " + entry.class_name);
  if (!entry.plugin_id.empty() && entry.plugin_id != d.id)
    throw ConfigError(where + ".plugin: '" + entry.file.string() + "' class " + entry.class_name + " is plugin '" +
                      d.id + "', not '" + entry.plugin_id + "'");
  if (config_.has_allow_list) {
    admit_plugin(allowed, entry.file, d.id, d.version);
  } else if (unpinned_logged_.insert(file.sha256()).second) {
    log()->warn("[{}] Python plugin file {} (SHA-256 {}) is loaded without an allow-list; after review, pin it with "
                "allow_list: [{{plugin: {}, sha256: {}}}]",
                entry.instance_id, entry.file.string(), file.sha256(), d.id, file.sha256());
  }
  check_config_schema(entry, d);
  auto o = instance_options(entry, d.id);
  o.worker.command = python_command_;
  o.worker.command.insert(o.worker.command.end(), {"--class", entry.class_name});
  o.worker.plugin_file = entry.file.string();
  o.worker.plugin_sha256 = file.sha256();
  return std::make_unique<PluginInstance>(std::move(d), std::move(o), *router_, ctx_);
}

// What every instance gets from its entry, whatever its code is.
InstanceOptions Host::instance_options(const PluginEntry& entry, const std::string& plugin_id) const {
  InstanceOptions o;
  o.instance_id = entry.instance_id;
  o.plugin_id = plugin_id;
  o.config_json = entry.config_json;
  o.queue_depth = entry.queue_depth;
  o.publish_grants = entry.publish_grants;
  o.subscriptions = entry.subscriptions;
  o.grants_requested = entry.grants_requested;
  o.recipient = entry.recipient;
  if (entry.isolated()) {
    o.isolated = true;
    o.worker.plugin_id = plugin_id;
    o.worker.max_message_bytes = config_.host.max_message_bytes;
    o.worker.restart_limit = entry.restart_limit;
    o.worker.backoff = std::chrono::milliseconds(entry.backoff_ms);
    o.worker.heartbeat_timeout = std::chrono::milliseconds(entry.heartbeat_timeout_ms);
    o.worker.memory_mb = entry.memory_mb;
    o.worker.open_files = entry.open_files;
    o.worker.cpu_seconds = entry.cpu_seconds;
  } else {
    o.watchdog.message = std::chrono::milliseconds(entry.watchdog_message_ms);
    o.watchdog.call = std::chrono::milliseconds(entry.watchdog_call_ms);
  }
  if (entry.durable) {
    if (entry.isolated() && entry.restart_limit < static_cast<int>(entry.max_deliveries))
      log()->warn("[{}] worker.restart_limit ({}) is below durable.max_deliveries ({}): a message that kills its "
                  "worker every time fails the instance before it is dead-lettered, and its queue waits in the "
                  "outbox; raise restart_limit to at least max_deliveries",
                  entry.instance_id, entry.restart_limit, entry.max_deliveries);
    DurableSettings d;
    d.topics = entry.durable_topics;
    d.ack_timeout = std::chrono::milliseconds(entry.ack_timeout_ms);
    d.max_deliveries = entry.max_deliveries;
    d.in_flight = entry.in_flight;
    o.durable = d;
    o.outbox = outbox_;
  }
  return o;
}

void Host::stop() {
  if (!started_) return;
  if (http_) http_->stop();  // no operator call reaches a host that is going away
  if (events_) events_->close();
  std::lock_guard ilk(instances_mu_);
  started_ = false;
  {
    std::lock_guard lk(clients_mu_);
    for (auto& [name, c] : clients_) c->close();
  }
  if (engine_) engine_->stop();
  if (remote_) remote_->stop();
  registry_.stop_all();
  router_->stop();
}

LocalClient& Host::client(const std::string& name) {
  std::lock_guard lk(clients_mu_);
  if (!started_) throw std::logic_error("the host is not running; start it before using client '" + name + "'");
  if (auto it = clients_.find(name); it != clients_.end()) return *it->second;
  for (const auto& c : config_.clients)
    if (c.name == name) return *clients_.emplace(name, std::make_unique<LocalClient>(ctx_, *router_, c)).first->second;
  std::string known;
  for (const auto& c : config_.clients) known += (known.empty() ? "" : ", ") + c.name;
  throw std::invalid_argument("the city config has no client '" + name + "' (" +
                              (known.empty() ? std::string("it lists none") : "it lists: " + known) +
                              "); add `clients: [{name: " + name +
                              ", grants: {publish: [...], subscribe: [...]}}]` to grant it topics");
}

StopSignals::StopSignals() {
  g_signalled = false;
  old_int_ = std::signal(SIGINT, on_signal);
  old_term_ = std::signal(SIGTERM, on_signal);
  g_held = true;
}

StopSignals::~StopSignals() {
  g_held = false;
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
}

bool StopSignals::requested() { return g_signalled; }

void Host::run_for(std::chrono::milliseconds duration) {
  const bool own = !g_held;
  void (*old_int)(int) = nullptr;
  void (*old_term)(int) = nullptr;
  if (own) {
    g_signalled = false;
    old_int = std::signal(SIGINT, on_signal);
    old_term = std::signal(SIGTERM, on_signal);
  }
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (!g_signalled && (duration.count() == 0 || std::chrono::steady_clock::now() < deadline))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (own) {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
}

std::vector<InstanceStatus> Host::status() const {
  std::lock_guard ilk(instances_mu_);
  std::vector<InstanceStatus> out;
  for (const auto& i : registry_.instances())
    out.push_back({i->id(), i->plugin_id(), to_string(i->state()), i->counters()->snapshot()});
  for (const auto& f : failures_) out.push_back({f.instance_id, "", "failed", {}});
  if (remote_)
    for (const auto& [name, counters] : remote_->counters()) out.push_back({name, "", "remote", counters->snapshot()});
  {
    std::lock_guard lk(clients_mu_);
    for (const auto& [name, c] : clients_) out.push_back({name, "", "client", c->counters()->snapshot()});
  }
  if (engine_) out.push_back({scenarios::ScenarioEngine::kSource, "", engine_->running() ? "running" : "stopped",
                   engine_->bus_counters()->snapshot()});
  return out;
}

std::string Host::metrics_prometheus() const {
  std::ostringstream o;
  auto family = [&](const char* name, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n";
  };
  const auto st = status();
  auto each = [&](const char* name, auto get) {
    for (const auto& s : st) o << name << "{instance=\"" << s.instance_id << "\"} " << get(s.counters) << '\n';
  };
  family("citylink_published_total", "Messages accepted by the router from the instance.");
  each("citylink_published_total", [](const CounterSnapshot& c) { return c.published; });
  family("citylink_delivered_total", "Messages the instance handled successfully.");
  each("citylink_delivered_total", [](const CounterSnapshot& c) { return c.delivered; });
  family("citylink_failed_total", "Messages whose on_message returned an error.");
  each("citylink_failed_total", [](const CounterSnapshot& c) { return c.failed; });
  family("citylink_dropped_total", "Messages dropped, by where (outgoing/incoming queue full, not running).");
  for (const auto& s : st) {
    o << "citylink_dropped_total{instance=\"" << s.instance_id << "\",where=\"outgoing\"} " << s.counters.dropped_outgoing << '\n';
    o << "citylink_dropped_total{instance=\"" << s.instance_id << "\",where=\"incoming\"} " << s.counters.dropped_incoming << '\n';
    o << "citylink_dropped_total{instance=\"" << s.instance_id << "\",where=\"stopped\"} " << s.counters.dropped_stopped << '\n';
  }
  family("citylink_critical_dropped_total",
         "Critical messages (host.critical_topics) dropped at a full queue; each is also logged by name. Alarm on any.");
  each("citylink_critical_dropped_total", [](const CounterSnapshot& c) { return c.dropped_critical; });
  family("citylink_worker_lost_total",
         "Messages handed to an isolated instance's worker process that ended before handling them.");
  each("citylink_worker_lost_total", [](const CounterSnapshot& c) { return c.lost_in_worker; });
  family("citylink_worker_restarts_total", "Restarts of an isolated instance's worker process.");
  each("citylink_worker_restarts_total", [](const CounterSnapshot& c) { return c.restarts; });
  family("citylink_watchdog_overruns_total",
         "In-process on_message calls that ran past the instance's watchdog.message_ms budget.");
  each("citylink_watchdog_overruns_total", [](const CounterSnapshot& c) { return c.overruns; });
  family("citylink_refused_durable_total",
         "Publishes refused because a durable subscriber's outbox could not store them (full or unwritable disk).");
  each("citylink_refused_durable_total", [](const CounterSnapshot& c) { return c.refused_durable; });
  family("citylink_durable_accepted_total", "Envelopes written to the outbox for a durable subscriber.");
  each("citylink_durable_accepted_total", [](const CounterSnapshot& c) { return c.durable_accepted; });
  family("citylink_durable_acked_total", "Durable deliveries the subscriber acked.");
  each("citylink_durable_acked_total", [](const CounterSnapshot& c) { return c.acked; });
  family("citylink_durable_redelivered_total", "Durable deliveries that were redeliveries.");
  each("citylink_durable_redelivered_total", [](const CounterSnapshot& c) { return c.redelivered; });
  family("citylink_dead_letters_total", "Messages moved to the outbox's dead letters (each also logged). Alarm on any.");
  each("citylink_dead_letters_total", [](const CounterSnapshot& c) { return c.dead_lettered; });
  family("citylink_outbox_failures_total", "Outbox writes that failed (retried; publishers refused meanwhile).");
  each("citylink_outbox_failures_total", [](const CounterSnapshot& c) { return c.outbox_failures; });
  o << "# HELP citylink_outbox_depth Durable envelopes waiting for the subscriber's ack.\n"
       "# TYPE citylink_outbox_depth gauge\n";
  each("citylink_outbox_depth", [](const CounterSnapshot& c) { return c.outbox_depth; });
  o << "# HELP citylink_outbox_oldest_seconds Age of the oldest durable envelope waiting for an ack.\n"
       "# TYPE citylink_outbox_oldest_seconds gauge\n";
  each("citylink_outbox_oldest_seconds", [](const CounterSnapshot& c) { return c.outbox_oldest_ms / 1000.0; });
  family("citylink_rejected_total", "Messages the router refused, by reason.");
  for (const auto& s : st)
    for (int r = 0; r < static_cast<int>(RejectReason::count); ++r)
      o << "citylink_rejected_total{instance=\"" << s.instance_id << "\",reason=\""
        << to_string(static_cast<RejectReason>(r)) << "\"} " << s.counters.rejected[r] << '\n';
  o << "# HELP citylink_undeliverable_total Agency outputs (grant/dispatch/audit) no bound instance received.\n"
       "# TYPE citylink_undeliverable_total counter\ncitylink_undeliverable_total "
    << router_->undeliverable() << '\n';
  if (remote_) {
    const auto& r = remote_->refusals();
    o << "# HELP citylink_remote_refused_total Connections the CURVE endpoint refused, by why.\n"
         "# TYPE citylink_remote_refused_total counter\n"
      << "citylink_remote_refused_total{why=\"unknown_key\"} " << r.unknown_key.load() << '\n'
      << "citylink_remote_refused_total{why=\"no_curve\"} " << r.no_curve.load() << '\n'
      << "citylink_remote_refused_total{why=\"bad_handshake\"} " << r.bad_handshake.load() << '\n';
  }
  o << "# HELP citylink_instance_up 1 when the instance is running.\n# TYPE citylink_instance_up gauge\n";
  for (const auto& s : st) o << "citylink_instance_up{instance=\"" << s.instance_id << "\"} " << (s.state == "running") << '\n';
  return o.str();
}

std::string Host::scenario_table() const {
  if (!engine_) return "";
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "%-50s %10s\n", "scenario engine", "count");
  o << line;
  for (const auto& [key, n] : engine_->counters()) {
    std::snprintf(line, sizeof line, "%-50s %10llu\n", key.c_str(), static_cast<unsigned long long>(n));
    o << line;
  }
  return o.str();
}

std::string Host::status_table() const {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-9s %10s %10s %8s %9s %9s\n", "instance", "state", "published", "delivered",
                "failed", "rejected", "dropped");
  o << line;
  for (const auto& s : status()) {
    const auto& c = s.counters;
    std::snprintf(line, sizeof line, "%-24s %-9s %10llu %10llu %8llu %9llu %9llu\n", s.instance_id.c_str(),
                  s.state.c_str(), static_cast<unsigned long long>(c.published),
                  static_cast<unsigned long long>(c.delivered), static_cast<unsigned long long>(c.failed),
                  static_cast<unsigned long long>(c.rejected_total()),
                  static_cast<unsigned long long>(c.dropped_outgoing + c.dropped_incoming + c.dropped_stopped));
    o << line;
  }
  return o.str();
}

}  // namespace citylink::host
