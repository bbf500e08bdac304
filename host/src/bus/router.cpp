// The router thread: validate, stamp, count, forward.
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>
#include "packet.hpp"
#include <citylink/host/permissions.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/envelope_check.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/host/wall_clock.hpp>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace citylink::host {

struct Router::Slot {
  uint32_t index = 0;
  std::string source;
  PublisherRole role = PublisherRole::plugin;
  std::vector<std::string> grants;
  std::vector<std::string> peer_origins;  // peer_host: the origins it may forward
  std::shared_ptr<InstanceCounters> counters;
  std::shared_ptr<QueueBytes> bytes;  // the publisher's queues toward the router
};

struct Router::Sink {
  SinkSpec spec;
  zmq::socket_t socket;
  zmq::socket_t critical;  // open when the subscriber has a critical queue
};

struct Router::Change {
  bool add = true;
  SinkSpec spec;
};

struct Router::Parsed {
  citylink::v1::Envelope envelope;
  std::vector<Sink*> targets;
};

namespace {

// Longest id or origin a peer host may forward: far above the host's own (a city name, an
// id of a few dozen characters), low enough that nobody stores blobs in them.
constexpr std::size_t kMaxForwardedIdentity = 128;

// A peer's text made safe for one log line.
std::string printable(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

}  // namespace

Router::Router(zmq::context_t& ctx, RouterOptions opts)
    : ctx_(ctx), opts_(opts), parsed_(std::make_unique<Parsed>()) {
  const std::string rnd = keys::random_hex(8);
  prefix_ = "inproc://citylink-" + rnd;
  id_prefix_ = rnd + "-";
  intake_endpoint_ = prefix_ + "/router";
  intake_ = Inbox(ctx_, intake_endpoint_, opts_.queue_depth);
  waker_ = intake_.waker();
}

Router::~Router() {
  stop();
  sinks_.clear();
  waker_->close();
  intake_.close();
}

void Router::start() {
  std::lock_guard lk(mu_);
  if (running_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void Router::stop() {
  {
    std::lock_guard lk(mu_);
    if (!running_) return;
    running_ = false;
  }
  waker_->wake();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  applied_cv_.notify_all();
}

std::shared_ptr<Publisher> Router::add_publisher(const std::string& source, std::vector<std::string> grants,
                                                 std::shared_ptr<InstanceCounters> counters, PublisherRole role,
                                                 std::vector<std::string> peer_origins) {
  std::lock_guard lk(mu_);
  auto slot = std::make_shared<Slot>();
  slot->index = static_cast<uint32_t>(slots_.size() + slots_pending_.size());
  slot->source = source;
  slot->role = role;
  slot->grants = std::move(grants);
  slot->peer_origins = std::move(peer_origins);
  slot->counters = counters;
  slot->bytes = std::make_shared<QueueBytes>();
  slots_pending_.push_back(slot);
  dirty_.store(true, std::memory_order_release);
  return std::make_shared<Publisher>(ctx_, intake_endpoint_, slot->index, source, std::move(counters), opts_,
                                     slot->bytes, intake_.bytes(), gate_);
}

bool Router::add_sink(SinkSpec sink, std::string* why) {
  std::unique_lock lk(mu_);
  const std::string name = sink.name;
  sink_errors_.erase(name);
  changes_.push_back(Change{true, std::move(sink)});
  const uint64_t gen = ++generation_requested_;
  dirty_.store(true, std::memory_order_release);
  if (!running_) return true;  // made by the next start, which logs a failure
  waker_->wake();
  applied_cv_.wait(lk, [&] { return generation_applied_ >= gen || !running_; });
  const auto failed = sink_errors_.find(name);
  if (failed == sink_errors_.end()) return true;
  if (why) *why = failed->second;
  sink_errors_.erase(failed);
  return false;
}

void Router::remove_sink(const std::string& name) {
  std::unique_lock lk(mu_);
  SinkSpec spec;
  spec.name = name;
  changes_.push_back(Change{false, std::move(spec)});
  const uint64_t gen = ++generation_requested_;
  dirty_.store(true, std::memory_order_release);
  if (!running_) return;  // applied by the next start, or dropped with the router
  waker_->wake();  // else the router sees the change only at its receive timeout
  applied_cv_.wait(lk, [&] { return generation_applied_ >= gen || !running_; });
}

void Router::flush() {
  std::unique_lock lk(mu_);
  if (!running_) return;
  const uint64_t gen = ++flush_requested_;
  flush_wanted_.store(true, std::memory_order_release);
  waker_->wake();
  applied_cv_.wait(lk, [&] { return flush_done_ >= gen || !running_; });
}

void Router::apply_changes() {
  std::lock_guard lk(mu_);
  dirty_.store(false, std::memory_order_relaxed);
  for (auto& s : slots_pending_) {
    if (slots_.size() <= s->index) slots_.resize(s->index + 1);
    slots_[s->index] = std::move(s);
  }
  slots_pending_.clear();
  for (auto& c : changes_) {
    // A sink whose socket cannot be made is logged and left out; it never ends the router
    // thread, nor leaves a caller waiting for its generation (M1).
    const std::string name = c.spec.name;  // apply_change moves the spec
    try {
      apply_change(c);
    } catch (const std::exception& e) {
      log()->error("router: could not {} the sink of '{}': {}", c.add ? "add" : "remove", name, e.what());
      if (c.add) sink_errors_[name] = e.what();
    }
  }
  changes_.clear();
  generation_applied_ = generation_requested_;
  applied_cv_.notify_all();
}

void Router::apply_change(Change& c) {
  if (c.add) {
    auto sink = std::make_unique<Sink>();
    sink->spec = std::move(c.spec);
    const int depth = sink->spec.queue_depth > 0 ? sink->spec.queue_depth : opts_.queue_depth;
    sink->socket = zmq::socket_t(ctx_, zmq::socket_type::push);
    sink->socket.set(zmq::sockopt::sndhwm, depth);
    sink->socket.set(zmq::sockopt::linger, 1000);
    sink->socket.connect(sink->spec.endpoint);
    if (!sink->spec.critical_endpoint.empty()) {
      sink->critical = zmq::socket_t(ctx_, zmq::socket_type::push);
      sink->critical.set(zmq::sockopt::sndhwm, depth);
      sink->critical.set(zmq::sockopt::linger, 1000);
      sink->critical.connect(sink->spec.critical_endpoint);
    }
    sinks_.push_back(std::move(sink));
  } else {
    std::erase_if(sinks_, [&](const auto& s) { return s->spec.name == c.spec.name; });
    sink_errors_.erase(c.spec.name);
  }
}

void Router::run() {
  while (true) {
    if (dirty_.load(std::memory_order_acquire)) apply_changes();
    zmq::message_t packet;
    if (flush_wanted_.exchange(false, std::memory_order_acq_rel)) {
      uint64_t gen;
      {
        std::lock_guard lk(mu_);
        gen = flush_requested_;
      }
      // Sent before the request, so already readable; bounded if publishers keep going.
      for (int n = 0; n < 100000 && intake_.receive(packet, std::chrono::milliseconds(0)); ++n) {
        if (dirty_.load(std::memory_order_acquire)) apply_changes();
        route_safely(packet);
      }
      std::lock_guard lk(mu_);
      flush_done_ = gen;
      applied_cv_.notify_all();
      continue;
    }
    // Critical first: the intake serves the publishers' critical queues before the rest.
    if (intake_.receive(packet, std::chrono::milliseconds(50))) {
      // A publisher may have been added while recv was waiting.
      if (dirty_.load(std::memory_order_acquire)) apply_changes();
      route_safely(packet);
      continue;
    }
    if (!running_.load()) {
      // Drain what is already queued, without waiting for more.
      if (dirty_.load(std::memory_order_acquire)) apply_changes();
      while (intake_.receive(packet, std::chrono::milliseconds(0))) route_safely(packet);
      break;
    }
  }
  apply_changes();
}

// One message that cannot be routed (an allocation failure, a socket error) is logged and
// dropped; it never ends the router thread and with it the whole bus (M1).
void Router::route_safely(zmq::message_t& packet) {
  try {
    route(packet);
  } catch (const std::exception& e) {
    log()->error("router: dropped a message it could not route: {}", e.what());
  } catch (...) {
    log()->error("router: dropped a message it could not route (unknown exception)");
  }
}

const std::string& Router::next_id() {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ++id_seq_);
  (void)ec;
  id_.assign(id_prefix_).append(buf, end);
  return id_;
}

bool Router::reject(Slot& slot, RejectReason reason, std::string_view topic, const std::string& detail) {
  const uint64_t n = slot.counters->rejected[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed) + 1;
  // The first few of each kind are logged in full; after that one line per thousand.
  if (n <= 5 || n % 1000 == 0)
    log()->warn("[{}] message on '{}' rejected ({}, #{}): {}", slot.source, escape_log_text(topic, 256),
                to_string(reason), n, escape_log_text(detail));
  return false;
}

void Router::route(zmq::message_t& in) {
  using google::protobuf::internal::WireFormatLite;
  const auto view = packet::read(in.data(), in.size());
  if (!view || view->slot >= slots_.size() || !slots_[view->slot]) {
    log()->error("router: dropped a packet that is not from a known publisher ({} bytes)", in.size());
    return;
  }
  Slot& slot = *slots_[view->slot];
  const std::string_view topic = view->topic;
  // The publisher chose the queue by the topic's class; the queue it came from says which.
  const bool critical = intake_.last_was_critical();
  slot.bytes->of(critical).fetch_sub(static_cast<int64_t>(in.size()), std::memory_order_relaxed);
  const uint8_t* env = view->envelope;
  const std::size_t env_size = view->envelope_size;

  if (env_size > opts_.max_message_bytes)
    return (void)reject(slot, RejectReason::oversize, topic,
                        std::to_string(env_size) + " bytes, over the limit of " +
                            std::to_string(opts_.max_message_bytes) + " (host.max_message_bytes)");
  if (!is_valid_topic(topic))
    return (void)reject(slot, RejectReason::bad_topic, topic, "topics are dotted lower-case words, e.g. sensor.reading");
  if (slot.role != PublisherRole::engine && is_engine_only_topic(topic))
    return (void)reject(slot, RejectReason::reserved, topic,
                        "grant.*, dispatch.*, audit.* and camera.ptz are published only by the scenario engine");
  if (!grants_allow(slot.grants, topic))
    return (void)reject(slot, RejectReason::not_granted, topic,
                        "outside the instance's publish grants; grant it under grants.publish in the city config "
                        "(the descriptor's publishes are only a request)");
  auto& e = parsed_->envelope;
  if (const auto fault = check_envelope(topic, env, env_size, e))
    return (void)reject(slot, fault->reason, topic, fault->why);
  // Trusted ingress: what a peer host forwards keeps the identity its origin city gave it,
  // so receivers can tell copies apart across hosts. Only the listed key earns this.
  const bool keep_identity = slot.role == PublisherRole::peer_host && !e.id().empty() && !e.origin().empty();
  if (keep_identity) {
    // The values are the peer's: their length is checked before anything of them is logged.
    if (e.id().size() > kMaxForwardedIdentity || e.origin().size() > kMaxForwardedIdentity)
      return (void)reject(slot, RejectReason::malformed, topic,
                          "a forwarded id or origin is longer than " + std::to_string(kMaxForwardedIdentity) + " bytes");
    if (e.origin() == opts_.origin)
      return (void)reject(slot, RejectReason::loop, topic,
                          "an envelope with this city ('" + opts_.origin +
                              "') as its origin came back through a forwarding loop between hosts; forward each "
                              "topic in one direction only");
    if (std::find(slot.peer_origins.begin(), slot.peer_origins.end(), e.origin()) == slot.peer_origins.end())
      return (void)reject(slot, RejectReason::not_granted, topic,
                          "origin '" + printable(e.origin()) +
                              "' is not one this peer may forward; list it under the peer's `origins:` in "
                              "remote.clients if the peer is that city's path here");
  }

  // Stamp. Protobuf keeps the last value of a singular field that appears twice, so the
  // stamped fields are appended to the plugin's bytes, in the room the publisher left,
  // and override nothing but absent values. An envelope that already carries
  // id/source/time is rebuilt instead, so none of the plugin's values survive in the bytes.
  const std::string& id = next_id();
  const int64_t now = unix_now_ns();
  const bool stamp_topic = e.topic().empty();
  const std::string& origin = opts_.origin;
  const std::size_t need =
      (stamp_topic ? 1 + WireFormatLite::LengthDelimitedSize(topic.size()) : 0) +
      1 + WireFormatLite::LengthDelimitedSize(id.size()) + 1 + WireFormatLite::LengthDelimitedSize(slot.source.size()) +
      1 + WireFormatLite::Int64Size(now) + (origin.empty() ? 0 : 1 + WireFormatLite::LengthDelimitedSize(origin.size()));
  // A plugin's or a plain client's own origin is never trusted either.
  const bool rebuild = keep_identity || !e.id().empty() || !e.source().empty() || e.time_unix_ns() != 0 ||
                       !e.origin().empty() || need > view->room;
  zmq::message_t rebuilt;
  zmq::message_t* out = &in;
  if (rebuild) {
    if (!keep_identity) {
      e.set_id(id);
      e.set_origin(origin);
    }
    if (!keep_identity || e.time_unix_ns() == 0) e.set_time_unix_ns(now);
    e.set_source(slot.source);
    e.set_topic(std::string(topic));
    const std::string body = e.SerializeAsString();
    rebuilt.rebuild(packet::size_for(topic.size(), body.size(), 0));
    packet::write(rebuilt.data<char>(), view->slot, topic, reinterpret_cast<const uint8_t*>(body.data()), body.size());
    out = &rebuilt;
  } else {
    uint8_t* w = view->envelope + env_size;
    if (stamp_topic)
      w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kTopicFieldNumber, std::string(topic), w);
    w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kIdFieldNumber, id, w);
    w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kSourceFieldNumber, slot.source, w);
    w = WireFormatLite::WriteInt64ToArray(citylink::v1::Envelope::kTimeUnixNsFieldNumber, now, w);
    if (!origin.empty()) w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kOriginFieldNumber, origin, w);
    packet::grow_envelope(in.data(), static_cast<std::size_t>(w - (view->envelope + env_size)));
  }
  slot.counters->published.fetch_add(1, std::memory_order_relaxed);
  routed_.fetch_add(1, std::memory_order_relaxed);
  if (observer_) {
    const auto stamped = packet::read(out->data(), out->size());
    if (stamped) observer_(topic, stamped->envelope, stamped->envelope_size);
  }

  // Recipient-addressed outputs go only to instances bound to their recipient: a
  // subscription alone never reads another agency's grants, dispatches or audit records.
  const bool addressed = is_recipient_addressed(topic);
  const std::string& recipient = e.recipient();
  auto& targets = parsed_->targets;
  targets.clear();
  for (auto& sink : sinks_) {
    if (!sink->spec.receive_own && sink->spec.name == slot.source) continue;
    if (addressed && (sink->spec.recipient.empty() || sink->spec.recipient != recipient)) continue;
    for (const auto& pattern : sink->spec.prefixes) {
      if (grant_allows(pattern, topic)) {
        targets.push_back(sink.get());
        break;
      }
    }
  }
  if (addressed && targets.empty()) {
    // An emergency output that reaches nobody is an alarm, every time, naming the message.
    undeliverable_.fetch_add(1, std::memory_order_relaxed);
    log()->error("[{}] UNDELIVERED {} id {} (correlation {}): no running instance is bound to recipient '{}' with a "
                 "subscription to it; bind one with `recipient:` in the city config",
                 slot.source, topic, escape_log_text(keep_identity ? e.id() : id, 256),
                 escape_log_text(e.correlation_id(), 256), escape_log_text(recipient, 256));
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (i + 1 == targets.size()) {
      send_to(*targets[i], *out, critical, topic, keep_identity ? e.id() : id, e.correlation_id());
    } else {
      zmq::message_t copy;  // shares the buffer (reference-counted), no copy of the bytes
      copy.copy(*out);
      send_to(*targets[i], copy, critical, topic, keep_identity ? e.id() : id, e.correlation_id());
    }
  }
}

