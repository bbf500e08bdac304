// citylink/plugin.hpp — header-only C++17 helper for writing a CityLink plugin.
//
// A vendor writes a class and one macro:
//
//   class Gauge : public citylink::Plugin {
//    public:
//     static citylink::Descriptor describe();                     // what it is
//     explicit Gauge(const citylink::InstanceContext& ctx);       // throw ConfigError on bad config
//     void start() override;                                      // begin publishing
//     void stop() override;                                       // stop all threads
//     void on_message(const citylink::Message& m) override;       // subscribed topics
//   };
//   CITYLINK_PLUGIN_LIBRARY(Gauge)
//
// The helper turns that into the C ABI of abi.h and catches every exception at the
// boundary, turning it into a status code and a message. Nothing here crosses the
// boundary but C types; protobuf objects live on the plugin's side only (it links its own
// protobuf-lite and its own copy of the schema, which citylink_add_plugin() arranges).
//
// Source compatibility: the constructor takes one InstanceContext rather than a list of
// arguments, so the SDK can hand an instance more (a clock, a metrics sink, ...) later
// without breaking any vendor's source. Helpers leave only under the deprecation policy
// of citylink/version.h: CITYLINK_DEPRECATED for at least one SDK minor, removal only at
// the next major.
//
// ABI version stamped into citylink_entry: "requires a host of at least 1.0". A plugin
// that cannot work without something added in ABI 1.m says so, at global scope and
// before CITYLINK_PLUGIN_LIBRARY, in the same source file:
//
//   CITYLINK_REQUIRE_ABI_MINOR(2);   // refuses to load on a 1.0 or 1.1 host, by name
//   CITYLINK_PLUGIN_LIBRARY(Gauge)
//
// Prefer testing for the feature at run time instead (CITYLINK_HAS_SLOT, extensions):
// the plugin then still runs, without the feature, on older hosts.
#ifndef CITYLINK_PLUGIN_HPP
#define CITYLINK_PLUGIN_HPP

#include <citylink/abi.h>
#include <citylink/event_codes.h>
#include <citylink/ext/durable.h>
#include <citylink/ext/extension_id.h>
#include <citylink/ext/plugin_factory.h>
#include <citylink/kinds.h>
#include <citylink/topics.h>
#include <citylink/version.h>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>


namespace citylink {

// An error with an ABI status code; throw it anywhere in plugin code.
class Error : public std::runtime_error {
 public:
  Error(citylink_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  citylink_status status() const noexcept { return status_; }

 private:
  citylink_status status_;
};

// Thrown from a constructor when the instance config is wrong; name the field and the fix.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(CITYLINK_ERR_CONFIG, message) {}
};

enum class LogLevel : citylink_log_level {
  trace = CITYLINK_LOG_TRACE,
  debug = CITYLINK_LOG_DEBUG,
  info = CITYLINK_LOG_INFO,
  warn = CITYLINK_LOG_WARN,
  error = CITYLINK_LOG_ERROR
};

// What a plugin is; turned into a citylink_descriptor that lives until the last deinit.
struct Descriptor {
  std::string id;
  std::string name;
  std::string vendor;
  std::string version;
  std::string kind;  // CITYLINK_KIND_* (citylink/kinds.h)
  std::string description;
  std::vector<std::string> publishes;   // CITYLINK_TOPIC_* (citylink/topics.h) or subtrees "incident.*"
  std::vector<std::string> subscribes;  // topic prefixes, e.g. "incident."
  std::string config_schema;            // JSON Schema text; empty = none
  std::vector<std::string> extensions;  // extension ids, e.g. "citylink.health/1"
  std::vector<std::string> features;    // what it can do beyond its kind, e.g. "analytics.detection"
};

// The absolute path of this plugin library file, as the host passed it to the first
// successful init (to find data files shipped next to it). Empty before init.
// [any-thread] once init returned.
inline const std::string& plugin_path() noexcept;

// The host services of one instance. Cheap to copy; every method is safe from any thread.
class Host {
 public:
  explicit Host(const citylink_host_api* api) noexcept : api_(api) {}

