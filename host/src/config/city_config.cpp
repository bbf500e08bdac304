// Reading the city config (YAML) with errors that name the file, line, column and field.
#include <citylink/host/city_config.hpp>
#include <citylink/host/error.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/topic.hpp>

#include <citylink/host/config_reader.hpp>
#include <citylink/host/keys.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace citylink::host {
namespace {

// A plugin's `config:` as JSON. yaml-cpp resolves `&a [*a]` into a real cycle and expands
// alias bombs, so depth and the number of nodes are bounded and a loop is refused.
constexpr int kMaxConfigDepth = 64;
constexpr std::size_t kMaxConfigNodes = 100'000;

nlohmann::json to_json(const YAML::Node& n, const ConfigReader& r, const std::string& field, int depth,
                       std::size_t& budget) {
  if (depth > kMaxConfigDepth)
    r.fail(n, field, "nested more than " + std::to_string(kMaxConfigDepth) +
                         " levels deep (an alias that refers to itself?); flatten the plugin config");
  if (budget-- == 0)
    r.fail(n, field, "more than " + std::to_string(kMaxConfigNodes) +
                         " values after expanding aliases; the plugin config is too large");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Sequence: {
      auto a = nlohmann::json::array();
      for (const auto& e : n) a.push_back(to_json(e, r, field, depth + 1, budget));
      return a;
    }
    case YAML::NodeType::Map: {
      r.only_keys(n, field, {}, /*any_key*/ true);  // refuses duplicate keys
      auto o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second, r, field, depth + 1, budget);
      return o;
    }
    case YAML::NodeType::Scalar: {
      // Quoted scalars carry the tag "!" and stay text; plain ones are typed like YAML 1.2 core.
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;
      if (s == "~" || s == "null") return nullptr;
      bool b;
      if (s == "true" || s == "false" || s == "True" || s == "False") {
        YAML::convert<bool>::decode(n, b);
        return b;
      }
      long long i;
      std::size_t pos = 0;
      try {
        i = std::stoll(s, &pos);
        if (pos == s.size()) return i;
      } catch (...) {
      }
      try {
        double d = std::stod(s, &pos);
        if (pos == s.size() && std::isfinite(d)) return d;
      } catch (...) {
      }
      return s;
    }
  }
  return nullptr;
}

// `grants: requested`, or `grants: {publish: [...], subscribe: [...]}`. Topics inside the
// engine's namespaces cannot be granted to a plugin; recipient-addressed subscriptions
// need the instance bound to a recipient.
void read_grants(const YAML::Node& g, const ConfigReader& r, const std::string& where, PluginEntry& e) {
  e.has_grants = true;
  if (g.IsScalar()) {
    if (g.Scalar() != "requested")
      r.fail(g, where + ".grants",
             "'" + g.Scalar() + "' is not a grant; write `grants: requested` to accept what the plugin asks for, or "
             "`grants: {publish: [...], subscribe: [...]}`");
    e.grants_requested = true;
    return;
  }
  r.only_keys(g, where + ".grants", {"publish", "subscribe"});
  if (g["publish"]) {
    e.publish_grants = r.strings(g["publish"], where + ".grants.publish");
    for (std::size_t k = 0; k < e.publish_grants.size(); ++k) {
      const auto& t = e.publish_grants[k];
      const std::string f = where + ".grants.publish[" + std::to_string(k) + "]";
      if (!is_valid_grant(t))
        r.fail(g["publish"][k], f, "'" + t + "' is not a topic ('sensor.reading'), a subtree ('camera.*') or '*'");
      if (pattern_inside_engine_only(t))
        r.fail(g["publish"][k], f,
               "'" + t + "' is published only by the scenario engine (grant.*, dispatch.*, audit.*, camera.ptz); "
               "remove it");
    }
  }
  if (g["subscribe"]) {
    e.subscriptions = r.strings(g["subscribe"], where + ".grants.subscribe");
    for (std::size_t k = 0; k < e.subscriptions.size(); ++k) {
      const auto& t = e.subscriptions[k];
      const std::string f = where + ".grants.subscribe[" + std::to_string(k) + "]";
      if (!is_valid_grant(t))
        r.fail(g["subscribe"][k], f,
               "'" + t + "' is not a topic ('dispatch.119'), a subtree ('camera.*' or 'camera.') or '*'");
      if (pattern_inside_recipient_addressed(t) && e.recipient.empty())
        r.fail(g["subscribe"][k], f,
               "'" + t + "' carries outputs addressed to agencies; bind the instance to its agency with "
               "`recipient: NAME` (it then receives only what is addressed to NAME)");
    }
  }
}

// Two instances claiming overlapping camera id prefixes would each own the other's cameras.
void check_camera_prefixes(const CityConfig& cfg, const YAML::Node& plugins, const ConfigReader& r) {
  for (std::size_t i = 0; i < cfg.plugins.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      const auto& a = cfg.plugins[i].cameras.id_prefix;
      const auto& b = cfg.plugins[j].cameras.id_prefix;
      if (a.empty() || b.empty()) continue;
      if (a.rfind(b, 0) == 0 || b.rfind(a, 0) == 0)
        r.fail(plugins[i]["cameras"]["id_prefix"], "plugins[" + std::to_string(i) + "].cameras.id_prefix",
               "'" + a + "' overlaps the prefix '" + b + "' of instance '" + cfg.plugins[j].instance_id +
                   "'; give each camera owner a prefix of its own");
    }
}

