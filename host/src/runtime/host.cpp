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
#include <citylink/host/topic.hpp>


#include <algorithm>
#include <atomic>
#include <csignal>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace citylink::host {
namespace {

std::atomic<bool> g_signalled{false};
std::atomic<bool> g_held{false};  // a StopSignals is alive
extern "C" void on_signal(int) { g_signalled = true; }

// Review M1: a thread inherits the signal mask of the thread that makes it. Every thread the
// host makes (the router, instances' dispatch threads and the plugins' own, worker
// supervisors, the engine, the HTTP servers) is made while this is alive, so none of them
// takes a SIGINT or SIGTERM meant for a stop, or sees EINTR from one: the signal goes to the
// caller's thread, which waits for it (run_for) or is a script's own (Python's handler). One
// that arrives meanwhile waits, and is taken when the caller's mask comes back.
class StopSignalsBlockedHere {
 public:
  StopSignalsBlockedHere() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old_);
  }
  ~StopSignalsBlockedHere() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  StopSignalsBlockedHere(const StopSignalsBlockedHere&) = delete;
  StopSignalsBlockedHere& operator=(const StopSignalsBlockedHere&) = delete;

 private:
  sigset_t old_;
};

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
  components_.clear();  // they hold the router
  registry_.clear();
  router_.reset();
}

void Host::start() {
  if (started_) return;
  started_ = true;
  const StopSignalsBlockedHere blocked;
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
  warn_if_queues_outgrow_memory();
  router_->start();
  {
    // A script's client is subscribed before any plugin starts, as instances are: what a
    // plugin publishes while the city starts waits in the client's queue for the script.
    std::lock_guard lk(clients_mu_);
    for (const auto& c : config_.clients) {
      if (!attached_.count(c.name)) continue;
      try {
        clients_.emplace(c.name, std::make_unique<LocalClient>(ctx_, *router_, c));
      } catch (const std::exception& e) {  // the city runs on without it, as without a failed plugin
        failures_.push_back({c.name, e.what()});
        log()->error("[{}] not started: {}", c.name, e.what());
      }
    }
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
  for (auto& c : components_) c->start(ComponentContext{config_, audit_store_, events_});
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
  for (auto& c : components_) c->plugins_started();
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
    const StopSignalsBlockedHere blocked;  // from a script's thread, too
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
  {
    const StopSignalsBlockedHere blocked;  // the watchdog's threads for stop and destroy
    gone.reset();
  }
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
  o.publish_rate = publish_rate_of(entry.publish_rate);
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

// Review H7: each queue is bounded, but a city of many instances with large bounds can still
// hold more than the machine has; without a budget to refuse it at load, say so at start.
void Host::warn_if_queues_outgrow_memory() const {
  const uint64_t bound = queue_memory_bound(config_);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const uint64_t physical = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  if (config_.host.memory_budget_mb == 0 && physical > 0 && bound > physical)
    log()->warn("the bus's queues may hold up to {} MiB when every subscriber stalls, more than this machine's {} MiB "
                "of memory; lower host.queue_bytes ({} MiB per queue), or set host.memory_budget_mb to refuse such a "
                "config at load",
                bound >> 20, physical >> 20, config_.host.queue_bytes >> 20);
}

void Host::stop() {
  const StopSignalsBlockedHere blocked;  // the watchdog's threads for stop and destroy, too
  if (!started_) return;
  if (http_) http_->stop();  // no operator call reaches a host that is going away
  if (events_) events_->close();
  std::lock_guard ilk(instances_mu_);
  started_ = false;
  {
    std::lock_guard lk(clients_mu_);
    for (auto& [name, c] : clients_) c->close();
  }
  // Review H6: the instances that only feed the components (the platform's bridge, the
  // cameras) stop first, so what they send while stopping is still handled; then the
  // components, whose last outputs (every live grant revoked) still reach the instances
  // subscribed to them; then those.
  std::vector<std::string> outputs;
  for (const auto& c : components_)
    for (auto& topic : c->publishes()) outputs.push_back(std::move(topic));
  const auto receives_outputs = [&](const PluginInstance& instance) {
    for (const auto& sub : instance.subscriptions())
      for (const auto& out : outputs)
        if (grant_covers(sub, out) || grant_covers(out, sub)) return true;
    return false;
  };
  registry_.stop_if([&](const PluginInstance& i) { return !receives_outputs(i); });
  router_->flush();  // what they sent is in the components' queues before those stop
  for (auto it = components_.rbegin(); it != components_.rend(); ++it) (*it)->stop();
  router_->flush();  // and what the components sent last is in their receivers' queues
  if (remote_) remote_->stop();
  registry_.stop_all();
  router_->stop();
  flush_log();  // what the city said while stopping is on stderr when stop() returns
}

LocalClient& Host::client(const std::string& name) {
  std::lock_guard lk(clients_mu_);
  if (!started_) throw std::logic_error("the host is not running; start it before using client '" + name + "'");
  if (auto it = clients_.find(name); it != clients_.end()) return *it->second;
  for (const auto& c : config_.clients)
    if (c.name == name) {
      const StopSignalsBlockedHere blocked;
      return *clients_.emplace(name, std::make_unique<LocalClient>(ctx_, *router_, c)).first->second;
    }
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
  for (const auto& c : components_)
    out.push_back({c->name(), "", c->running() ? "running" : "stopped", c->bus_counters()});
  return out;
}

BusComponent* Host::add_component(std::unique_ptr<BusComponent> component) {
  if (started_) throw std::logic_error("add the component '" + component->name() + "' before the host starts");
  if (this->component(component->name()))
    throw std::logic_error("this host already has a component named '" + component->name() + "'");
  components_.push_back(std::move(component));
  return components_.back().get();
}

BusComponent* Host::component(const std::string& name) const {
  for (const auto& c : components_)
    if (c->name() == name) return c.get();
  return nullptr;
}

}  // namespace citylink::host