  const citylink_host_api* raw() const noexcept { return api_; }

  std::string instance_id() const {
    const char* id = CITYLINK_HAS_SLOT(api_, instance_id) ? api_->instance_id(api_) : nullptr;
    return id ? id : "";
  }

  void log(LogLevel level, const std::string& message) const noexcept {
    if (CITYLINK_HAS_SLOT(api_, log)) api_->log(api_, static_cast<citylink_log_level>(level), message.c_str());
  }
  void info(const std::string& message) const noexcept { log(LogLevel::info, message); }
  void warn(const std::string& message) const noexcept { log(LogLevel::warn, message); }
  void error(const std::string& message) const noexcept { log(LogLevel::error, message); }

  // Publishes an already serialized citylink.v1.Envelope. Returns the status; `why` gets the reason.
  citylink_status publish_envelope(const std::string& topic, const std::string& envelope,
                                   std::string* why = nullptr) const noexcept {
    if (!CITYLINK_HAS_SLOT(api_, publish)) {
      if (why) *why = "the host provides no publish";
      return CITYLINK_ERR_UNSUPPORTED;
    }
    citylink_error err{};
    err.struct_size = sizeof(err);
    citylink_status st = api_->publish(api_, topic.c_str(), reinterpret_cast<const uint8_t*>(envelope.data()),
                                       envelope.size(), &err);
    if (st != CITYLINK_OK && why) *why = err.message;
    return st;
  }

  // Wraps `payload` in an envelope and publishes it. The host stamps id, source, time and origin.
  citylink_status publish(const std::string& topic, const google::protobuf::MessageLite& payload,
                          const std::string& correlation_id = {},
                          const std::map<std::string, std::string>& attributes = {},
                          std::string* why = nullptr) const {
    citylink::v1::Envelope env;
    env.set_topic(topic);
    env.set_schema(payload.GetTypeName());
    payload.SerializeToString(env.mutable_payload());
    if (!correlation_id.empty()) env.set_correlation_id(correlation_id);
    for (const auto& [k, v] : attributes) (*env.mutable_attributes())[k] = v;
    return publish_envelope(topic, env.SerializeAsString(), why);
  }

  // Host extension by id ("citylink.timer/1"), or nullptr.
  const void* extension(const char* id) const noexcept {
    return CITYLINK_HAS_SLOT(api_, get_extension) ? api_->get_extension(api_, id) : nullptr;
  }

  // Acknowledges a durable delivery (Message::delivery_tag()). Only needed with manual acks.
  citylink_status ack(uint64_t delivery_tag) const noexcept {
    return CITYLINK_HAS_SLOT(api_, ack) ? api_->ack(api_, delivery_tag) : CITYLINK_ERR_UNSUPPORTED;
  }

  // Rejects a durable delivery: `requeue` true delivers it again later (counts towards the
  // dead-letter limit), false dead-letters it now. Only needed with manual acks.
  citylink_status nack(uint64_t delivery_tag, bool requeue) const noexcept {
    return CITYLINK_HAS_SLOT(api_, nack) ? api_->nack(api_, delivery_tag, requeue ? 1 : 0)
                                         : CITYLINK_ERR_UNSUPPORTED;
  }

  // Still working on a durable delivery, e.g. waiting for the receiver it forwards to: its
  // ack timeout starts again (citylink.durable/1, ext/durable.h). Call it more often than
  // durable.ack_timeout_ms. CITYLINK_ERR_UNSUPPORTED from a host without the extension.
  citylink_status progress(uint64_t delivery_tag) const noexcept {
    const auto* d = static_cast<const citylink_host_durable*>(extension(CITYLINK_EXT_DURABLE));
    return d && d->progress ? d->progress(api_, delivery_tag) : CITYLINK_ERR_UNSUPPORTED;
  }