// incident_authority: {112UC001: {topic: incident.112, sources: [platform-feed]}, ...}
void read_authority(const YAML::Node& a, const ConfigReader& r, CityConfig& cfg) {
  r.only_keys(a, "incident_authority", {}, /*any_key*/ true);
  for (const auto& kv : a) {
    const std::string code = kv.first.as<std::string>();
    const std::string w = "incident_authority." + code;
    r.only_keys(kv.second, w, {"topic", "sources"});
    IncidentAuthority au;
    au.event_code = code;
    au.line = kv.first.Mark().line + 1;
    if (!kv.second["topic"] || !kv.second["sources"])
      r.fail(kv.second, w, "needs `topic` (e.g. incident.112) and `sources` (the instances allowed to raise it)");
    au.topic = r.string(kv.second["topic"], w + ".topic");
    if (!is_valid_topic(au.topic) || au.topic.rfind("incident.", 0) != 0)
      r.fail(kv.second["topic"], w + ".topic", "'" + au.topic + "' is not an incident topic (incident.112, ...)");
    au.sources = r.strings(kv.second["sources"], w + ".sources");
    if (au.sources.empty()) r.fail(kv.second["sources"], w + ".sources", "name at least one source instance");
    for (std::size_t i = 0; i < au.sources.size(); ++i) {
      const auto& src = au.sources[i];
      const bool known = std::any_of(cfg.plugins.begin(), cfg.plugins.end(),
                                     [&](const PluginEntry& p) { return p.instance_id == src; }) ||
                         std::any_of(cfg.remote.clients.begin(), cfg.remote.clients.end(),
                                     [&](const ClientEntry& c) { return c.name == src; }) ||
                         std::any_of(cfg.clients.begin(), cfg.clients.end(),
                                     [&](const ClientEntry& c) { return c.name == src; });
      if (!known)
        r.fail(kv.second["sources"][i], w + ".sources[" + std::to_string(i) + "]",
               "'" + src + "' is not an instance of this city; name one from `plugins:`, `remote.clients` or `clients:`");
    }
    cfg.incident_authority.push_back(std::move(au));
  }
}

