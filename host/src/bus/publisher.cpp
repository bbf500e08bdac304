// A publisher's mailboxes and doorbell sockets (normal and critical), shared by the plugin's
// threads behind one mutex.
#include <citylink/host/logging.hpp>
#include "mailbox.hpp"
#include "packet.hpp"
#include <citylink/host/receive.hpp>
#include <citylink/host/router.hpp>
#include <citylink/host/topic.hpp>

#include <cstring>

namespace citylink::host {

bool RouterOptions::is_critical(std::string_view topic) const { return grants_allow(critical_topics, topic); }

Publisher::Publisher(zmq::context_t& ctx, const std::string& endpoint, uint32_t slot, std::string source,
                     std::shared_ptr<InstanceCounters> counters, const RouterOptions& opts,
                     std::array<std::shared_ptr<Mailbox>, 2> boxes, std::shared_ptr<QueueBytes> intake,
                     std::shared_ptr<const AdmissionGate> gate)
    : socket_(ctx, zmq::socket_type::push),
      critical_(ctx, zmq::socket_type::push),
      boxes_(std::move(boxes)),
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
    // At most one doorbell of each class is on its way; the mailbox bounds the packets.
    s->set(zmq::sockopt::sndhwm, 16);
    // A doorbell already sent when the instance stops still reaches the router (and the
    // router sweeps the mailboxes anyway).
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
    if (open_ && v && send(m.size(), critical, &full, [&](char* at) { std::memcpy(at, m.data(), m.size()); }))
      continue;
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

// Under mu_. A queue is full when it holds queue_depth messages or queue_bytes bytes. The
// doorbell rings only when the mailbox had none on its way: a burst is taken whole.
template <class Write>
bool Publisher::send(std::size_t n, bool critical, std::string* why, Write&& write) {
  Mailbox& box = *boxes_[critical ? 1 : 0];
  bool ring_it = false;
  {
    std::lock_guard lk(box.mu);
    const bool no_room = box.count >= hold_limit_;
    if (no_room || box.packets.size() + n > opts_.queue_bytes) {
      if (why)
        *why = std::string(critical ? "critical" : "outgoing") + " queue of '" + source_ + "' is full (" +
               (no_room ? std::to_string(opts_.queue_depth) + " messages, host.queue_depth"
                        : std::to_string(opts_.queue_bytes) + " bytes, host.queue_bytes") +
               "); message dropped and counted";
      return false;
    }
    write(box.packets.extend(n));
    ++box.count;
    ring_it = !box.rung;
    box.rung = true;
  }
  if (ring_it) ring(critical);
  return true;
}

// Under mu_. A doorbell that cannot be sent leaves the mailbox to the router's sweep.
void Publisher::ring(bool critical) {
  char bell[packet::kDoorbell] = {};
  std::memcpy(bell + 4, &slot_, 4);
  if (critical) intake_->critical_sending();
  if ((critical ? critical_ : socket_).send(zmq::const_buffer(bell, sizeof bell), zmq::send_flags::dontwait))
    return;
  if (critical) intake_->critical_not_sent();
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
  const std::size_t room = room_ + topic.size();
  const std::size_t n = packet::size_for(topic.size(), size, room);
  auto write = [&](char* at) { packet::write(at, topic, envelope, size, room); };

  std::lock_guard lk(mu_);
  if (!open_) {
    counters_->dropped_stopped.fetch_add(1, std::memory_order_relaxed);
    say("instance '" + source_ + "' is not running (publish before start or after stop)");
    return CITYLINK_ERR_STATE;
  }
  if (held_) {
    if (held_messages_.size() >= hold_limit_ || held_bytes_ + n > opts_.queue_bytes) {
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
    held_bytes_ += n;
    std::string& m = held_messages_.emplace_back(n, '\0');
    write(m.data());
    return CITYLINK_OK;
  }
  std::string full;
  if (!send(n, critical, &full, write)) {
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