// Never blocks: a full queue (in messages or in bytes) drops and counts. A critical message
// goes to the subscriber's critical queue, which telemetry never fills; dropping one anyway
// is an alarm naming it, every time.
void Router::send_to(Sink& sink, zmq::message_t& message, bool critical, std::string_view topic, const std::string& id,
                     const std::string& correlation_id) {
  const bool own_queue = critical && sink.critical.handle() != nullptr;
  std::atomic<int64_t>* gauge = sink.spec.bytes ? &sink.spec.bytes->of(own_queue) : nullptr;
  const auto size = static_cast<int64_t>(message.size());
  bool sent = false;
  const bool fits = !gauge || sink.spec.durable ||
                    gauge->load(std::memory_order_relaxed) + size <= static_cast<int64_t>(opts_.queue_bytes);
  if (fits) {
    if (gauge) gauge->fetch_add(size, std::memory_order_relaxed);
    if (own_queue && sink.spec.bytes) sink.spec.bytes->critical_sending();
    handover_release(message);
    sent = (own_queue ? sink.critical : sink.socket).send(message, zmq::send_flags::dontwait).has_value();
    if (!sent && own_queue && sink.spec.bytes) sink.spec.bytes->critical_not_sent();
    if (!sent && gauge) gauge->fetch_sub(size, std::memory_order_relaxed);
  }
  if (sent) return;
  const uint64_t d = sink.spec.counters->dropped_incoming.fetch_add(1, std::memory_order_relaxed) + 1;
  const char* bound = fits ? "host.queue_depth messages" : "host.queue_bytes bytes";
  if (critical) {
    sink.spec.counters->dropped_critical.fetch_add(1, std::memory_order_relaxed);
    critical_dropped_.fetch_add(1, std::memory_order_relaxed);
    log()->error("[{}] CRITICAL DROPPED {} id {} (correlation {}): its {} queue is full ({}); the subscriber is not "
                 "keeping up",
                 sink.spec.name, topic, escape_log_text(id, 256), escape_log_text(correlation_id, 256),
                 own_queue ? "critical" : "only", bound);
    return;
  }
  if (d <= 5 || d % 1000 == 0)
    log()->warn("[{}] incoming queue full ({}): dropped a message on '{}' (#{} dropped)", sink.spec.name, bound, topic,
                d);
}

}  // namespace citylink::host