// `publish_rate: N` (telemetry messages a second) or `publish_rate: unlimited` (0).
uint32_t read_publish_rate(const YAML::Node& n, const ConfigReader& r, const std::string& field) {
  if (n.IsScalar() && n.Scalar() == "unlimited") return PublishRate::kUnlimited;
  if (!n.IsScalar() || !std::all_of(n.Scalar().begin(), n.Scalar().end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    r.fail(n, field, "expected messages a second (e.g. 10000) or `unlimited`");
  return r.number<uint32_t>(n, field, 1, 10'000'000);
}

// One entry of `remote.clients` (with its CURVE key) or of `clients` (local, without one):
// a name unique among instances and clients, and grants listed explicitly.
ClientEntry read_client(const YAML::Node& e, const ConfigReader& r, const std::string& w, bool remote,
                        std::set<std::string>& names, const std::string& city = "") {
  if (remote)
    r.only_keys(e, w, {"name", "public_key", "grants", "recipient", "peer_host", "origins", "publish_rate"});
  else
    r.only_keys(e, w, {"name", "grants", "recipient", "publish_rate"});
  ClientEntry c;
  c.line = e.Mark().line + 1;
  if (!e["name"] || (remote && !e["public_key"])) r.fail(e, w, remote ? "needs `name` and `public_key`" : "needs `name`");
  c.name = r.string(e["name"], w + ".name");
  if (!is_valid_instance_name(c.name) || is_reserved_instance_name(c.name))
    r.fail(e["name"], w + ".name",
           "'" + c.name + "' is not a usable name; use 1-64 lower-case letters, digits and '-', not a host name");
  if (!names.insert(c.name).second)
    r.fail(e["name"], w + ".name", "'" + c.name + "' is already an instance or client name; names are the "
                                   "sources on the bus and must be unique");
  if (remote) {
    c.public_key = r.string(e["public_key"], w + ".public_key");
    if (!keys::is_curve_key(c.public_key))
      r.fail(e["public_key"], w + ".public_key",
             "expected a CURVE public key, 40 Z85 characters (printed by `citylink keygen --curve`)");
  }
  PluginEntry g;  // grants are read exactly as for an instance
  if (e["recipient"]) {
    g.recipient = r.string(e["recipient"], w + ".recipient");
    if (!is_valid_recipient(g.recipient)) r.fail(e["recipient"], w + ".recipient", "'" + g.recipient + "' is not a recipient name");
  }
  if (e["grants"]) read_grants(e["grants"], r, w, g);
  if (g.grants_requested)
    r.fail(e["grants"], w + ".grants", "a client has no descriptor to request from; list `publish:` and `subscribe:` explicitly");
  c.publish_grants = g.publish_grants;
  c.subscriptions = g.subscriptions;
  c.recipient = g.recipient;
  if (remote && e["peer_host"]) c.peer_host = r.boolean(e["peer_host"], w + ".peer_host");
  if (e["publish_rate"]) c.publish_rate = read_publish_rate(e["publish_rate"], r, w + ".publish_rate");
  else if (c.peer_host) c.publish_rate = PublishRate::kUnlimited;
  if (remote && e["origins"]) {
    // A peer vouches only for the cities it is the path for: it cannot claim another
    // city's (origin, id) pairs, and a ring of peers cannot circulate a foreign origin.
    if (!c.peer_host) r.fail(e["origins"], w + ".origins", "`origins` is for a peer host; add `peer_host: true` or remove it");
    if (!e["origins"].IsSequence()) r.fail(e["origins"], w + ".origins", "expected a list of city names");
    for (std::size_t i = 0; i < e["origins"].size(); ++i) {
      const std::string f = w + ".origins[" + std::to_string(i) + "]";
      const std::string o = r.string(e["origins"][i], f);
      if (o.empty() || o.size() > 128) r.fail(e["origins"][i], f, "an origin is a city name of 1 to 128 characters");
      if (o == city)
        r.fail(e["origins"][i], f, "'" + o + "' is this city's own name: what a peer forwards with it is refused as a "
                                   "loop. Hosts that forward to each other need different `city:` names "
                                   "(e.g. seoul-gangnam, seoul-jongno)");
      c.peer_origins.push_back(o);
    }
  }
  if (c.peer_host && c.peer_origins.empty())
    r.fail(e, w + ".origins", "a peer host needs `origins:`, the city names whose messages it forwards (at least "
                              "its own host's `city:`)");
  return c;
}

// Every name on the bus so far: instances, then clients as they are read.
std::set<std::string> bus_names(const CityConfig& cfg) {
  std::set<std::string> names;
  for (const auto& p : cfg.plugins) names.insert(p.instance_id);
  for (const auto& c : cfg.remote.clients) names.insert(c.name);
  for (const auto& c : cfg.clients) names.insert(c.name);
  return names;
}

// remote: {bind: tcp://..., secret_key_file: F, clients: [{name, public_key, grants, recipient}]}
void read_remote(const YAML::Node& n, const ConfigReader& r, CityConfig& cfg) {
  r.only_keys(n, "remote", {"bind", "secret_key_file", "clients"});
  if (!n["bind"] || !n["secret_key_file"])
    r.fail(n, "remote", "needs `bind` (tcp://ADDRESS:PORT) and `secret_key_file` (from `citylink keygen --curve`)");
  cfg.remote.bind = r.string(n["bind"], "remote.bind");
  if (cfg.remote.bind.rfind("tcp://", 0) != 0)
    r.fail(n["bind"], "remote.bind",
           "'" + cfg.remote.bind + "' is not a TCP endpoint; write tcp://127.0.0.1:7450 (the remote endpoint is for "
           "other machines, and is always CURVE-encrypted)");
  cfg.remote.secret_key_file = r.resolve_dir(r.string(n["secret_key_file"], "remote.secret_key_file"));
  auto names = bus_names(cfg);
  std::set<std::string> keys_seen;
  if (const auto c = n["clients"]) {
    if (!c.IsSequence()) r.fail(c, "remote.clients", "expected a list of {name, public_key, grants} entries");
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::string w = "remote.clients[" + std::to_string(i) + "]";
      auto rc = read_client(c[i], r, w, true, names, cfg.city);
      if (!keys_seen.insert(rc.public_key).second)
        r.fail(c[i]["public_key"], w + ".public_key", "this key is already listed for another client; one key per client");
      cfg.remote.clients.push_back(std::move(rc));
    }
  }
}

// host.http: {listen: ADDRESS:PORT, tokens: [{name, role, token_sha256 | token_file}], tls: {cert, key}, ...}
void read_http(const YAML::Node& n, const ConfigReader& r, CityConfig& cfg) {
  r.only_keys(n, "host.http", {"listen", "tokens", "tls", "max_body_bytes", "max_event_clients", "event_queue", "tile_url",
                                  "tile_attribution"});
  auto& h = cfg.host.http;
  h.enabled = true;
  if (n["listen"]) {
    const std::string listen = r.string(n["listen"], "host.http.listen");
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
      r.fail(n["listen"], "host.http.listen", "'" + listen + "' is not ADDRESS:PORT; write 127.0.0.1:8080");
    h.address = listen.substr(0, colon);
    if (h.address.size() > 2 && h.address.front() == '[' && h.address.back() == ']')
      h.address = h.address.substr(1, h.address.size() - 2);
    YAML::Node port_node(listen.substr(colon + 1));
    h.port = r.number<int>(port_node, "host.http.listen (port of '" + listen + "'; 0 picks a free one)", 0, 65535);
  }
  if (const auto t = n["tls"]) {
    r.only_keys(t, "host.http.tls", {"cert", "key"});
    if (!t["cert"] || !t["key"]) r.fail(t, "host.http.tls", "needs `cert` and `key` (PEM files)");
    h.tls_cert = r.resolve_dir(r.string(t["cert"], "host.http.tls.cert"));
    h.tls_key = r.resolve_dir(r.string(t["key"], "host.http.tls.key"));
  }
  const bool loopback = h.address == "localhost" || h.address == "::1" || h.address.rfind("127.", 0) == 0;
  if (!loopback && h.tls_cert.empty())
    r.fail(n["listen"], "host.http.listen",
           "'" + h.address + "' is not a loopback address, and bearer tokens must not cross a network in clear "
           "text; add `tls: {cert: FILE, key: FILE}`, or listen on 127.0.0.1 behind a TLS reverse proxy "
           "(docs/operator-guide.md)");
  if (n["max_body_bytes"])
    h.max_body_bytes = r.number<std::size_t>(n["max_body_bytes"], "host.http.max_body_bytes", 1024, 16u << 20);
  if (n["max_event_clients"])
    h.max_event_clients = r.number<int>(n["max_event_clients"], "host.http.max_event_clients", 1, 1000);
  if (n["event_queue"]) h.event_queue = r.number<std::size_t>(n["event_queue"], "host.http.event_queue", 10, 1'000'000);
  if (n["tile_url"]) {
    h.tile_url = r.string(n["tile_url"], "host.http.tile_url");
    if (h.tile_url.rfind("https://", 0) != 0 && h.tile_url.rfind("http://", 0) != 0)
      r.fail(n["tile_url"], "host.http.tile_url",
             "'" + h.tile_url + "' is not an http(s) URL template like https://tiles.example.go.kr/{z}/{x}/{y}.png");
  }
  if (n["tile_attribution"]) h.tile_attribution = r.string(n["tile_attribution"], "host.http.tile_attribution");
  const auto tokens = n["tokens"];
  if (!tokens || !tokens.IsSequence() || tokens.size() == 0)
    r.fail(tokens ? tokens : n, "host.http.tokens",
           "needs a list of {name, role, token_sha256 or token_file}: without a token nobody may use the API");
  std::set<std::string> names, hashes;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto e = tokens[i];
    const std::string w = "host.http.tokens[" + std::to_string(i) + "]";
    r.only_keys(e, w, {"name", "role", "token_sha256", "token_file"});
    if (!e["name"] || !e["role"] || (!e["token_sha256"] == !e["token_file"]))
      r.fail(e, w, "needs `name`, `role` and one of `token_sha256` (hex) or `token_file` (a file holding the token)");
    HttpToken tok;
    tok.name = r.string(e["name"], w + ".name");
    tok.role = r.string(e["role"], w + ".role");
    if (tok.role != "viewer" && tok.role != "operator" && tok.role != "admin")
      r.fail(e["role"], w + ".role", "'" + tok.role + "' is not one of viewer, operator, admin");
    if (!names.insert(tok.name).second) r.fail(e["name"], w + ".name", "'" + tok.name + "' is listed twice; one entry per name");
    if (e["token_sha256"]) {
      tok.sha256_hex = r.string(e["token_sha256"], w + ".token_sha256");
      std::transform(tok.sha256_hex.begin(), tok.sha256_hex.end(), tok.sha256_hex.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (!keys::is_sha256_hex(tok.sha256_hex))
        r.fail(e["token_sha256"], w + ".token_sha256",
               "expected 64 hex digits (the SHA-256 of the token: printf %s TOKEN | sha256sum)");
    } else {
      const auto file = r.resolve_dir(r.string(e["token_file"], w + ".token_file"));
      std::ifstream in(file);
      std::string text;
      if (!in || !std::getline(in, text))
        r.fail(e["token_file"], w + ".token_file", "cannot read '" + file.string() + "'; create it with the token on one line");
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      if (text.size() < 16)
        r.fail(e["token_file"], w + ".token_file",
               "the token in '" + file.string() + "' is shorter than 16 characters; use a random one "
               "(head -c 32 /dev/urandom | base64)");
      tok.sha256_hex = keys::sha256_hex(text.data(), text.size());
    }
    if (!hashes.insert(tok.sha256_hex).second)
      r.fail(e, w, "this token is already listed for another name; one token per name, so the audit log names who acted");
    h.tokens.push_back(std::move(tok));
  }
  const bool changes = std::any_of(h.tokens.begin(), h.tokens.end(), [](const HttpToken& t) { return t.role != "viewer"; });
  if (changes && cfg.host.audit_log.empty())
    r.fail(n, "host.http.tokens",
           "operator and admin tokens change the running city, and every change is audited; set host.audit_log, "
           "or give these tokens role viewer");
}

// clients: [{name, grants, recipient}]: local clients (scripts embedding the host).
void read_local_clients(const YAML::Node& n, const ConfigReader& r, CityConfig& cfg) {
  if (!n.IsSequence()) r.fail(n, "clients", "expected a list of {name, grants, recipient} entries");
  auto names = bus_names(cfg);
  for (std::size_t i = 0; i < n.size(); ++i)
    cfg.clients.push_back(read_client(n[i], r, "clients[" + std::to_string(i) + "]", false, names));
}

// allow_list: [{plugin: ID, versions: ">=1.0.0 <2.0.0", sha256: HEX | vendor_key: HEX}, ...]
void read_allow_list(const YAML::Node& a, const ConfigReader& r, CityConfig& cfg) {
  if (!a.IsSequence()) r.fail(a, "allow_list", "expected a list of {plugin, versions, sha256 or vendor_key} entries");
  cfg.has_allow_list = true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto n = a[i];
    const std::string w = "allow_list[" + std::to_string(i) + "]";
    r.only_keys(n, w, {"plugin", "versions", "sha256", "vendor_key"});
    AllowedPlugin e;
    e.line = n.Mark().line + 1;
    if (!n["plugin"]) r.fail(n, w + ".plugin", "missing; name the plugin id this entry allows");
    e.plugin_id = r.string(n["plugin"], w + ".plugin");
    if (n["versions"]) {
      try {
        e.versions = VersionRange::parse(r.string(n["versions"], w + ".versions"));
      } catch (const std::invalid_argument& ex) {
        r.fail(n["versions"], w + ".versions", ex.what());
      }
    }
    if (n["sha256"]) {
      e.sha256 = r.string(n["sha256"], w + ".sha256");
      if (!keys::is_sha256_hex(e.sha256))
        r.fail(n["sha256"], w + ".sha256",
               "expected 64 lower-case hex digits (`sha256sum FILE`, or the hash `citylink run` logs)");
    }
    if (n["vendor_key"]) {
      e.vendor_key = r.string(n["vendor_key"], w + ".vendor_key");
      if (!keys::from_hex(e.vendor_key, 32))
        r.fail(n["vendor_key"], w + ".vendor_key",
               "expected the vendor's ed25519 public key, 64 hex digits (from `citylink keygen --sign`)");
    }
    if (e.sha256.empty() && e.vendor_key.empty())
      r.fail(n, w, "pins nothing; give the library's `sha256` or the `vendor_key` that signs its package");
    cfg.allow_list.push_back(std::move(e));
  }
}