 private:
  const citylink_host_api* api_;
};

// Everything an instance is created with. The helper builds it; a plugin's unit test may
// build one too. Members are only ever added, so a constructor taking it keeps compiling.
class InstanceContext {
 public:
  InstanceContext(Host host, std::string config_json, std::string instance_id = {}, std::string library_path = {})
      : host_(host),
        config_json_(std::move(config_json)),
        instance_id_(std::move(instance_id)),
        library_path_(std::move(library_path)) {}

  // The host services; keep a copy (cheap) for use after the constructor.
  const Host& host() const noexcept { return host_; }
  // The `config:` mapping of the city config entry as JSON object text ("{}" when none).
  const std::string& config_json() const noexcept { return config_json_; }
  // The instance name from the city config ("water-level-gangnam-1").
  const std::string& instance_id() const noexcept { return instance_id_; }
  // The absolute path of this plugin library file (same as citylink::plugin_path()).
  const std::string& library_path() const noexcept { return library_path_; }

 private:
  Host host_;
  std::string config_json_;
  std::string instance_id_;
  std::string library_path_;
};

// A delivered message; valid only during on_message.
class Message {
 public:
  explicit Message(const citylink_message* raw) : raw_(raw) {}

  std::string_view topic() const noexcept { return raw_->topic ? raw_->topic : ""; }
  // Non-zero on a durable subscription; opaque, and new on every redelivery.
  uint64_t delivery_tag() const noexcept { return raw_->delivery_tag; }
  // How many times this message was delivered before (0 the first time).
  uint32_t redelivery_count() const noexcept {
    return CITYLINK_HAS_FIELD(raw_, citylink_message, redelivery_count) ? raw_->redelivery_count : 0;
  }
  bool redelivered() const noexcept {
    return (raw_->flags & CITYLINK_MESSAGE_REDELIVERED) != 0 || redelivery_count() > 0;
  }
  const citylink_message* raw() const noexcept { return raw_; }

  // The envelope; throws Error(CITYLINK_ERR_MALFORMED) when the bytes do not parse.
  const citylink::v1::Envelope& envelope() const {
    if (!envelope_) {
      envelope_.emplace();
      if (!envelope_->ParseFromArray(raw_->envelope, static_cast<int>(raw_->envelope_size))) {
        envelope_.reset();
        throw Error(CITYLINK_ERR_MALFORMED, "envelope on topic '" + std::string(topic()) + "' does not parse");
      }
    }
    return *envelope_;
  }

  // True when the payload is a T (by the envelope's schema name).
  template <class T>
  bool is() const {
    return envelope().schema() == T().GetTypeName();
  }

  // The payload as T, or nullopt when the schema is another type. Throws on unparsable bytes.
  template <class T>
  std::optional<T> payload() const {
    if (!is<T>()) return std::nullopt;
    T out;
    if (!out.ParseFromString(envelope().payload()))
      throw Error(CITYLINK_ERR_MALFORMED, "payload of schema '" + envelope().schema() + "' does not parse");
    return out;
  }

 private:
  const citylink_message* raw_;
  mutable std::optional<citylink::v1::Envelope> envelope_;
};

// Base class of a plugin instance. Every method may throw; the helper reports it.
class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual void start() {}
  virtual void stop() {}
  // Durable deliveries (delivery_tag != 0) are acked by the helper when this returns
  // normally. When it throws, the message stays unacked and the host redelivers it after
  // its timeout (up to the dead-letter limit); an Error(CITYLINK_ERR_MALFORMED) nacks it
  // without requeue instead, since the same bytes will not parse next time either.
  virtual void on_message(const Message&) {}
  virtual const void* extension(const char* /*id*/) { return nullptr; }
  // Return true to ack and nack durable deliveries yourself (Host::ack / Host::nack), e.g.
  // once a message is safely written somewhere, possibly from another thread. Read once,
  // right after the constructor, so it may depend on the instance config.
  virtual bool manual_acks() const { return false; }
};

