// A plugin instance: its grants, its queue, the dispatch thread that calls it, its lifecycle.
#include <citylink/host/error.hpp>
#include <citylink/host/instance.hpp>
#include <citylink/host/worker_backend.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/topic.hpp>

#include "in_process_backend.hpp"

#include <algorithm>
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

// Messages a durable subscriber writes to the outbox in one transaction, and hands over
// between two writes.
constexpr std::size_t kDurableBurst = 256;
// A durable subscriber's queue in messages: far above what host.queue_bytes lets in, so
// only the bytes bound it (ZeroMQ allocates a queue as it fills, not up front).
constexpr int kDurableQueueDepth = 1'000'000;
// Messages the dispatch thread takes from its inbox at once, and their bytes: as many as
// the router's batch to a subscriber (router.cpp). The backend gets them in pieces of its
// batch_size() (a worker: all of them in one message).
constexpr std::size_t kMaxBatch = 256;
// At a stop, the pieces are cut to this, so the Stop request waits behind few deliveries.
constexpr std::size_t kStoppingBatch = 32;
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
// How long a stop waits for a durable subscriber's deliveries in flight to be acked.
constexpr auto kStopDrain = std::chrono::seconds(1);

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
  init(who);
}

PluginInstance::PluginInstance(PluginDescriptor descriptor, InstanceOptions options, Router& router,
                               zmq::context_t& ctx)
    : options_(std::move(options)),
      own_descriptor_(std::make_unique<PluginDescriptor>(std::move(descriptor))),
      router_(router),
      ctx_(ctx),
      counters_(std::make_shared<InstanceCounters>()) {
  const std::string who = "instance '" + options_.instance_id + "' (plugin '" + options_.plugin_id + "' from '" +
                          options_.worker.plugin_file + "')";
  // Without a library there is nothing to run here: such code (a Python plugin) runs only
  // in its worker process.
  if (!options_.isolated) throw InstanceError(who + ": this plugin runs only in a worker process (isolation: process)");
  descriptor_ = own_descriptor_.get();
  init(who);
}

