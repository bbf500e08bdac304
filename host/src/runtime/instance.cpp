// A plugin instance: its grants, its queue, the dispatch thread that calls it, its lifecycle.
#include <citylink/host/error.hpp>
#include <citylink/host/instance.hpp>
#include <citylink/host/worker_backend.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/packet.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/topic.hpp>

#include "in_process_backend.hpp"

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
  try {
    backend_ = options_.isolated
                   ? make_worker_backend(options_.worker, options_.instance_id, options_.config_json, publisher_,
                                         counters_, ctx_)
                   : make_in_process_backend(library_, options_.plugin_id, options_.instance_id,
                                             options_.config_json, who, publisher_, counters_);
  } catch (const std::exception& e) {
    state_ = InstanceState::failed;
    last_error_ = e.what();
    publisher_->close();
    if (options_.isolated) throw InstanceError(who + ": " + e.what());
    throw;
  }
  // Subscribed from creation on, so messages published while the city starts up wait in
  // this instance's queue until its start returns instead of being lost. If that fails the
  // destructor will not run, so the created instance is destroyed here (M11).
  try {
    attach_inbox();
  } catch (...) {
    backend_->destroy();
    state_ = InstanceState::failed;
    publisher_->close();
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

PluginInstance::~PluginInstance() {
  stop();
  if (backend_) backend_->destroy();
  if (publisher_) publisher_->close();
  if (!dispatcher_.joinable()) detach_inbox();
}

InstanceState PluginInstance::state() const {
  return backend_ && backend_->failed() ? InstanceState::failed : state_.load();
}

std::string PluginInstance::where() const { return backend_ ? backend_->where() : "not created"; }

void PluginInstance::start() {
  if (state_ != InstanceState::created)
    throw InstanceError("instance '" + id() + "': start called while " + to_string(state_));
  publisher_->open_held();
  std::string error;
  const citylink_status st = backend_->start(error);
  if (st != CITYLINK_OK) {
    publisher_->close();
    detach_inbox();
    state_ = InstanceState::failed;
    last_error_ = error;
    throw InstanceError("instance '" + id() + "' (plugin '" + plugin_id() + "'): start failed (status " +
                        std::to_string(st) + "): " + last_error_);
  }
  state_ = InstanceState::running;
  publisher_->release();
  if (inbox_.is_open()) {
    dispatching_ = true;
    dispatcher_ = std::thread([this] { dispatch_loop(); });
  }
  log()->info("[{}] started ({} {} by {}, {})", id(), descriptor_->id, descriptor_->version, descriptor_->vendor,
              backend_->where());
}

void PluginInstance::attach_inbox() {
  if (subscriptions_.empty() || !backend_->receives()) return;
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
    backend_->begin_stop();
    dispatching_ = false;
    dispatcher_.join();
  }
  backend_->stop();
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
  if (view) backend_->deliver(view->topic, view->envelope, view->envelope_size);
}

}  // namespace citylink::host