namespace detail {

// The one error rule of abi.h, shared with C plugins.
inline void fill_error(citylink_error* err, citylink_status status, const char* message) noexcept {
  citylink_set_error(err, status, message);
}

// Runs `fn`, turning any exception into a status code and message.
template <class Fn>
citylink_status guarded(citylink_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return CITYLINK_OK;
  } catch (const Error& e) {
    fill_error(err, e.status(), e.what());
    return e.status();
  } catch (const std::exception& e) {
    fill_error(err, CITYLINK_ERR_INTERNAL, e.what());
    return CITYLINK_ERR_INTERNAL;
  } catch (...) {
    fill_error(err, CITYLINK_ERR_INTERNAL, "unknown exception");
    return CITYLINK_ERR_INTERNAL;
  }
}

inline std::string& plugin_path_storage() noexcept {
  static std::string path;
  return path;
}

// Keeps a Descriptor's strings alive behind the C struct that points into them.
struct DescriptorStorage {
  Descriptor cpp;
  std::vector<const char*> publishes, subscribes, extensions, features;
  citylink_descriptor c{};

  explicit DescriptorStorage(Descriptor d) : cpp(std::move(d)) {
    auto list = [](const std::vector<std::string>& in, std::vector<const char*>& out) {
      for (const auto& s : in) out.push_back(s.c_str());
      out.push_back(nullptr);
    };
    list(cpp.publishes, publishes);
    list(cpp.subscribes, subscribes);
    list(cpp.extensions, extensions);
    list(cpp.features, features);
    auto str = [](const std::string& s) -> const char* { return s.empty() ? nullptr : s.c_str(); };
    c.struct_size = sizeof(c);
    c.id = str(cpp.id);
    c.name = str(cpp.name);
    c.vendor = str(cpp.vendor);
    c.version = str(cpp.version);
    c.kind = str(cpp.kind);
    c.description = str(cpp.description);
    c.publishes = publishes.data();
    c.subscribes = subscribes.data();
    c.config_schema = str(cpp.config_schema);
    c.extensions = extensions.data();
    c.features = features.data();
  }
};

// One live instance: the C struct the host sees, and the plugin object behind it.
struct InstanceBox {
  citylink_instance c{};
  std::unique_ptr<Plugin> plugin;
  const citylink_host_api* host = nullptr;
  bool manual_acks = false;
  bool stopped = false;  // stop is idempotent (abi.h); the plugin's stop() runs once
};

inline InstanceBox* box(const citylink_instance* self) {
  return static_cast<InstanceBox*>(self->plugin_data);
}

inline citylink_status instance_start(const citylink_instance* self, citylink_error* err) noexcept {
  return guarded(err, [&] { box(self)->plugin->start(); });
}
inline void instance_stop(const citylink_instance* self) noexcept {
  if (box(self)->stopped) return;
  box(self)->stopped = true;
  // stop cannot fail in the ABI; an exception is still worth a log line.
  citylink_error err{};
  err.struct_size = sizeof(err);
  if (guarded(&err, [&] { box(self)->plugin->stop(); }) != CITYLINK_OK)
    Host(box(self)->host).error(std::string("stop threw: ") + err.message);
}
inline void instance_destroy(const citylink_instance* self) noexcept {
  delete box(self);
}
inline citylink_status instance_on_message(const citylink_instance* self, const citylink_message* msg,
                                           citylink_error* err) noexcept {
  if (!msg) {
    fill_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "message is NULL");
    return CITYLINK_ERR_INVALID_ARGUMENT;
  }
  InstanceBox* b = box(self);
  const citylink_status st = guarded(err, [&] { b->plugin->on_message(Message(msg)); });
  if (msg->delivery_tag != 0 && !b->manual_acks) {
    const Host host(b->host);
    if (st == CITYLINK_OK) host.ack(msg->delivery_tag);
    else if (st == CITYLINK_ERR_MALFORMED) host.nack(msg->delivery_tag, /*requeue=*/false);
    // Any other failure: left unacked; the host's redelivery timeout is the back-off.
  }
  return st;
}
inline const void* instance_get_extension(const citylink_instance* self, const char* id) noexcept {
  try {
    return id ? box(self)->plugin->extension(id) : nullptr;
  } catch (...) {
    return nullptr;
  }
}

