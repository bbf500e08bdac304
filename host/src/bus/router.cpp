// The router thread: validate, stamp, count, forward.
#include <citylink/host/logging.hpp>
#include <citylink/host/plugin_log.hpp>
#include "mailbox.hpp"
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
#include <optional>
#include <charconv>
#include <chrono>
#include <cstring>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace citylink::host {

// What the router decided about a publisher's topic: its checks and the subscribers whose
// patterns match it. A publisher mostly sends one topic after another, and the checks and
// the scan of every subscriber's patterns were a fifth of the router's time a message.
struct TopicDecision {
  std::string topic;
  uint64_t sinks_version = 0;  // the sinks it was made against (Work::sinks_version)
  bool valid = false;          // made at all
  std::optional<RejectReason> reject;
  std::string detail;          // why, when rejected
  bool addressed = false;      // recipient-addressed: the candidates are filtered by recipient too
  std::vector<Router::Sink*> candidates;
};

struct Router::Slot {
  uint32_t index = 0;
  TopicDecision last;  // router thread only
  std::string source;
  PublisherRole role = PublisherRole::plugin;
  std::vector<std::string> grants;
  std::vector<std::string> peer_origins;  // peer_host: the origins it may forward
  std::shared_ptr<InstanceCounters> counters;
  std::array<std::shared_ptr<Mailbox>, 2> boxes;  // [critical]: the publisher's queues toward the router
};

struct Router::Sink {
  SinkSpec spec;
  int depth = 0;
  zmq::socket_t socket;
  zmq::socket_t critical;  // open when the subscriber has a critical queue
  ByteBuffer batch;        // normal messages routed to it and not sent yet: [u32 count][packet]...
  uint32_t batched = 0;
};

struct Router::Change {
  bool add = true;
  SinkSpec spec;
};

// The router thread's scratch space, kept between messages so routing allocates nothing.
struct Router::Work {
  citylink::v1::Envelope envelope;
  std::vector<Sink*> targets;
  ByteBuffer taken[2];     // [critical]: the mailbox being routed, swapped out whole
  ByteBuffer rebuilt;      // a packet whose envelope had to be rebuilt
  std::vector<Sink*> batched;  // sinks with a batch to send
  // Messages of `counting` routed and not yet counted: counted once a burst, but always
  // before any subscriber can see them (settle_counts before every send).
  Slot* counting = nullptr;
  uint64_t uncounted = 0;
  uint64_t sinks_version = 1;  // changes whenever a sink is added or removed
  std::chrono::steady_clock::time_point last_sweep;
};