CityConfig parse(const YAML::Node& root, const ConfigReader& r, const std::filesystem::path& source) {
  CityConfig cfg;
  cfg.source = source;
  if (!root || root.IsNull()) r.fail(root, "(file)", "the config is empty; it needs at least `plugins:`");
  r.only_keys(root, "",
              {"citylink", "city", "host", "plugin_dirs", "plugins", "scenarios", "incident_authority", "allow_list",
               "remote", "clients"});
  if (root["citylink"]) {
    const int v = r.number<int>(root["citylink"], "citylink", 0, 1000);
    if (v != 1) r.fail(root["citylink"], "citylink", "config format " + std::to_string(v) + " is not supported; this host reads format 1");
  }
  if (root["city"]) cfg.city = r.string(root["city"], "city");
  if (const auto h = root["host"]) {
    r.only_keys(h, "host",
                {"log_level", "max_message_bytes", "queue_depth", "queue_bytes", "critical_topics",
                 "max_cameras_per_instance", "max_open_incidents_per_source", "max_closed_incidents_per_source", "incident_retention_minutes", "camera_retention_minutes", "audit_log", "incident_book", "allow_symlinks",
                 "strict_config", "state_dir", "outbox", "outbox_max_mb", "outbox_fsync", "http", "memory_budget_mb",
                 "publish_rate"});
    if (h["publish_rate"]) cfg.host.publish_rate = read_publish_rate(h["publish_rate"], r, "host.publish_rate");
    if (h["memory_budget_mb"])
      cfg.host.memory_budget_mb = r.number<uint64_t>(h["memory_budget_mb"], "host.memory_budget_mb", 1, uint64_t{1} << 30);
    if (h["outbox"]) cfg.host.outbox = r.resolve_dir(r.string(h["outbox"], "host.outbox"));
    if (h["outbox_max_mb"])
      cfg.host.outbox_max_mb = r.number<uint64_t>(h["outbox_max_mb"], "host.outbox_max_mb", 1, uint64_t{1} << 24);
    if (h["outbox_fsync"]) cfg.host.outbox_fsync = r.boolean(h["outbox_fsync"], "host.outbox_fsync");
    if (h["state_dir"]) cfg.host.state_dir = r.resolve_dir(r.string(h["state_dir"], "host.state_dir"));
    if (h["strict_config"]) cfg.host.strict_config = r.boolean(h["strict_config"], "host.strict_config");
    if (h["allow_symlinks"]) cfg.host.allow_symlinks = r.boolean(h["allow_symlinks"], "host.allow_symlinks");
    if (h["audit_log"]) cfg.host.audit_log = r.resolve_dir(r.string(h["audit_log"], "host.audit_log"));
    if (h["incident_book"])
      cfg.host.incident_book = r.resolve_dir(r.string(h["incident_book"], "host.incident_book"));
    if (h["http"]) read_http(h["http"], r, cfg);
    if (h["log_level"]) {
      cfg.host.log_level = r.string(h["log_level"], "host.log_level");
      static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
      if (!levels.count(cfg.host.log_level))
        r.fail(h["log_level"], "host.log_level", "'" + cfg.host.log_level + "' is not one of trace, debug, info, warn, error, off");
    }
    if (h["max_message_bytes"])
      cfg.host.max_message_bytes = r.number<std::size_t>(h["max_message_bytes"], "host.max_message_bytes", 1024, 256u << 20);
    if (h["queue_depth"]) cfg.host.queue_depth = r.number<int>(h["queue_depth"], "host.queue_depth", 1, 10'000'000);
    if (h["queue_bytes"])
      cfg.host.queue_bytes = r.number<std::size_t>(h["queue_bytes"], "host.queue_bytes", 64u << 10, std::size_t{64} << 30);
    // A queue must hold at least one message of the largest size the host accepts.
    if (cfg.host.queue_bytes < cfg.host.max_message_bytes + 4096)
      r.fail(h["queue_bytes"] ? h["queue_bytes"] : h, "host.queue_bytes",
             std::to_string(cfg.host.queue_bytes) + " bytes cannot hold one message of host.max_message_bytes (" +
                 std::to_string(cfg.host.max_message_bytes) + "); raise queue_bytes or lower max_message_bytes");
    if (h["critical_topics"]) {
      cfg.host.critical_topics = r.strings(h["critical_topics"], "host.critical_topics");
      for (std::size_t k = 0; k < cfg.host.critical_topics.size(); ++k)
        if (!is_valid_grant(cfg.host.critical_topics[k]))
          r.fail(h["critical_topics"][k], "host.critical_topics[" + std::to_string(k) + "]",
                 "'" + cfg.host.critical_topics[k] + "' is not a topic ('incident.112'), a subtree ('incident.*') or '*'");
    }
    if (h["max_open_incidents_per_source"])
      cfg.host.max_open_incidents_per_source = r.number<std::size_t>(
          h["max_open_incidents_per_source"], "host.max_open_incidents_per_source", 1, 10'000'000);
    if (h["max_closed_incidents_per_source"])
      cfg.host.max_closed_incidents_per_source = r.number<std::size_t>(
          h["max_closed_incidents_per_source"], "host.max_closed_incidents_per_source", 1, 10'000'000);
    if (h["incident_retention_minutes"])
      cfg.host.incident_retention_minutes =
          r.number<int>(h["incident_retention_minutes"], "host.incident_retention_minutes", 1, 365 * 24 * 60);
    if (h["camera_retention_minutes"])
      cfg.host.camera_retention_minutes =
          r.number<int>(h["camera_retention_minutes"], "host.camera_retention_minutes", 1, 365 * 24 * 60);
    if (h["max_cameras_per_instance"])
      cfg.host.max_cameras_per_instance =
          r.number<std::size_t>(h["max_cameras_per_instance"], "host.max_cameras_per_instance", 1, 10'000'000);
  }
  if (root["plugin_dirs"])
    for (const auto& d : r.strings(root["plugin_dirs"], "plugin_dirs")) cfg.plugin_dirs.push_back(r.resolve_dir(d));

  if (root["scenarios"]) {
    cfg.scenarios = root["scenarios"];  // the platform's section: checked by citylink::platform
  }
  cfg.base_dir = r.base();

  const auto plugins = root["plugins"];
  if (!plugins) r.fail(root, "plugins", "missing; list the plugin instances the city enables");
  if (!plugins.IsSequence()) r.fail(plugins, "plugins", "expected a list of plugin entries (lines starting with '- ')");
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    const auto p = plugins[i];
    const std::string where = "plugins[" + std::to_string(i) + "]";
    r.only_keys(p, where,
                {"instance", "plugin", "file", "enabled", "trusted", "config", "grants", "recipient", "cameras",
                 "queue_depth", "isolation", "worker", "watchdog", "durable", "runtime", "class", "publish_rate"});
    PluginEntry e;
    e.line = p.Mark().line + 1;
    if (!p["instance"]) r.fail(p, where + ".instance", "missing; give every plugin entry a unique instance name");
    e.instance_id = r.string(p["instance"], where + ".instance");
    if (!is_valid_instance_name(e.instance_id))
      r.fail(p["instance"], where + ".instance",
             "'" + e.instance_id + "' is not an instance name; use 1-64 lower-case letters, digits and '-', "
             "starting with a letter or digit (e.g. cctv-gangnam-1)");
    if (is_reserved_instance_name(e.instance_id))
      r.fail(p["instance"], where + ".instance",
             "'" + e.instance_id + "' is reserved for the host; choose another name");
    if (auto [it, fresh] = seen.emplace(e.instance_id, e.line); !fresh)
      r.fail(p["instance"], where + ".instance",
             "duplicate instance '" + e.instance_id + "' (first used on line " + std::to_string(it->second) +
                 "); every instance needs its own name");
    if (p["plugin"]) e.plugin_id = r.string(p["plugin"], where + ".plugin");
    if (!p["file"]) r.fail(p, where + ".file", "missing; name the plugin library file (.so)");
    if (p["enabled"]) e.enabled = r.boolean(p["enabled"], where + ".enabled");
    if (p["trusted"]) e.trusted = r.boolean(p["trusted"], where + ".trusted");
    if (p["queue_depth"]) e.queue_depth = r.number<int>(p["queue_depth"], where + ".queue_depth", 1, 10'000'000);
    if (p["publish_rate"]) e.publish_rate = read_publish_rate(p["publish_rate"], r, where + ".publish_rate");
    if (p["isolation"]) {
      e.isolation = r.string(p["isolation"], where + ".isolation");
      if (e.isolation != "process" && e.isolation != "none")
        r.fail(p["isolation"], where + ".isolation",
               "'" + e.isolation + "' is not an isolation; use `process` (its own worker process) or "
               "`none` (in the host's process, for trusted code)");
    }
    if (p["runtime"]) {
      e.runtime = r.string(p["runtime"], where + ".runtime");
      if (e.runtime != "native" && e.runtime != "python")
        r.fail(p["runtime"], where + ".runtime",
               "'" + e.runtime + "' is not a runtime; use `native` (a plugin library, the default) or `python` "
               "(a citylink.Plugin class in a .py file)");
    }
    if (e.is_python()) {
      // Python code never runs in the host's process: its interpreter, its protobuf and its
      // crashes stay in the worker.
      if (e.isolation == "none")
        r.fail(p["isolation"], where + ".isolation",
               "a Python plugin always runs in its own worker process; remove `isolation: none`");
      e.isolation = "process";
      if (!p["class"]) r.fail(p, where + ".class", "missing; name the citylink.Plugin subclass in the file");
      e.class_name = r.string(p["class"], where + ".class");
    } else if (p["class"]) {
      r.fail(p["class"], where + ".class", "`class` is for `runtime: python`; a plugin library names its plugin with `plugin:`");
    }
    // Secure by default: code the city does not vouch for runs in its own worker process;
    // only `trusted: true` or an explicit `isolation: none` brings it into the host.
    if (e.isolation.empty()) e.isolation = e.trusted ? "none" : "process";
    if (const auto w = p["worker"]) {
      const std::string ww = where + ".worker";
      if (!w.IsMap()) r.fail(w, ww, "expected a mapping (restart_limit, backoff_ms, heartbeat_timeout_ms, memory_mb, "
                                    "open_files, cpu_seconds)");
      r.only_keys(w, ww, {"restart_limit", "backoff_ms", "heartbeat_timeout_ms", "memory_mb", "open_files",
                          "cpu_seconds"});
      if (w["restart_limit"]) e.restart_limit = r.number<int>(w["restart_limit"], ww + ".restart_limit", 0, 1000);
      if (w["backoff_ms"]) e.backoff_ms = r.number<int>(w["backoff_ms"], ww + ".backoff_ms", 10, 600'000);
      if (w["heartbeat_timeout_ms"])
        e.heartbeat_timeout_ms = r.number<int>(w["heartbeat_timeout_ms"], ww + ".heartbeat_timeout_ms", 500, 600'000);
      if (w["memory_mb"]) e.memory_mb = r.number<uint64_t>(w["memory_mb"], ww + ".memory_mb", 64, 1u << 20);
      if (w["open_files"]) e.open_files = r.number<uint64_t>(w["open_files"], ww + ".open_files", 16, 1u << 20);
      if (w["cpu_seconds"]) e.cpu_seconds = r.number<uint64_t>(w["cpu_seconds"], ww + ".cpu_seconds", 1, 1u << 30);
    }
    if (const auto w = p["watchdog"]) {
      const std::string ww = where + ".watchdog";
      if (e.isolated())
        r.fail(w, ww, "applies to an in-process instance (isolation: none); a worker process is watched by its "
                      "heartbeat: use worker.heartbeat_timeout_ms");
      if (!w.IsMap()) r.fail(w, ww, "expected a mapping (message_ms, call_ms)");
      r.only_keys(w, ww, {"message_ms", "call_ms"});
      if (w["message_ms"]) e.watchdog_message_ms = r.number<int>(w["message_ms"], ww + ".message_ms", 10, 3'600'000);
      if (w["call_ms"]) e.watchdog_call_ms = r.number<int>(w["call_ms"], ww + ".call_ms", 100, 3'600'000);
    }
    if (const auto d = p["durable"]) {
      const std::string dw = where + ".durable";
      if (d.IsScalar()) {
        e.durable = r.boolean(d, dw);
      } else if (d.IsMap()) {
        e.durable = true;
        r.only_keys(d, dw, {"topics", "ack_timeout_ms", "max_deliveries", "in_flight"});
        if (d["topics"]) e.durable_topics = r.strings(d["topics"], dw + ".topics");
        if (d["ack_timeout_ms"])
          e.ack_timeout_ms = r.number<int>(d["ack_timeout_ms"], dw + ".ack_timeout_ms", 10, 24 * 3600 * 1000);
        if (d["max_deliveries"])
          e.max_deliveries = r.number<uint32_t>(d["max_deliveries"], dw + ".max_deliveries", 1, 1'000'000);
        if (d["in_flight"]) e.in_flight = r.number<std::size_t>(d["in_flight"], dw + ".in_flight", 1, 100'000);
      } else {
        r.fail(d, dw, "expected `true`, or a mapping (topics, ack_timeout_ms, max_deliveries, in_flight)");
      }
    }
    const std::string file = r.string(p["file"], where + ".file");
    if (e.enabled) {
      e.file = r.resolve_plugin_file(p["file"], where + ".file", file, cfg.plugin_dirs);
    } else {
      // A disabled entry may be missing its file; an operator can still enable it at runtime
      // once it is there, so it is looked up the same way when it exists.
      try {
        e.file = r.resolve_plugin_file(p["file"], where + ".file", file, cfg.plugin_dirs);
      } catch (const ConfigError&) {
        e.file = file;
      }
    }
    if (p["config"]) {
      if (!p["config"].IsMap()) r.fail(p["config"], where + ".config", "expected a mapping of the plugin's settings");
      std::size_t budget = kMaxConfigNodes;
      e.config_json = to_json(p["config"], r, where + ".config", 0, budget).dump();
    }
    if (p["recipient"]) {
      e.recipient = r.string(p["recipient"], where + ".recipient");
      if (!is_valid_recipient(e.recipient))
        r.fail(p["recipient"], where + ".recipient",
               "'" + e.recipient + "' is not a recipient name; use 1-64 letters, digits, ' ', '.', '_' or '-'");
    }
    if (const auto g = p["grants"]) read_grants(g, r, where, e);
    if (const auto c = p["cameras"]) {
      r.only_keys(c, where + ".cameras", {"id_prefix", "stream_base", "max"});
      if (c["id_prefix"]) e.cameras.id_prefix = r.string(c["id_prefix"], where + ".cameras.id_prefix");
      if (c["stream_base"]) e.cameras.stream_base = r.string(c["stream_base"], where + ".cameras.stream_base");
      if (c["max"]) e.cameras.max = r.number<std::size_t>(c["max"], where + ".cameras.max", 1, 10'000'000);
    }
    cfg.plugins.push_back(std::move(e));
  }
  check_camera_prefixes(cfg, plugins, r);
  if (const auto n = root["remote"]) read_remote(n, r, cfg);
  if (const auto n = root["clients"]) read_local_clients(n, r, cfg);
  if (const auto a = root["incident_authority"]) read_authority(a, r, cfg);
  if (const auto a = root["allow_list"]) read_allow_list(a, r, cfg);
  // An entry without its own publish_rate gets the host's.
  for (auto& p : cfg.plugins)
    if (p.publish_rate < 0) p.publish_rate = cfg.host.publish_rate;
  for (auto* clients : {&cfg.remote.clients, &cfg.clients})
    for (auto& c : *clients)
      if (c.publish_rate < 0) c.publish_rate = cfg.host.publish_rate;
  const uint64_t bound = queue_memory_bound(cfg);
  if (const uint64_t budget = cfg.host.memory_budget_mb << 20; budget > 0 && bound > budget)
    r.fail(root["host"]["memory_budget_mb"], "host.memory_budget_mb",
           "the bus's queues may hold up to " + std::to_string(bound >> 20) + " MiB (" +
               std::to_string(bound / (4 * cfg.host.queue_bytes)) +
               " participants x 4 queues x host.queue_bytes " + std::to_string(cfg.host.queue_bytes >> 20) +
               " MiB), more than the budget of " + std::to_string(cfg.host.memory_budget_mb) +
               " MiB; lower host.queue_bytes, enable fewer instances, or raise the budget");
  return cfg;
}

}  // namespace

uint64_t queue_memory_bound(const CityConfig& config) {
  uint64_t participants = 1 + config.clients.size() + config.remote.clients.size();  // 1: the scenario engine
  for (const auto& p : config.plugins) participants += p.enabled;
  return participants * 4 * uint64_t{config.host.queue_bytes};
}

CityConfig parse_city_config(const std::string& text, const std::string& name, const std::filesystem::path& base_dir) {
  ConfigReader r(name, base_dir);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": not valid YAML: " + e.msg);
  }
  try {
    return parse(root, r, name);
  } catch (const YAML::Exception& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

CityConfig load_city_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot open the city config; check the path");
  // A city config is a few kilobytes; a huge file is a mistake or an attack on the loader.
  constexpr std::size_t kMaxConfigBytes = 4u << 20;
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > kMaxConfigBytes)
    throw ConfigError(file.string() + ": the city config is larger than 4 MiB; check that this is the right file");
  const auto abs = std::filesystem::absolute(file);
  return parse_city_config(ss.str(), file.string(), abs.parent_path());
}

}  // namespace citylink::host
