// citylink/plugin.hpp — header-only C++17 helper for writing a CityLink plugin.
//
// A vendor writes a class and one macro:
//
//   class Gauge : public citylink::Plugin {
//    public:
//     static citylink::Descriptor describe();                    // what it is
//     Gauge(citylink::Host host, const std::string& config_json);  // throw ConfigError on bad config
//     void start() override;                                     // begin publishing
//     void stop() override;                                      // stop all threads
//     void on_message(const citylink::Message& m) override;      // subscribed topics
//   };
//   CITYLINK_PLUGIN_LIBRARY(Gauge)
//
// The helper turns that into the C ABI of abi.h and catches every exception at the
// boundary, turning it into a status code and a message. Nothing here crosses the
// boundary but C types; protobuf objects live on the plugin's side only (it links its own
// protobuf-lite and its own copy of the schema, which citylink_add_plugin() arranges).
#ifndef CITYLINK_PLUGIN_HPP
#define CITYLINK_PLUGIN_HPP

#include <citylink/abi.h>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#if defined(_WIN32)
#define CITYLINK_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CITYLINK_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

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

enum class LogLevel { trace = CITYLINK_LOG_TRACE, debug = CITYLINK_LOG_DEBUG, info = CITYLINK_LOG_INFO,
                      warn = CITYLINK_LOG_WARN, error = CITYLINK_LOG_ERROR };

// What a plugin is; turned into a citylink_descriptor that lives until deinit.
struct Descriptor {
  std::string id;
  std::string name;
  std::string vendor;
  std::string version;
  std::string kind;
  std::string description;
  std::vector<std::string> publishes;
  std::vector<std::string> subscribes;
  std::string config_schema;  // JSON Schema text; empty = none
  std::vector<std::string> extensions;
};

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
    citylink_error err{};
    err.struct_size = sizeof(err);
    citylink_status st = api_->publish(api_, topic.c_str(), reinterpret_cast<const uint8_t*>(envelope.data()),
                                       envelope.size(), &err);
    if (st != CITYLINK_OK && why) *why = err.message;
    return st;
  }

  // Wraps `payload` in an envelope and publishes it. The host stamps id, source and time.
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

  // Acknowledges a durable delivery (Message::delivery_tag()).
  citylink_status ack(uint64_t delivery_tag) const noexcept {
    return CITYLINK_HAS_SLOT(api_, ack) ? api_->ack(api_, delivery_tag) : CITYLINK_ERR_UNSUPPORTED;
  }

 private:
  const citylink_host_api* api_;
};

// A delivered message; valid only during on_message.
class Message {
 public:
  explicit Message(const citylink_message* raw) : raw_(raw) {}

  std::string_view topic() const noexcept { return raw_->topic ? raw_->topic : ""; }
  uint64_t delivery_tag() const noexcept { return raw_->delivery_tag; }
  bool redelivered() const noexcept { return (raw_->flags & CITYLINK_MESSAGE_REDELIVERED) != 0; }
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
  virtual void on_message(const Message&) {}
  virtual const void* extension(const char* /*id*/) { return nullptr; }
};

namespace detail {

inline void fill_error(citylink_error* err, citylink_status status, const char* message) noexcept {
  // Write only what the caller's struct has room for (an older caller may have a smaller one).
  if (!err || err->struct_size <= offsetof(citylink_error, message)) return;
  err->code = status;
  const std::size_t room =
      std::min<std::size_t>(err->struct_size - offsetof(citylink_error, message), CITYLINK_ERROR_MESSAGE_MAX);
  std::strncpy(err->message, message ? message : "", room - 1);
  err->message[room - 1] = '\0';
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

// Keeps a Descriptor's strings alive behind the C struct that points into them.
struct DescriptorStorage {
  Descriptor cpp;
  std::vector<const char*> publishes, subscribes, extensions;
  citylink_descriptor c{};

  explicit DescriptorStorage(Descriptor d) : cpp(std::move(d)) {
    auto list = [](const std::vector<std::string>& in, std::vector<const char*>& out) {
      for (const auto& s : in) out.push_back(s.c_str());
      out.push_back(nullptr);
    };
    list(cpp.publishes, publishes);
    list(cpp.subscribes, subscribes);
    list(cpp.extensions, extensions);
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
  }
};

// One live instance: the C struct the host sees, and the plugin object behind it.
struct InstanceBox {
  citylink_instance c{};
  std::unique_ptr<Plugin> plugin;
  const citylink_host_api* host = nullptr;
};

inline InstanceBox* box(const citylink_instance* self) {
  return static_cast<InstanceBox*>(self->plugin_data);
}

inline citylink_status instance_start(const citylink_instance* self, citylink_error* err) noexcept {
  return guarded(err, [&] { box(self)->plugin->start(); });
}
inline void instance_stop(const citylink_instance* self) noexcept {
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
  return guarded(err, [&] { box(self)->plugin->on_message(Message(msg)); });
}
inline const void* instance_get_extension(const citylink_instance* self, const char* id) noexcept {
  try {
    return id ? box(self)->plugin->extension(id) : nullptr;
  } catch (...) {
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

  static int init(const char* /*plugin_path*/) noexcept {
    try {
      std::size_t i = 0;
      ((descriptors()[i++] = std::make_unique<DescriptorStorage>(Ps::describe())), ...);
      return 1;
    } catch (...) {
      return 0;
    }
  }

  static void deinit() noexcept {
    for (auto& d : descriptors()) d.reset();
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
    b->plugin = std::make_unique<P>(Host(host), std::string(config ? config : "{}"));
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
};

}  // namespace detail
}  // namespace citylink

// Defines the library's one exported symbol for the plugin classes given.
#define CITYLINK_PLUGIN_LIBRARY(...)                                                          \
  extern "C" CITYLINK_PLUGIN_EXPORT const citylink_entry_t citylink_entry = {                 \
      {CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR},                               \
      sizeof(citylink_entry_t),                                                               \
      &::citylink::detail::Library<__VA_ARGS__>::init,                                        \
      &::citylink::detail::Library<__VA_ARGS__>::deinit,                                      \
      &::citylink::detail::Library<__VA_ARGS__>::plugin_count,                                \
      &::citylink::detail::Library<__VA_ARGS__>::descriptor,                                  \
      &::citylink::detail::Library<__VA_ARGS__>::create,                                      \
      {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}};

#endif  // CITYLINK_PLUGIN_HPP