namespace {

// A subscriber's batch is sent at this size even in the middle of a burst, so a burst's first
// messages do not wait for its last, and no batch grows large.
constexpr uint32_t kBatchMessages = 256;
constexpr std::size_t kBatchBytes = 256u << 10;
// How often a busy router also sweeps the mailboxes for a doorbell that was not sent.
constexpr auto kSweepEvery = std::chrono::milliseconds(50);

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
    : ctx_(ctx), opts_(opts), work_(std::make_unique<Work>()) {
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
  slot->boxes = {std::make_shared<Mailbox>(), std::make_shared<Mailbox>()};
  slots_pending_.push_back(slot);
  dirty_.store(true, std::memory_order_release);
  return std::make_shared<Publisher>(ctx_, intake_endpoint_, slot->index, source, std::move(counters), opts_,
                                     slot->boxes, intake_.bytes(), gate_);
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

// Under mu_. New publishers only: safe in the middle of a drain, unlike sink changes.
void Router::adopt_slots() {
  for (auto& s : slots_pending_) {
    if (slots_.size() <= s->index) slots_.resize(s->index + 1);
    slots_[s->index] = std::move(s);
  }
  slots_pending_.clear();
}

void Router::apply_changes() {
  std::lock_guard lk(mu_);
  dirty_.store(false, std::memory_order_relaxed);
  adopt_slots();
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
    sink->depth = depth;
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
  ++work_->sinks_version;  // every cached topic decision names sinks of before
}

void Router::run() {
  work_->last_sweep = std::chrono::steady_clock::now();
  zmq::message_t bell;
  while (true) {
    if (dirty_.load(std::memory_order_acquire)) apply_changes();
    if (flush_wanted_.exchange(false, std::memory_order_acq_rel)) {
      uint64_t gen;
      {
        std::lock_guard lk(mu_);
        gen = flush_requested_;
      }
      // Rung before the request, so already readable; bounded if publishers keep going. The
      // sweep takes what was published without a doorbell of its own.
      for (int n = 0; n < 100000 && intake_.receive(bell, std::chrono::milliseconds(0)); ++n) {
        if (dirty_.load(std::memory_order_acquire)) apply_changes();
        handle(bell, intake_.last_was_critical());
      }
      sweep();
      std::lock_guard lk(mu_);
      flush_done_ = gen;
      applied_cv_.notify_all();
      continue;
    }
    // Critical first: the intake serves the publishers' critical doorbells before the rest.
    if (intake_.receive(bell, std::chrono::milliseconds(50))) {
      // A publisher may have been added while recv was waiting.
      if (dirty_.load(std::memory_order_acquire)) apply_changes();
      handle(bell, intake_.last_was_critical());
      if (std::chrono::steady_clock::now() - work_->last_sweep > kSweepEvery) sweep();
      continue;
    }
    if (!running_.load()) {
      // Drain what is already queued, without waiting for more.
      if (dirty_.load(std::memory_order_acquire)) apply_changes();
      while (intake_.receive(bell, std::chrono::milliseconds(0))) handle(bell, intake_.last_was_critical());
      sweep();
      break;
    }
    sweep();
  }
  apply_changes();
}

void Router::handle(const zmq::message_t& bell, bool critical) {
  if (bell.size() != packet::kDoorbell || packet::read_u32(bell.data()) != 0) {
    log()->error("router: dropped a message on its intake that is not a doorbell ({} bytes)", bell.size());
    return;
  }
  const uint32_t index = packet::read_u32(static_cast<const char*>(bell.data()) + 4);
  if (index >= slots_.size() || !slots_[index]) {
    // A publisher added during a drain may ring before the next apply_changes.
    std::lock_guard lk(mu_);
    adopt_slots();
  }
  if (index >= slots_.size() || !slots_[index]) {
    log()->error("router: dropped a doorbell that is not from a known publisher (slot {})", index);
    return;
  }
  drain(*slots_[index], critical);
}

void Router::sweep() {
  work_->last_sweep = std::chrono::steady_clock::now();
  for (const bool critical : {true, false})
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i]) continue;
      Mailbox& box = *slots_[i]->boxes[critical ? 1 : 0];
      bool waiting;
      {
        std::lock_guard lk(box.mu);
        waiting = box.count > 0;
      }
      if (waiting) drain(*slots_[i], critical);
    }
}

void Router::serve_critical() {
  zmq::message_t bell;
  try {
    while (intake_.bytes()->critical_messages.load(std::memory_order_acquire) > 0 && intake_.receive_critical(bell))
      handle(bell, true);
  } catch (const zmq::error_t& e) {
    // The critical doorbell stays for the next receive; the mailbox for the sweep (M1).
    log()->error("router: could not read its critical intake: {}", e.what());
  }
}

// Takes the mailbox whole (its buffer for the router's empty one, so neither allocates) and
// routes each packet. A normal burst steps aside for any critical doorbell that rings meanwhile.
void Router::drain(Slot& slot, bool critical) {
  ByteBuffer& taken = work_->taken[critical ? 1 : 0];
  Mailbox& box = *slot.boxes[critical ? 1 : 0];
  uint32_t count;
  {
    std::lock_guard lk(box.mu);
    taken.swap(box.packets);
    count = box.count;
    box.count = 0;
    box.rung = false;
  }
  settle_counts();
  Slot* outer = work_->counting;  // a critical mailbox is drained in the middle of a normal one
  work_->counting = &slot;
  std::size_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const auto v = packet::read(taken.data() + at, taken.size() - at);
    if (!v) {
      log()->error("[{}] router: dropped {} packet(s) whose lengths do not fit its mailbox", slot.source, count - i);
      break;
    }
    route_safely(slot, taken.data() + at, v->extent, critical);
    at += v->extent;
    if (!critical && intake_.bytes()->critical_messages.load(std::memory_order_relaxed) > 0) serve_critical();
  }
  taken.clear();
  flush_sinks();
  settle_counts();
  work_->counting = outer;
}