// CITYLINK_REQUIRE_ABI_MINOR specialises this for the one tag below.
struct RequiredAbiMinorTag;
template <class Tag>
struct RequiredAbiMinor {
  static constexpr uint32_t value = 0;
};


template <class>
inline constexpr bool always_false = false;

template <class P>
std::unique_ptr<Plugin> construct(const InstanceContext& ctx) {
  static_assert(std::is_base_of_v<Plugin, P>, "a plugin class must derive from citylink::Plugin");
  if constexpr (std::is_constructible_v<P, const InstanceContext&>) {
    return std::make_unique<P>(ctx);
  } else if constexpr (std::is_default_constructible_v<P>) {
    return std::make_unique<P>();  // needs neither host nor config
  } else {
    static_assert(always_false<P>,
                  "a plugin class needs a constructor P(const citylink::InstanceContext&) (or a default one)");
    return nullptr;
  }
}

// The library of plugin classes Ps...; its static functions fill citylink_entry.
template <class... Ps>
struct Library {
  static constexpr std::size_t count = sizeof...(Ps);

  static std::array<std::unique_ptr<DescriptorStorage>, count>& descriptors() {
    static std::array<std::unique_ptr<DescriptorStorage>, count> d;
    return d;
  }

  // init/deinit are reference-counted (abi.h): the first successful init builds the
  // descriptors, the matching last deinit frees them, the calls between only count.
  struct State {
    std::mutex mu;
    unsigned refs = 0;
  };
  static State& state() {
    static State s;
    return s;
  }

  template <class P>
  static std::unique_ptr<DescriptorStorage> describe_one() {
    try {
      return std::make_unique<DescriptorStorage>(P::describe());
    } catch (const Error& e) {
      throw Error(e.status(), std::string("describe() threw: ") + e.what());
    } catch (const std::exception& e) {
      throw Error(CITYLINK_ERR_INTERNAL, std::string("describe() threw: ") + e.what());
    }
  }

  static citylink_status init(const char* path, citylink_error* err) noexcept {
    return guarded(err, [&] {
      std::lock_guard<std::mutex> lk(state().mu);
      if (state().refs == 0) {
        try {
          std::size_t i = 0;
          ((descriptors()[i++] = describe_one<Ps>()), ...);
          plugin_path_storage() = path ? path : "";
        } catch (...) {
          for (auto& d : descriptors()) d.reset();
          throw;
        }
      }
      ++state().refs;
    });
  }

  static void deinit() noexcept {
    try {
      std::lock_guard<std::mutex> lk(state().mu);
      if (state().refs == 0) return;  // no init outstanding: nothing to undo
      if (--state().refs == 0)
        for (auto& d : descriptors()) d.reset();
    } catch (...) {
    }
  }

  static uint32_t plugin_count() noexcept { return static_cast<uint32_t>(count); }

  static const citylink_descriptor* descriptor(uint32_t index) noexcept {
    if (index >= count || !descriptors()[index]) return nullptr;
    return &descriptors()[index]->c;
  }

  template <class P>
  static bool try_create(std::size_t index, const char* plugin_id, const citylink_host_api* host,
                         const char* config, std::unique_ptr<InstanceBox>& out) {
    const auto& d = descriptors()[index];
    if (out || !d || d->cpp.id != plugin_id) return false;
    auto b = std::make_unique<InstanceBox>();
    const Host h(host);
    b->plugin = construct<P>(InstanceContext(h, config ? config : "{}", h.instance_id(), plugin_path_storage()));
    b->manual_acks = b->plugin->manual_acks();
    b->host = host;
    b->c.struct_size = sizeof(citylink_instance);
    b->c.descriptor = &d->c;
    b->c.start = &instance_start;
    b->c.stop = &instance_stop;
    b->c.destroy = &instance_destroy;
    b->c.on_message = &instance_on_message;
    b->c.get_extension = &instance_get_extension;
    out = std::move(b);
    return true;
  }