void PluginInstance::init(const std::string& who) {
  resolve_grants();
  for (const auto& g : grants_)
    if (!is_valid_grant(g))
      throw InstanceError(who + ": publish grant '" + g + "' is not a topic, 'prefix.*' or '*'");
  queue_depth_ = options_.queue_depth > 0 ? options_.queue_depth : router_.options().queue_depth;
  // A durable subscriber's queue is bounded in bytes (host.queue_bytes) and guarded by the
  // outbox's gate, not in messages: a burst of many small messages must wait at its
  // publisher, never be dropped before it was accepted (docs/delivery.md §1).
  if (options_.durable) queue_depth_ = kDurableQueueDepth;

  DeliveryHooks delivery;
  if (options_.durable) {
    if (!options_.outbox) throw InstanceError(who + ": durable: needs the host's outbox (host.outbox)");
    auto topics = options_.durable->topics.empty() ? subscriptions_ : options_.durable->topics;
    for (const auto& t : topics)
      if (!grants_allow(subscriptions_, t) && std::find(subscriptions_.begin(), subscriptions_.end(), t) == subscriptions_.end())
        throw InstanceError(who + ": durable.topics names '" + t + "', which it does not subscribe to (granted: " +
                            list(subscriptions_) + "); list only subscribed topics");
    if (topics.empty()) throw InstanceError(who + ": durable: it subscribes to nothing; grant it topics first");
    durable_ = std::make_shared<DurableQueue>(options_.outbox, options_.instance_id, std::move(topics),
                                              *options_.durable, counters_);
    // Weak: the host table outlives the instance (host_table.hpp); a late ack finds nothing.
    std::weak_ptr<DurableQueue> queue = durable_;
    delivery.ack = [queue](uint64_t tag) {
      auto q = queue.lock();
      return q ? q->ack(tag) : CITYLINK_ERR_STATE;
    };
    delivery.nack = [queue](uint64_t tag, bool requeue) {
      auto q = queue.lock();
      return q ? q->nack(tag, requeue) : CITYLINK_ERR_STATE;
    };
    delivery.progress = [queue](uint64_t tag) {
      auto q = queue.lock();
      return q ? q->progress(tag) : CITYLINK_ERR_STATE;
    };
    delivery.lost = [queue] {
      if (auto q = queue.lock()) q->lost_in_flight();
    };
    delivery.room = [queue] {
      if (auto q = queue.lock()) q->room();
    };
  }
  publisher_ = router_.add_publisher(options_.instance_id, grants_, counters_);
  publisher_->limit_rate(options_.publish_rate);
  options_.worker.publish_rate = options_.publish_rate;  // the worker refuses first, the publisher still checks
  options_.worker.critical_topics = router_.options().critical_topics;
  options_.worker.window_bytes = router_.options().queue_bytes;
  try {
    backend_ = options_.isolated
                   ? make_worker_backend(options_.worker, options_.instance_id, options_.config_json, publisher_,
                                         counters_, delivery, ctx_)
                   : make_in_process_backend(library_, options_.plugin_id, options_.instance_id,
                                             options_.config_json, who, publisher_, counters_, delivery,
                                             options_.watchdog);
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
  // Acks the plugin gave between its stop and its destroy (the ABI allows them until then).
  if (durable_ && !durable_->finish()) {
    // The outbox stayed unwritable to the end: what it could not take is lost now, loudly.
    const std::size_t n = durable_->accepted_unflushed();
    counters_->dropped_stopped.fetch_add(n, std::memory_order_relaxed);
    log()->error("[{}] {} durable message(s) could not be written to the outbox and are lost with this instance; "
                 "see the outbox errors above", id(), n);
  }
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
  // Every dispatch thread has a waker, so a stop does not wait out its receive timeout (100
  // instances stopped one after another used to take 100 times that timeout).
  waker_ = inbox_.waker();
  if (durable_) durable_->set_wake([w = waker_] { w->wake(); });
  std::string why;
  if (!router_.add_sink(SinkSpec{id(), subscriptions_, endpoint_, counters_, false, queue_depth_, options_.recipient,
                                 inbox_.critical_endpoint(), inbox_.bytes(), durable_ != nullptr},
                        &why)) {
    // An instance that would never receive must not look running (it would fail silently).
    inbox_.close();
    throw InstanceError("instance '" + id() + "': the router could not connect to its queue (" + why +
                        "); the instance is not started, the city runs on without it");
  }
  // Past half its bytes, the outbox's gate refuses publishers of its topics (BACKPRESSURE),
  // so the router's drop at the full bound is not reached by a burst of one publisher.
  if (durable_)
    options_.outbox->watch_queue(id(), inbox_.bytes(), static_cast<int64_t>(router_.options().queue_bytes / 2));
}

void PluginInstance::detach_inbox() {
  if (waker_) waker_->close();
  if (!inbox_.is_open()) return;
  if (durable_) options_.outbox->watch_queue(id(), nullptr, 0);
  router_.remove_sink(id());
  // Messages that queued for an instance that never ran are counted, not silently lost.
  zmq::message_t m;
  while (inbox_.receive(m, std::chrono::milliseconds(0)))
    counters_->dropped_stopped.fetch_add(count_received(m), std::memory_order_relaxed);
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
    waker_->wake();
    if (wait_for_dispatcher())
      dispatcher_.join();
    else
      dispatcher_.detach();  // stuck in an abandoned plugin: it parks if the call ever returns
  }
  backend_->stop();
  if (backend_->failed() && last_error_.empty()) last_error_ = backend_->failure();
  // Acks given during stop are written; what is still unacked waits in the outbox for the
  // next start.
  if (durable_ && !durable_->finish())
    log()->error("[{}] {} durable message(s) are not in the outbox yet at its stop; tried once more when the "
                 "instance is destroyed", id(), durable_->accepted_unflushed());
  publisher_->close();
  state_ = InstanceState::stopped;
  if (backend_->failed())
    log()->warn("[{}] stopped without its plugin: {}", id(), backend_->failure());
  else
    log()->info("[{}] stopped", id());
}

// Waits for the dispatch thread's drain. A drain that progresses is waited for; a delivery
// stuck in the plugin past its bound is given up (InstanceBackend::abandon_stuck_delivery).
bool PluginInstance::wait_for_dispatcher() {
  std::unique_lock lk(dispatch_mu_);
  while (!dispatch_cv_.wait_for(lk, std::chrono::milliseconds(50), [&] { return dispatch_done_; })) {
    lk.unlock();
    if (backend_->abandon_stuck_delivery()) return false;
    lk.lock();
  }
  return true;
}

void PluginInstance::dispatch_loop() {
  zmq::message_t packet;
  // Bounds what a failing outbox holds in memory; beyond it the queue fills and the router
  // counts (and, for critical topics, alarms on) what it cannot hand over.
  constexpr std::size_t kMaxUnflushed = 4096;
  while (true) {
    auto wait = std::chrono::milliseconds(50);
    if (durable_) wait = std::min(wait, durable_->expire());
    const bool room = !durable_ || durable_->accepted_unflushed() < kMaxUnflushed;
    const bool got = room ? inbox_.receive(packet, wait) : (std::this_thread::sleep_for(wait), false);
    if (got) {
      if (durable_) {
        // A burst goes to the outbox in one transaction.
        std::size_t taken = take(packet);
        while (taken < kDurableBurst && inbox_.receive(packet, std::chrono::milliseconds(0))) taken += take(packet);
      } else {
        take_waiting(packet);
        if (dispatching_.load()) continue;  // else a stop's wake-up may have been swallowed: stop now
      }
    }
    if (durable_) deliver_durable();
    // Once told to stop, the router sends nothing more: what is queued is drained now.
    if (!dispatching_.load()) {
      while (inbox_.receive(packet, std::chrono::milliseconds(0))) take(packet);
      if (durable_) drain_durable();
      break;
    }
  }
  if (waker_) waker_->close();
  inbox_.close();
  std::lock_guard lk(dispatch_mu_);
  dispatch_done_ = true;
  dispatch_cv_.notify_all();
}

