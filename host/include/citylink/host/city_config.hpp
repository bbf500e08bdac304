// The city config: which plugins a municipality enables, from which files, with what config.
#pragma once

#include <citylink/host/allow_list.hpp>
#include <citylink/host/publish_rate.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace citylink::host {

// Which cameras an instance may announce (`cameras:` in a plugin entry).
struct CameraPolicy {
  std::string id_prefix;    // camera ids with this prefix belong to this instance only; its ids must carry it
  std::string stream_base;  // every stream_uri it announces must start with this
  std::size_t max = 0;      // most cameras it may own; 0: host.max_cameras_per_instance
};

// Who may raise an event code, and on which topic (`incident_authority:`).
struct IncidentAuthority {
  std::string event_code;            // "112UC001"
  std::string topic;                 // "incident.112": the only topic it is accepted on
  std::vector<std::string> sources;  // the instances allowed to open, update and close it
  int line = 0;
};

struct PluginEntry {
  std::string instance_id;          // `instance`: unique name of this instance in the city
  std::string plugin_id;            // `plugin`: descriptor id; may be empty when the file has one plugin
  std::filesystem::path file;       // `file`: resolved absolute path of the library
  bool enabled = true;              // `enabled`
  // `trusted`: first-party or reviewed code the city vouches for. `citylink run --safe-mode`
  // starts only these (and the host's own parts).
  bool trusted = false;
  std::string config_json = "{}";   // `config`: any mapping, handed to the plugin as JSON
  // Deny by default: without `grants:` an instance may publish and subscribe nothing.
  std::vector<std::string> publish_grants;  // `grants.publish`
  std::vector<std::string> subscriptions;   // `grants.subscribe`
  bool grants_requested = false;            // `grants: requested`: what the descriptor asks for
  bool has_grants = false;                  // a `grants:` entry was written
  std::string recipient;                    // `recipient`: receives grant/dispatch/audit outputs addressed to it
  CameraPolicy cameras;                     // `cameras`
  int queue_depth = 0;              // `queue_depth`: this instance's incoming queue; 0 = host.queue_depth
  // `publish_rate`: telemetry messages a second; 0: unlimited; -1 (absent): host.publish_rate,
  // which loading the config fills in.
  int64_t publish_rate = -1;
  // `isolation`: "process" runs the plugin in a `citylink worker` process (its own crash
  // domain; the default unless `trusted`), "none" in the host's process.
  std::string isolation;
  bool isolated() const { return isolation == "process"; }
  // `runtime`: "native" (a plugin library, the default) or "python": `file` is a .py file and
  // `class` the citylink.Plugin subclass in it, run by the Python worker (always isolated).
  std::string runtime = "native";
  std::string class_name;  // `class`
  bool is_python() const { return runtime == "python"; }
  // `worker:` settings of an isolated instance: restart_limit, backoff_ms,
  // heartbeat_timeout_ms, memory_mb, open_files, cpu_seconds.
  int restart_limit = 5;
  int backoff_ms = 500;
  int heartbeat_timeout_ms = 5000;
  uint64_t memory_mb = 0;
  uint64_t open_files = 256;
  uint64_t cpu_seconds = 0;
  // `watchdog:` of an in-process instance: message_ms (an on_message longer than this is
  // reported and counted), call_ms (the bound on create, start, stop and destroy, and on an
  // on_message still running at stop; past it the plugin is abandoned).
  int watchdog_message_ms = 1000;
  int watchdog_call_ms = 10000;
  // `durable`: true, or {topics, ack_timeout_ms, max_deliveries, in_flight}. Its subscriptions
  // (or the listed ones) go through the host's outbox and are redelivered until acked.
  bool durable = false;
  std::vector<std::string> durable_topics;  // empty: every subscription
  int ack_timeout_ms = 30000;
  uint32_t max_deliveries = 10;
  std::size_t in_flight = 256;
  int line = 0;                     // where the entry starts, for messages
};

// A client of the host that is not a plugin, named by the city and granted topics like an
// instance: a remote one on the CURVE endpoint (`remote.clients`, known by its public key)
// or a local one in the host's own process (`clients`: a Python script's Host).
struct ClientEntry {
  std::string name;                         // `name`: its source name on the bus
  std::string public_key;                   // `public_key`: Z85 CURVE public key (40 characters); remote only
  std::vector<std::string> publish_grants;  // `grants.publish`
  std::vector<std::string> subscriptions;   // `grants.subscribe`
  std::string recipient;                    // `recipient`
  bool peer_host = false;                   // `peer_host`: another CityLink host; what it forwards keeps id and origin
  std::vector<std::string> peer_origins;    // `origins`: the origins (city names) a peer host may forward
  // `publish_rate`: telemetry messages a second; 0: unlimited; -1 (absent): host.publish_rate,
  // which loading the config fills in (a peer host's: unlimited, its own host limits its plugins).
  int64_t publish_rate = -1;
  int line = 0;
};

// `remote:`: the host's one TCP endpoint, CURVE-only.
struct RemoteSettings {
  std::string bind;                         // `bind`: tcp://ADDRESS:PORT; empty: no endpoint
  std::filesystem::path secret_key_file;    // `secret_key_file`: the host's CURVE secret key (Z85)
  std::vector<ClientEntry> clients;        // `clients`
};

// One bearer token of the management API: who holds it and what they may do. Only the
// token's SHA-256 is kept, so a config file or a memory dump does not hand it out.
struct HttpToken {
  std::string name;        // `name`: the operator (or system) it belongs to; audited
  std::string role;        // `role`: viewer, operator or admin
  std::string sha256_hex;  // `token_sha256`, or the SHA-256 of the text in `token_file`
};

