// A publisher's inproc PUSH sockets (normal and critical), shared by the plugin's threads
// behind one mutex.
#include <citylink/host/logging.hpp>
#include "packet.hpp"
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/topic.hpp>

#include <cstring>

namespace citylink::host {

bool RouterOptions::is_critical(std::string_view topic) const { return grants_allow(critical_topics, topic); }

Publisher::Publisher(zmq::context_t& ctx, const std::string& endpoint, uint32_t slot, std::string source,
                     std::shared_ptr<InstanceCounters> counters, const RouterOptions& opts,
                     std::shared_ptr<QueueBytes> bytes, std::shared_ptr<QueueBytes> intake,
                     std::shared_ptr<const AdmissionGate> gate)
    : socket_(ctx, zmq::socket_type::push),
      critical_(ctx, zmq::socket_type::push),
      bytes_(std::move(bytes)),
      intake_(std::move(intake)),
      gate_(std::move(gate)),
      opts_(opts),
      hold_limit_(static_cast<std::size_t>(opts.queue_depth > 0 ? opts.queue_depth : 1)),
      slot_(slot),
      source_(std::move(source)),
      counters_(std::move(counters)),
      max_bytes_(opts.max_message_bytes),
      // The router appends topic, id, source, time and origin into this room (origin: tag,
      // a length of up to 3 bytes, the name).
      room_(packet::stamp_room(source_.size() + opts.origin.size() + 4, 0)) {
  for (auto* s : {&socket_, &critical_}) {
    s->set(zmq::sockopt::sndhwm, opts.queue_depth);
    // Messages already queued when the instance stops still reach the router.
    s->set(zmq::sockopt::linger, 2000);
  }
  socket_.connect(endpoint);
  critical_.connect(endpoint + Inbox::kCriticalSuffix);
}

Publisher::~Publisher() { close(); }

void Publisher::open() {
  std::lock_guard lk(mu_);
  open_ = socket_.handle() != nullptr;
}

void Publisher::open_held() {
  std::lock_guard lk(mu_);
  open_ = socket_.handle() != nullptr;
  held_ = true;
}

void Publisher::release() {
  std::lock_guard lk(mu_);
  held_ = false;
  for (auto& m : held_messages_) {
    const auto v = packet::read(m.data(), m.size());
    const bool critical = v && opts_.is_critical(v->topic);
    std::string full = "the instance is not running";
    if (open_ && v && send(m, critical, &full)) continue;
    counters_->dropped_outgoing.fetch_add(1, std::memory_order_relaxed);
    if (critical) {
      counters_->dropped_critical.fetch_add(1, std::memory_order_relaxed);
      log()->error("[{}] CRITICAL NOT SENT on '{}' (published during start): {}", source_, v->topic, full);
    }
  }
  held_messages_.clear();
  held_bytes_ = 0;
}

void Publisher::close() {
  std::lock_guard lk(mu_);
  open_ = false;
  // Held messages belong to a start that failed: they never leave, and each is counted.
  counters_->dropped_stopped.fetch_add(held_messages_.size(), std::memory_order_relaxed);
  held_messages_.clear();
  held_bytes_ = 0;
  held_ = false;
  if (socket_.handle() != nullptr) socket_.close();
  if (critical_.handle() != nullptr) critical_.close();
}

// Under mu_. A queue is full when it holds queue_depth messages or queue_bytes bytes.
bool Publisher::send(zmq::message_t& m, bool critical, std::string* why) {
  auto& gauge = bytes_->of(critical);
  const auto size = static_cast<int64_t>(m.size());
  if (gauge.load(std::memory_order_relaxed) + size > static_cast<int64_t>(opts_.queue_bytes)) {
    if (why)
      *why = std::string(critical ? "critical" : "outgoing") + " queue of '" + source_ + "' is full (" +
             std::to_string(opts_.queue_bytes) + " bytes, host.queue_bytes); message dropped and counted";
    return false;
  }
  gauge.fetch_add(size, std::memory_order_relaxed);
  if (critical) intake_->critical_sending();
  handover_release(m);
  if ((critical ? critical_ : socket_).send(m, zmq::send_flags::dontwait)) return true;
  if (critical) intake_->critical_not_sent();
  gauge.fetch_sub(size, std::memory_order_relaxed);
  if (why)
    *why = std::string(critical ? "critical" : "outgoing") + " queue of '" + source_ + "' is full (" +
           std::to_string(opts_.queue_depth) + " messages, host.queue_depth); message dropped and counted";
  return false;
}

citylink_status Publisher::refuse_oversize(std::string_view topic, std::size_t size, std::string* why) {
  const uint64_t n = counters_->rejected[static_cast<int>(RejectReason::oversize)].fetch_add(1) + 1;
  const std::string msg = "message on '" + std::string(topic) + "' is " + std::to_string(size) +
                          " bytes, over the host limit of " + std::to_string(max_bytes_) + " (host.max_message_bytes)";
  if (n <= 5 || n % 1000 == 0) log()->warn("[{}] rejected (oversize, #{}): {}", source_, n, msg);
  if (why) *why = msg;
  return CITYLINK_ERR_TOO_LARGE;
}

citylink_status Publisher::refuse_rate(std::string_view topic, std::string* why) {
  const uint64_t n = counters_->refused_rate.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::string msg = rate_.refusal(source_, topic);
  if (n <= 5 || n % 10000 == 0) log()->warn("[{}] publish refused (rate, #{}): {}", source_, n, msg);
  if (why) *why = msg;
  return CITYLINK_ERR_BACKPRESSURE;
}

citylink_status Publisher::publish(std::string_view topic, const uint8_t* envelope, std::size_t size,
                                   std::string* why, OnFull on_full) {
  auto say = [&](const std::string& s) {
    if (why) *why = s;
  };
  if ((envelope == nullptr && size > 0) || topic.empty() || topic.size() > 0xFFFF) {
    counters_->reject(RejectReason::bad_topic);
    say("publish needs a topic and envelope bytes");
    return CITYLINK_ERR_INVALID_ARGUMENT;
  }
  // Refused here, on the caller's thread, so an oversize message is never copied onward.
  if (size > max_bytes_) return refuse_oversize(topic, size, why);
  const bool critical = opts_.is_critical(topic);
  // A flood is refused here, in the flooding plugin's own thread, before it costs the router
  // or the engine anything: on 2 cores that CPU is what a 112 report waits for.
  if (!critical && !rate_.take(rate_wait_)) {
    if (on_full == OnFull::drop) return refuse_rate(topic, why);
    say("'" + source_ + "' is over its publish_rate for now");
    return CITYLINK_ERR_BACKPRESSURE;
  }
  if (gate_) {
    std::string reason;
    if (const citylink_status st = gate_->admit(topic, &reason); st != CITYLINK_OK) {
      if (st == CITYLINK_ERR_BACKPRESSURE && on_full == OnFull::keep) {
        say(reason);
        return st;
      }
      const uint64_t n = counters_->refused_durable.fetch_add(1, std::memory_order_relaxed) + 1;
      if (n <= 5 || n % 1000 == 0) {
        if (st == CITYLINK_ERR_BACKPRESSURE)
          log()->warn("[{}] publish on '{}' refused for now (#{}): {}", source_, topic, n, reason);
        else
          log()->error("[{}] publish on '{}' REFUSED (#{}): {}", source_, topic, n, reason);
      }
      say(reason);
      return st;
    }
  }
  zmq::message_t m(packet::size_for(topic.size(), size, room_ + topic.size()));
  packet::write(m.data<char>(), slot_, topic, envelope, size);

  std::lock_guard lk(mu_);
  if (!open_) {
    counters_->dropped_stopped.fetch_add(1, std::memory_order_relaxed);
    say("instance '" + source_ + "' is not running (publish before start or after stop)");
    return CITYLINK_ERR_STATE;
  }
  if (held_) {
    if (held_messages_.size() >= hold_limit_ || held_bytes_ + m.size() > opts_.queue_bytes) {
      // A caller that tries again (a worker's publish the plugin was told OK) loses nothing.
      if (on_full == OnFull::keep) {
        say("outgoing queue of '" + source_ + "' is full while it starts");
        return CITYLINK_ERR_BACKPRESSURE;
      }
      counters_->dropped_outgoing.fetch_add(1, std::memory_order_relaxed);
      if (critical) {
        counters_->dropped_critical.fetch_add(1, std::memory_order_relaxed);
        log()->error("[{}] CRITICAL NOT SENT on '{}': the outgoing queue is full while the instance starts", source_,
                     topic);
      }
      say("outgoing queue of '" + source_ + "' is full while it starts; message dropped and counted");
      return CITYLINK_ERR_BACKPRESSURE;
    }
    held_bytes_ += m.size();
    held_messages_.push_back(std::move(m));
    return CITYLINK_OK;
  }
  std::string full;
  if (!send(m, critical, &full)) {
    if (on_full == OnFull::keep) {
      say(full);
      return CITYLINK_ERR_BACKPRESSURE;
    }
    const uint64_t n = counters_->dropped_outgoing.fetch_add(1, std::memory_order_relaxed) + 1;
    // The publisher learns from the status; a critical message that does not leave is an
    // alarm for the operator too, every time.
    if (critical) {
      counters_->dropped_critical.fetch_add(1, std::memory_order_relaxed);
      log()->error("[{}] CRITICAL NOT SENT on '{}': {}", source_, topic, full);
    } else if (n <= 5 || n % 1000 == 0) {
      log()->warn("[{}] {} (#{} dropped)", source_, full, n);
    }
    say(full);
    return CITYLINK_ERR_BACKPRESSURE;
  }
  return CITYLINK_OK;
}

}  // namespace citylink::host