  static const citylink_instance* create(const citylink_host_api* host, const char* plugin_id,
                                         const char* config_json, citylink_error* err) noexcept {
    if (!host || !plugin_id) {
      fill_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "host and plugin_id are required");
      return nullptr;
    }
    std::unique_ptr<InstanceBox> out;
    citylink_status st = guarded(err, [&] {
      {
        std::lock_guard<std::mutex> lk(state().mu);
        if (state().refs == 0) throw Error(CITYLINK_ERR_STATE, "create called before init");
      }
      std::size_t i = 0;
      (try_create<Ps>(i++, plugin_id, host, config_json, out), ...);
    });
    if (st != CITYLINK_OK) return nullptr;
    if (!out) {
      fill_error(err, CITYLINK_ERR_INVALID_ARGUMENT,
                 (std::string("this library has no plugin '") + plugin_id + "'").c_str());
      return nullptr;
    }
    InstanceBox* raw = out.release();
    raw->c.plugin_data = raw;
    return &raw->c;
  }

  // "citylink.plugin-factory/1": the same plugin set, for a host or shim that asks for it.
  static uint32_t factory_plugin_count(const citylink_plugin_factory*) noexcept { return plugin_count(); }
  static const citylink_descriptor* factory_descriptor(const citylink_plugin_factory*, uint32_t index) noexcept {
    return descriptor(index);
  }
  static const citylink_instance* factory_create(const citylink_plugin_factory*, const citylink_host_api* host,
                                                 const char* plugin_id, const char* config_json,
                                                 citylink_error* err) noexcept {
    return create(host, plugin_id, config_json, err);
  }

  static const void* get_factory(const char* factory_id) noexcept {
    static const citylink_plugin_factory factory = {&factory_plugin_count, &factory_descriptor, &factory_create};
    if (factory_id && std::strcmp(factory_id, CITYLINK_PLUGIN_FACTORY_ID) == 0) return &factory;
    return nullptr;
  }
};

}  // namespace detail

inline const std::string& plugin_path() noexcept { return detail::plugin_path_storage(); }

}  // namespace citylink

// Makes the library require a host of at least ABI 1.n (see the top of this file). At
// global scope, before CITYLINK_PLUGIN_LIBRARY, once; followed by a semicolon.
#define CITYLINK_REQUIRE_ABI_MINOR(n)                                                                      \
  static_assert(static_cast<unsigned long long>(n) <= CITYLINK_ABI_VERSION_MINOR,                          \
                "CITYLINK_REQUIRE_ABI_MINOR: these SDK headers are older than the ABI minor required");   \
  template <>                                                                                              \
  struct citylink::detail::RequiredAbiMinor<citylink::detail::RequiredAbiMinorTag> {                       \
    static constexpr uint32_t value = static_cast<uint32_t>(n);                                            \
  }

// Defines the library's one exported symbol for the plugin classes given. At global scope, once.
#define CITYLINK_PLUGIN_LIBRARY(...)                                                            \
  extern "C" CITYLINK_EXPORT const citylink_entry_t citylink_entry = {                          \
      {CITYLINK_ABI_VERSION_MAJOR,                                                              \
       ::citylink::detail::RequiredAbiMinor<::citylink::detail::RequiredAbiMinorTag>::value},   \
      sizeof(citylink_entry_t),                                                                 \
      &::citylink::detail::Library<__VA_ARGS__>::init,                                          \
      &::citylink::detail::Library<__VA_ARGS__>::deinit,                                        \
      &::citylink::detail::Library<__VA_ARGS__>::plugin_count,                                  \
      &::citylink::detail::Library<__VA_ARGS__>::descriptor,                                    \
      &::citylink::detail::Library<__VA_ARGS__>::create,                                        \
      &::citylink::detail::Library<__VA_ARGS__>::get_factory};

#endif  // CITYLINK_PLUGIN_HPP