// `host.http`: the management API and console. Absent: not served.
struct HttpSettings {
  bool enabled = false;
  std::string address = "127.0.0.1";  // from `listen` (ADDRESS:PORT)
  int port = 8080;
  std::vector<HttpToken> tokens;
  std::filesystem::path tls_cert, tls_key;  // `tls: {cert, key}`: HTTPS (PEM files)
  std::size_t max_body_bytes = 64 << 10;    // `max_body_bytes`: larger requests get 413
  int max_event_clients = 16;               // `max_event_clients`: live event streams at once
  std::size_t event_queue = 1000;           // `event_queue`: events a stream may fall behind before it is dropped
  std::string tile_url;                     // `tile_url`: the console's map tiles; empty: a plain background
  std::string tile_attribution;             // `tile_attribution`: the tiles' credit line
};

struct HostSettings {
  std::string log_level = "info";
  std::size_t max_message_bytes = 1 << 20;
  int queue_depth = 10000;
  std::size_t queue_bytes = 64u << 20;           // `host.queue_bytes`: every queue's bound in bytes, too
  // `host.publish_rate`: the normal-class (telemetry) messages a second each plugin instance
  // and client may publish, unless its entry says otherwise; 0 (`unlimited`): no limit.
  uint32_t publish_rate = PublishRate::kDefault;
  // `host.memory_budget_mb`: queue_memory_bound() must fit in it, or the config is refused
  // at load; 0: no budget (the host warns at start when the bound passes physical memory).
  uint64_t memory_budget_mb = 0;
  // `host.critical_topics`: the topics served first, in queues of their own at every hop.
  std::vector<std::string> critical_topics = {"incident.*", "dispatch.*", "grant.*"};
  std::size_t max_cameras_per_instance = 10000;  // `host.max_cameras_per_instance`
  std::size_t max_open_incidents_per_source = 10000;  // `host.max_open_incidents_per_source`
  std::size_t max_closed_incidents_per_source = 50000;  // `host.max_closed_incidents_per_source`
  int incident_retention_minutes = 24 * 60;      // `host.incident_retention_minutes`: closed incidents kept
  int camera_retention_minutes = 24 * 60;        // `host.camera_retention_minutes`: a silent camera kept
  // `host.state_dir`: where `citylink run` keeps its run marker (unclean-shutdown detection).
  std::filesystem::path state_dir = "/var/lib/citylink";
  std::filesystem::path audit_log;               // `host.audit_log`: the hash-chained SQLite audit log; empty: none
  // `host.incident_book`: the scenario engine's incidents on disk (SQLite), read back at the
  // next start; empty: in memory only, forgotten at a restart.
  std::filesystem::path incident_book;
  bool allow_symlinks = false;                   // `host.allow_symlinks`: a plugin file may be a symbolic link
  // `host.strict_config` (or `citylink run --strict-config`): an instance whose config breaks
  // its plugin's config_schema is refused; otherwise each violation is a warning.
  bool strict_config = false;
  // `host.outbox`: the durable outbox (SQLite); empty: state_dir/outbox.db. Opened only when
  // an enabled plugin entry is `durable`.
  std::filesystem::path outbox;
  uint64_t outbox_max_mb = 0;  // `host.outbox_max_mb`: its size limit; 0: the disk's
  bool outbox_fsync = false;   // `host.outbox_fsync`: survive a power cut, not only a crash (slower)
  HttpSettings http;           // `host.http`
};

struct CityConfig {
  std::filesystem::path source;     // the file it came from ("<string>" when parsed from text)
  std::filesystem::path base_dir;   // relative paths start here
  YAML::Node scenarios;             // `scenarios:`, the platform's section (citylink/platform/platform.hpp)
  std::string city = "unnamed-city";
  HostSettings host;
  std::vector<std::filesystem::path> plugin_dirs;
  std::vector<PluginEntry> plugins;
  std::vector<IncidentAuthority> incident_authority;  // empty: every incident is refused
  // `allow_list`: when present, only the code it lists loads. Absent: any file the plugin
  // entries name loads, and `citylink run` logs each file's hash for pinning.
  std::vector<AllowedPlugin> allow_list;
  bool has_allow_list = false;
  RemoteSettings remote;
  // `clients`: local clients, each used by one script that embeds the host (citylink.Host in
  // Python), with exactly the grants listed here; none: such a script may neither publish nor read.
  std::vector<ClientEntry> clients;
};

// The publish rate of an entry's `publish_rate` (-1, not filled in: unlimited).
inline uint32_t publish_rate_of(int64_t entry_rate) {
  return entry_rate < 0 ? PublishRate::kUnlimited : static_cast<uint32_t>(entry_rate);
}

// Parses a city config file. Throws ConfigError "FILE:LINE:COL: FIELD: what is wrong; the fix".
CityConfig load_city_config(const std::filesystem::path& file);

// The most the bus's queues can hold, in bytes: each participant (an enabled instance, a
// local or remote client, the scenario engine) has a publisher and an inbox, each with a
// normal and a critical queue bounded by host.queue_bytes (review H7).
uint64_t queue_memory_bound(const CityConfig& config);
// Parses config text; relative paths resolve against `base_dir`.
CityConfig parse_city_config(const std::string& text, const std::string& name,
                             const std::filesystem::path& base_dir);

}  // namespace citylink::host
