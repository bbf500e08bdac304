// A plugin instance: the host table it calls, the dispatch thread that calls it.
#include <citylink/host/error.hpp>
#include <citylink/host/instance.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/packet.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/topic.hpp>

#include <cstring>

namespace citylink::host {

const char* to_string(InstanceState s) {
  switch (s) {
    case InstanceState::created: return "created";
    case InstanceState::running: return "running";
    case InstanceState::stopped: return "stopped";
    case InstanceState::failed: return "failed";
  }
  return "unknown";
}

namespace {

void fill_error(citylink_error* err, citylink_status status, const std::string& message) {
  citylink_set_error(err, status, message.c_str());  // the one error rule of abi.h
}

std::string error_text(const citylink_error& err) {
  return err.message[0] ? std::string(err.message, strnlen(err.message, CITYLINK_ERROR_MESSAGE_MAX))
                        : std::string("(no message)");
}

spdlog::level::level_enum to_spdlog(citylink_log_level l) {
  switch (l) {
    case CITYLINK_LOG_TRACE: return spdlog::level::trace;
    case CITYLINK_LOG_DEBUG: return spdlog::level::debug;
    case CITYLINK_LOG_INFO: return spdlog::level::info;
    case CITYLINK_LOG_WARN: return spdlog::level::warn;
    case CITYLINK_LOG_ERROR: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

// The host table handed to a plugin instance, and what it points at.
//
// A plugin's own threads may call publish or log after a failed start, after stop, even
// after destroy (H2 of the review). So the table and its state are never freed while the
// process lives: the instance only marks it closed, and every call checks that mark. The
// tables are kept in a process-wide list, a few hundred bytes per instance ever created.
struct HostTable {
  citylink_host_api api{};
  std::string id;
  std::shared_ptr<Publisher> publisher;
  std::atomic<bool> alive{true};
};

namespace {

std::mutex g_tables_mu;
std::vector<std::unique_ptr<HostTable>>& all_tables() {
  static auto* tables = new std::vector<std::unique_ptr<HostTable>>();  // outlives static destructors
  return *tables;
}

HostTable* table_of(const citylink_host_api* h) { return h ? static_cast<HostTable*>(h->host_data) : nullptr; }

citylink_status host_publish(const citylink_host_api* h, const char* topic, const uint8_t* envelope, size_t size,
                             citylink_error* err) noexcept {
  try {
    HostTable* t = table_of(h);
    if (!t || !topic) {
      fill_error(err, CITYLINK_ERR_INVALID_ARGUMENT, "publish needs the host table and a topic");
      return CITYLINK_ERR_INVALID_ARGUMENT;
    }
    std::string why;
    const citylink_status st = t->publisher->publish(topic, envelope, size, &why);
    if (st != CITYLINK_OK) fill_error(err, st, why);
    return st;
  } catch (...) {
    fill_error(err, CITYLINK_ERR_INTERNAL, "the host failed to queue the message");
    return CITYLINK_ERR_INTERNAL;
  }
}

void host_log(const citylink_host_api* h, citylink_log_level level, const char* message) noexcept {
  try {
    HostTable* t = table_of(h);
    if (!t || !message || !t->alive.load()) return;
    log()->log(to_spdlog(level), "[{}] {}", t->id, message);
  } catch (...) {
  }
}

const void* host_get_extension(const citylink_host_api*, const char*) noexcept {
  // ABI 1.0 defines no host extensions yet; NULL is the documented "not provided".
  return nullptr;
}

const char* host_instance_id(const citylink_host_api* h) noexcept {
  HostTable* t = table_of(h);
  return t ? t->id.c_str() : nullptr;
}

citylink_status host_ack(const citylink_host_api*, uint64_t delivery_tag) noexcept {
  // Only durable subscriptions hand out non-zero tags, and none is configured on this host.
  return delivery_tag == 0 ? CITYLINK_OK : CITYLINK_ERR_INVALID_ARGUMENT;
}

citylink_status host_nack(const citylink_host_api*, uint64_t delivery_tag, int32_t /*requeue*/) noexcept {
  // Only durable subscriptions hand out non-zero tags, and none is configured on this host.
  return delivery_tag == 0 ? CITYLINK_OK : CITYLINK_ERR_INVALID_ARGUMENT;
}

HostTable* new_table(const std::string& id, std::shared_ptr<Publisher> publisher) {
  auto t = std::make_unique<HostTable>();
  t->id = id;
  t->publisher = std::move(publisher);
  t->api.struct_size = sizeof(t->api);
  t->api.abi_version = {CITYLINK_ABI_VERSION_MAJOR, CITYLINK_ABI_VERSION_MINOR};
  t->api.host_data = t.get();
  t->api.publish = &host_publish;
  t->api.log = &host_log;
  t->api.get_extension = &host_get_extension;
  t->api.instance_id = &host_instance_id;
  t->api.ack = &host_ack;
  t->api.nack = &host_nack;
  std::lock_guard lk(g_tables_mu);
  all_tables().push_back(std::move(t));
  return all_tables().back().get();
}

std::string list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "nothing" : out;
}

}  // namespace

PluginInstance::PluginInstance(std::shared_ptr<PluginLibrary> library, InstanceOptions options, Router& router,
                               zmq::context_t& ctx)
    : library_(std::move(library)),
      options_(std::move(options)),
      router_(router),
      ctx_(ctx),
      counters_(std::make_shared<InstanceCounters>()) {
  const std::string who = "instance '" + options_.instance_id + "' (plugin '" + options_.plugin_id + "' from '" +
                          library_->path().string() + "')";
  descriptor_ = library_->find(options_.plugin_id);
  if (!descriptor_) throw InstanceError(who + ": the library has no plugin with that id");

  resolve_grants();
  for (const auto& g : grants_)
    if (!is_valid_grant(g))
      throw InstanceError(who + ": publish grant '" + g + "' is not a topic, 'prefix.*' or '*'");
  queue_depth_ = options_.queue_depth > 0 ? options_.queue_depth : router_.options().queue_depth;

  publisher_ = router_.add_publisher(options_.instance_id, grants_, counters_);
  table_ = new_table(options_.instance_id, publisher_);

  citylink_error err{};
  err.struct_size = sizeof(err);
  instance_ = library_->entry().create(&table_->api, options_.plugin_id.c_str(), options_.config_json.c_str(), &err);
  if (!instance_) {
    state_ = InstanceState::failed;
    last_error_ = error_text(err);
    close_table();
    throw InstanceError(who + ": create failed: " + last_error_);
  }
  if (instance_->struct_size < offsetof(citylink_instance, get_extension) || !instance_->start || !instance_->stop ||
      !instance_->destroy) {
    last_error_ = "the instance struct returned by create is incomplete";
    if (instance_->destroy) instance_->destroy(instance_);
    instance_ = nullptr;
    state_ = InstanceState::failed;
    close_table();
    throw InstanceError(who + ": " + last_error_ + "; rebuild the plugin with the CityLink SDK");
  }
  // Subscribed from creation on, so messages published while the city starts up wait in
  // this instance's queue until its start returns instead of being lost. If that fails the
  // destructor will not run, so the created instance is destroyed here (M11).
  try {
    attach_inbox();
  } catch (...) {
    instance_->destroy(instance_);
    instance_ = nullptr;
    state_ = InstanceState::failed;
    close_table();
    throw;
  }
}

// Deny by default. The descriptor only says what the plugin asks for; the city config
// grants it. With `grants: requested` the request is granted minus what the host keeps.
void PluginInstance::resolve_grants() {
  const auto& d = *descriptor_;
  if (options_.grants_requested) {
    for (const auto& t : d.publishes) {
      if (pattern_inside_engine_only(t))
        log()->warn("[{}] requests to publish '{}', which only the scenario engine publishes; not granted", id(), t);
      else
        grants_.push_back(t);
    }
    for (const auto& t : d.subscribes) {
      if (pattern_inside_recipient_addressed(t) && options_.recipient.empty())
        log()->warn("[{}] requests '{}', which carries outputs addressed to agencies; not granted without "
                    "`recipient:` in the city config", id(), t);
      else
        subscriptions_.push_back(t);
    }
  } else {
    grants_ = options_.publish_grants;
    subscriptions_ = options_.subscriptions;
    if (grants_.empty() && subscriptions_.empty() && (!d.publishes.empty() || !d.subscribes.empty()))
      log()->warn("[{}] nothing granted (it requests publish: {}; subscribe: {}); add `grants: requested` or list "
                  "the topics under `grants:` in the city config", id(), list(d.publishes), list(d.subscribes));
  }
  // What the plugin asked for next to what the city granted, so an operator reviews both.
  log()->info("[{}] requests publish: {}; subscribe: {} -- granted publish: {}; subscribe: {}{}", id(),
              list(d.publishes), list(d.subscribes), list(grants_), list(subscriptions_),
              options_.recipient.empty() ? "" : "; recipient: " + options_.recipient);
}

void PluginInstance::close_table() {
  if (!table_) return;
  table_->alive = false;
  if (publisher_) publisher_->close();
}

PluginInstance::~PluginInstance() {
  stop();
  if (instance_) instance_->destroy(instance_);
  instance_ = nullptr;
  close_table();
  if (!dispatcher_.joinable()) detach_inbox();
}

void PluginInstance::start() {
  if (state_ != InstanceState::created)
    throw InstanceError("instance '" + id() + "': start called while " + to_string(state_));
  publisher_->open_held();
  citylink_error err{};
  err.struct_size = sizeof(err);
  const citylink_status st = instance_->start(instance_, &err);
  if (st != CITYLINK_OK) {
    publisher_->close();
    detach_inbox();
    state_ = InstanceState::failed;
    last_error_ = error_text(err);
    throw InstanceError("instance '" + id() + "' (plugin '" + plugin_id() + "'): start failed (status " +
                        std::to_string(st) + "): " + last_error_);
  }
  state_ = InstanceState::running;
  publisher_->release();
  if (inbox_.is_open()) {
    dispatching_ = true;
    dispatcher_ = std::thread([this] { dispatch_loop(); });
  }
  log()->info("[{}] started ({} {} by {})", id(), descriptor_->id, descriptor_->version, descriptor_->vendor);
}

void PluginInstance::attach_inbox() {
  if (subscriptions_.empty() || instance_->on_message == nullptr) return;
  endpoint_ = router_.endpoint_prefix() + "/sink/" + id();
  inbox_ = Inbox(ctx_, endpoint_, queue_depth_);
  router_.add_sink(SinkSpec{id(), subscriptions_, endpoint_, counters_, false, queue_depth_, options_.recipient,
                            inbox_.critical_endpoint(), inbox_.bytes()});
}

void PluginInstance::detach_inbox() {
  if (!inbox_.is_open()) return;
  router_.remove_sink(id());
  // Messages that queued for an instance that never ran are counted, not silently lost.
  zmq::message_t m;
  while (inbox_.receive(m, std::chrono::milliseconds(0)))
    counters_->dropped_stopped.fetch_add(1, std::memory_order_relaxed);
  inbox_.close();
}

void PluginInstance::stop() {
  if (state_ != InstanceState::running) return;
  if (dispatcher_.joinable()) {
    // After remove_sink returns the router sends nothing more; the dispatcher then drains
    // what is already queued so no accepted message is silently lost.
    router_.remove_sink(id());
    dispatching_ = false;
    dispatcher_.join();
  }
  instance_->stop(instance_);
  publisher_->close();
  state_ = InstanceState::stopped;
  log()->info("[{}] stopped", id());
}

void PluginInstance::dispatch_loop() {
  zmq::message_t packet;
  while (true) {
    if (inbox_.receive(packet, std::chrono::milliseconds(50))) {
      deliver(packet);
      continue;
    }
    if (!dispatching_.load()) {
      while (inbox_.receive(packet, std::chrono::milliseconds(0))) deliver(packet);
      break;
    }
  }
  inbox_.close();
}

void PluginInstance::deliver(zmq::message_t& raw) {
  const auto view = packet::read(raw.data(), raw.size());
  if (!view) return;
  citylink_message msg{};
  msg.struct_size = sizeof(msg);
  msg.topic = view->topic.data();
  msg.envelope = view->envelope;
  msg.envelope_size = view->envelope_size;
  citylink_error err{};
  err.struct_size = sizeof(err);
  citylink_status st;
  try {
    st = instance_->on_message(instance_, &msg, &err);
  } catch (...) {
    // A plugin built without the SDK helper threw across the C ABI (M1): counted as a
    // failure of this message; the instance keeps running.
    st = CITYLINK_ERR_INTERNAL;
    fill_error(&err, st, "on_message threw an exception across the C ABI; catch exceptions in the plugin");
  }
  if (st == CITYLINK_OK) {
    counters_->delivered.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t n = counters_->failed.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n <= 5 || n % 1000 == 0)
    log()->warn("[{}] on_message failed on '{}' (status {}, #{}): {}", id(), msg.topic, st, n, error_text(err));
}

}  // namespace citylink::host