// Written first, handed over after: what the plugin sees is already in the outbox, and so
// are its delivery counts. A redelivery closes its batch, so the acks of what went before it
// are written before it is handed over (a message that crashes the host is then the one
// counted for it, see DurableQueue::pick).
void PluginInstance::deliver_durable() {
  std::vector<DurableQueue::Picked> batch;
  while (!backend_->failed()) {
    batch.clear();
    while (batch.size() < kDurableBurst) {
      auto p = durable_->pick();
      if (!p) break;
      batch.push_back(std::move(*p));
      if (batch.back().redelivery_count > 0) break;
    }
    durable_->flush();
    if (batch.empty()) return;
    std::vector<Delivery> deliveries;
    deliveries.reserve(batch.size());
    for (const auto& p : batch) deliveries.push_back(p.delivery());
    const std::size_t handed = backend_->deliver_batch(deliveries.data(), deliveries.size());
    if (handed < batch.size()) {
      for (std::size_t j = handed; j < batch.size(); ++j) durable_->unpick(batch[j]);
      return;
    }
  }
  durable_->flush();  // a failed plugin's queue still takes (and keeps) what arrives
}

// At a stop, what the instance has in flight gets a moment to be acked: a grant the engine
// revoked while the city stopped then reaches its agency before the link stops, instead of
// waiting in the outbox for the next start. What is still unacked after it waits there.
void PluginInstance::drain_durable() {
  const auto until = std::chrono::steady_clock::now() + kStopDrain;
  zmq::message_t packet;
  deliver_durable();
  while (durable_->in_flight() > 0 && !backend_->failed() && std::chrono::steady_clock::now() < until) {
    // The router sends nothing more: this waits for an ack's wake-up, or 10 ms.
    if (inbox_.receive(packet, std::chrono::milliseconds(10))) take(packet);
    deliver_durable();
  }
}

// `first` and whatever else waits in the inbox now, up to a batch, handed to the backend in
// pieces of its batch_size() (a worker gets a piece in one message). Nothing is waited for:
// under a light load a batch is one message, and it goes at once. Between two pieces a
// critical message that came meanwhile goes first.
void PluginInstance::take_waiting(zmq::message_t& first) {
  if (held_.size() < kMaxBatch) held_.resize(kMaxBatch);
  std::vector<Received>& items = held_items_;
  items.clear();
  held_[0].move(first);
  read_received(held_[0], items);
  std::vector<Received> urgent;
  auto deliver_urgent = [&](zmq::message_t& batch) {
    urgent.clear();
    read_received(batch, urgent);
    for (const auto& r : urgent) backend_->deliver(Delivery{r.topic, r.envelope, r.envelope_size});
  };
  std::size_t n = 1, bytes = held_[0].size();
  // A critical batch is never kept waiting for normal ones gathered behind it.
  while (!inbox_.last_was_critical() && n < kMaxBatch && items.size() < kMaxBatch && bytes < kMaxBatchBytes &&
         inbox_.receive(held_[n], std::chrono::milliseconds(0)) && !inbox_.last_was_critical()) {
    read_received(held_[n], items);
    bytes += held_[n++].size();
  }
  // The receive that ended the loop may have taken a critical batch: it goes first.
  if (n < held_.size() && held_[n].size() > 0 && inbox_.last_was_critical()) {
    deliver_urgent(held_[n]);
    held_[n].rebuild();
  }
  std::vector<Delivery>& deliveries = held_deliveries_;
  zmq::message_t urgent_batch;
  for (std::size_t i = 0; i < items.size();) {
    if (i > 0) {
      while (inbox_.bytes()->critical_messages.load(std::memory_order_acquire) > 0 &&
             inbox_.receive_critical(urgent_batch))
        deliver_urgent(urgent_batch);
    }
    const std::size_t piece = dispatching_.load() ? backend_->batch_size() : kStoppingBatch;
    deliveries.clear();
    std::size_t piece_bytes = 0;
    for (; i < items.size() && deliveries.size() < piece && piece_bytes < kMaxBatchBytes; ++i) {
      deliveries.push_back(Delivery{items[i].topic, items[i].envelope, items[i].envelope_size});
      piece_bytes += items[i].envelope_size;
    }
    backend_->deliver_batch(deliveries.data(), deliveries.size());
  }
  items.clear();
  for (std::size_t i = 0; i < n; ++i) held_[i].rebuild();  // the buffers are freed now, not at the next batch
}

// Every message of one batch from the router; returns how many.
std::size_t PluginInstance::take(zmq::message_t& batch) {
  std::vector<Received>& items = held_items_;
  items.clear();
  read_received(batch, items);
  for (const auto& r : items) {
    if (durable_ && durable_->covers(r.topic))
      durable_->accept(r.topic, r.envelope, r.envelope_size);
    else
      backend_->deliver(Delivery{r.topic, r.envelope, r.envelope_size});
  }
  const std::size_t n = items.size();
  items.clear();
  return n;
}

}  // namespace citylink::host