void Router::settle_counts() {
  if (work_->uncounted == 0) return;
  work_->counting->counters->published.fetch_add(work_->uncounted, std::memory_order_relaxed);
  routed_.fetch_add(work_->uncounted, std::memory_order_relaxed);
  work_->uncounted = 0;
}

// One message that cannot be routed (an allocation failure, a socket error) is logged and
// dropped; it never ends the router thread and with it the whole bus (M1).
void Router::route_safely(Slot& slot, void* packet, std::size_t n, bool critical) {
  try {
    route(slot, packet, n, critical);
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

void Router::reject(Slot& slot, RejectReason reason, std::string_view topic, const std::string& detail) {
  const uint64_t n = slot.counters->rejected[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed) + 1;
  // The first few of each kind are logged in full; after that one line per thousand.
  if (n <= 5 || n % 1000 == 0)
    log()->warn("[{}] message on '{}' rejected ({}, #{}): {}", slot.source, escape_log_text(topic, 256),
                to_string(reason), n, escape_log_text(detail));
}

void Router::route(Slot& slot, void* in, std::size_t in_size, bool critical) {
  using google::protobuf::internal::WireFormatLite;
  auto view = packet::read(in, in_size);
  if (!view) return;
  const std::string_view topic = view->topic;
  const uint8_t* env = view->envelope;
  const std::size_t env_size = view->envelope_size;

  if (env_size > opts_.max_message_bytes)
    return reject(slot, RejectReason::oversize, topic,
                  std::to_string(env_size) + " bytes, over the limit of " +
                      std::to_string(opts_.max_message_bytes) + " (host.max_message_bytes)");
  TopicDecision& decided = slot.last;
  if (!decided.valid || decided.sinks_version != work_->sinks_version || decided.topic != topic) decide(slot, topic);
  if (decided.reject) return reject(slot, *decided.reject, topic, decided.detail);
  auto& e = work_->envelope;
  if (const auto fault = check_envelope(topic, env, env_size, e))
    return reject(slot, fault->reason, topic, fault->why);
  // Trusted ingress: what a peer host forwards keeps the identity its origin city gave it,
  // so receivers can tell copies apart across hosts. Only the listed key earns this.
  const bool keep_identity = slot.role == PublisherRole::peer_host && !e.id().empty() && !e.origin().empty();
  if (keep_identity) {
    // The values are the peer's: their length is checked before anything of them is logged.
    if (e.id().size() > kMaxForwardedIdentity || e.origin().size() > kMaxForwardedIdentity)
      return reject(slot, RejectReason::malformed, topic,
                    "a forwarded id or origin is longer than " + std::to_string(kMaxForwardedIdentity) + " bytes");
    if (e.origin() == opts_.origin)
      return reject(slot, RejectReason::loop, topic,
                    "an envelope with this city ('" + opts_.origin +
                        "') as its origin came back through a forwarding loop between hosts; forward each "
                        "topic in one direction only");
    if (std::find(slot.peer_origins.begin(), slot.peer_origins.end(), e.origin()) == slot.peer_origins.end())
      return reject(slot, RejectReason::not_granted, topic,
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
  std::optional<packet::View> stamped;
  if (rebuild) {
    if (!keep_identity) {
      e.set_id(id);
      e.set_origin(origin);
    }
    if (!keep_identity || e.time_unix_ns() == 0) e.set_time_unix_ns(now);
    e.set_source(slot.source);
    e.set_topic(std::string(topic));
    const std::string body = e.SerializeAsString();
    ByteBuffer& rebuilt = work_->rebuilt;
    rebuilt.clear();
    packet::write(rebuilt.extend(packet::size_for(topic.size(), body.size(), 0)), topic,
                  reinterpret_cast<const uint8_t*>(body.data()), body.size(), 0);
    stamped = packet::read(rebuilt.data(), rebuilt.size());
  } else {
    uint8_t* w = view->envelope + env_size;
    if (stamp_topic)
      w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kTopicFieldNumber, std::string(topic), w);
    w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kIdFieldNumber, id, w);
    w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kSourceFieldNumber, slot.source, w);
    w = WireFormatLite::WriteInt64ToArray(citylink::v1::Envelope::kTimeUnixNsFieldNumber, now, w);
    if (!origin.empty()) w = WireFormatLite::WriteStringToArray(citylink::v1::Envelope::kOriginFieldNumber, origin, w);
    packet::grow_envelope(*view, static_cast<std::size_t>(w - (view->envelope + env_size)));
    stamped = view;
  }
  if (observer_) observer_(topic, stamped->envelope, stamped->envelope_size);

  // Recipient-addressed outputs go only to instances bound to their recipient: a
  // subscription alone never reads another agency's grants, dispatches or audit records.
  const bool addressed = decided.addressed;
  const std::string& recipient = e.recipient();
  auto& targets = work_->targets;
  targets.clear();
  for (Sink* sink : decided.candidates)
    if (!addressed || (!sink->spec.recipient.empty() && sink->spec.recipient == recipient)) targets.push_back(sink);
  if (addressed && targets.empty()) {
    // An emergency output that reaches nobody is an alarm, every time, naming the message.
    undeliverable_.fetch_add(1, std::memory_order_relaxed);
    log()->error("[{}] UNDELIVERED {} id {} (correlation {}): no running instance is bound to recipient '{}' with a "
                 "subscription to it; bind one with `recipient:` in the city config",
                 slot.source, topic, escape_log_text(keep_identity ? e.id() : id, 256),
                 escape_log_text(e.correlation_id(), 256), escape_log_text(recipient, 256));
  }
  ++work_->uncounted;  // accepted: counted as published before any subscriber sees it
  for (Sink* target : targets) deliver(*target, *stamped, critical, keep_identity ? e.id() : id, e.correlation_id());
}

// The checks of a topic for its publisher, and the subscribers whose patterns match it.
void Router::decide(Slot& slot, std::string_view topic) {
  TopicDecision& d = slot.last;
  d.topic.assign(topic);
  d.sinks_version = work_->sinks_version;
  d.valid = false;  // until made whole: a failed allocation below is never remembered
  d.reject.reset();
  d.detail.clear();
  d.candidates.clear();
  if (!is_valid_topic(topic)) {
    d.reject = RejectReason::bad_topic;
    d.detail = "topics are dotted lower-case words, e.g. sensor.reading";
  } else if (slot.role != PublisherRole::engine && is_engine_only_topic(topic)) {
    d.reject = RejectReason::reserved;
    d.detail = "grant.*, dispatch.*, audit.* and camera.ptz are published only by the scenario engine";
  } else if (!grants_allow(slot.grants, topic)) {
    d.reject = RejectReason::not_granted;
    d.detail =
        "outside the instance's publish grants; grant it under grants.publish in the city config (the descriptor's "
        "publishes are only a request)";
  }
  if (d.reject) {
    d.valid = true;
    return;
  }
  d.addressed = is_recipient_addressed(topic);
  for (auto& sink : sinks_) {
    if (!sink->spec.receive_own && sink->spec.name == slot.source) continue;
    for (const auto& pattern : sink->spec.prefixes) {
      if (grant_allows(pattern, topic)) {
        d.candidates.push_back(sink.get());
        break;
      }
    }
  }
  d.valid = true;
}

// Never blocks: a full queue (in messages or in bytes) drops and counts. Normal messages join
// the subscriber's batch, sent at the end of the burst; a critical message goes at once, on
// its own, to the subscriber's critical queue, which telemetry never fills; dropping one
// anyway is an alarm naming it, every time.
void Router::deliver(Sink& sink, const packet::View& v, bool critical, const std::string& id,
                     const std::string& correlation_id) {
  if (critical) return send_alone(sink, v, critical, id, correlation_id);
  const std::string_view topic = v.topic;
  const std::size_t n = packet::compact_size(v);
  QueueBytes* q = sink.spec.bytes.get();
  const bool room = static_cast<int64_t>(sink.batched) + 1 +
                        (q ? q->normal_packets.load(std::memory_order_relaxed) : 0) <=
                    sink.depth;
  const bool fits = !q || sink.spec.durable ||
                    q->normal.load(std::memory_order_relaxed) + static_cast<int64_t>(sink.batch.size() + n) <=
                        static_cast<int64_t>(opts_.queue_bytes);
  if (!room || !fits) {
    const uint64_t d = sink.spec.counters->dropped_incoming.fetch_add(1, std::memory_order_relaxed) + 1;
    if (d <= 5 || d % 1000 == 0)
      log()->warn("[{}] incoming queue full ({}): dropped a message on '{}' (#{} dropped)", sink.spec.name,
                  room ? "host.queue_bytes bytes" : "host.queue_depth messages", topic, d);
    return;
  }
  // One extend for the header and the packet: a failed allocation leaves the batch as it was.
  char* at = sink.batch.extend(n + (sink.batched == 0 ? packet::kBatchHeader : 0));
  if (sink.batched == 0) {
    work_->batched.push_back(&sink);
    at += packet::kBatchHeader;
  }
  packet::write_compact(at, v);
  if (++sink.batched >= kBatchMessages || sink.batch.size() >= kBatchBytes) flush_sink(sink);
}

void Router::flush_sinks() {
  for (Sink* sink : work_->batched) flush_sink(*sink);
  work_->batched.clear();
}

void Router::flush_sink(Sink& sink) {
  if (sink.batched == 0) return;
  settle_counts();
  const uint32_t count = sink.batched;
  std::memcpy(sink.batch.data(), &count, 4);
  zmq::message_t message(sink.batch.data(), sink.batch.size());
  sink.batch.clear();
  sink.batched = 0;
  QueueBytes* q = sink.spec.bytes.get();
  const auto size = static_cast<int64_t>(message.size());
  if (q) {
    q->normal.fetch_add(size, std::memory_order_relaxed);
    q->normal_packets.fetch_add(count, std::memory_order_relaxed);
  }
  handover_release(message);
  bool sent = false;
  try {
    sent = sink.socket.send(message, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    log()->error("[{}] router: could not send a batch: {}", sink.spec.name, e.what());
  }
  if (sent) return;
  if (q) {
    q->normal.fetch_sub(size, std::memory_order_relaxed);
    q->normal_packets.fetch_sub(count, std::memory_order_relaxed);
  }
  const uint64_t d = sink.spec.counters->dropped_incoming.fetch_add(count, std::memory_order_relaxed) + count;
  log()->warn("[{}] incoming queue full (host.queue_depth messages): dropped {} message(s) (#{} dropped)",
              sink.spec.name, count, d);
}

void Router::send_alone(Sink& sink, const packet::View& v, bool critical, const std::string& id,
                        const std::string& correlation_id) {
  const std::string_view topic = v.topic;
  const bool own_queue = critical && sink.critical.handle() != nullptr;
  if (!own_queue) flush_sink(sink);  // the same queue: what was routed to it before goes first
  settle_counts();  // this message among them: counted before it can be seen
  zmq::message_t message(packet::kBatchHeader + packet::compact_size(v));
  const uint32_t one = 1;
  std::memcpy(message.data(), &one, 4);
  packet::write_compact(message.data<char>() + packet::kBatchHeader, v);
  QueueBytes* q = sink.spec.bytes.get();
  std::atomic<int64_t>* gauge = q ? &q->of(own_queue) : nullptr;
  const auto size = static_cast<int64_t>(message.size());
  bool sent = false;
  const bool fits = !gauge || sink.spec.durable ||
                    gauge->load(std::memory_order_relaxed) + size <= static_cast<int64_t>(opts_.queue_bytes);
  if (fits) {
    if (gauge) gauge->fetch_add(size, std::memory_order_relaxed);
    if (q && !own_queue) q->normal_packets.fetch_add(1, std::memory_order_relaxed);
    if (own_queue && q) q->critical_sending();
    handover_release(message);
    try {
      sent = (own_queue ? sink.critical : sink.socket).send(message, zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
      log()->error("[{}] router: could not send a message: {}", sink.spec.name, e.what());
    }
    if (!sent && own_queue && q) q->critical_not_sent();
    if (!sent && q && !own_queue) q->normal_packets.fetch_sub(1, std::memory_order_relaxed);
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
