// A publisher's inproc PUSH socket, shared by the plugin's threads behind one mutex.
#include <citylink/host/logging.hpp>
#include <citylink/host/packet.hpp>
#include <citylink/host/router.hpp>

#include <cstring>

namespace citylink::host {

Publisher::Publisher(zmq::context_t& ctx, const std::string& endpoint, uint32_t slot, std::string source,
                     std::shared_ptr<InstanceCounters> counters, const RouterOptions& opts)
    : socket_(ctx, zmq::socket_type::push),
      hold_limit_(static_cast<std::size_t>(opts.queue_depth > 0 ? opts.queue_depth : 1)),
      slot_(slot),
      source_(std::move(source)),
      counters_(std::move(counters)),
      max_bytes_(opts.max_message_bytes),
      // The router appends topic, id, source, time and origin into this room (origin: tag,
      // a length of up to 3 bytes, the name).
      room_(packet::stamp_room(source_.size() + opts.origin.size() + 4, 0)) {
  socket_.set(zmq::sockopt::sndhwm, opts.queue_depth);
  // Messages already queued when the instance stops still reach the router.
  socket_.set(zmq::sockopt::linger, 2000);
  socket_.connect(endpoint);
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
  for (auto& m : held_messages_)
    if (!open_ || !socket_.send(m, zmq::send_flags::dontwait))
      counters_->dropped_outgoing.fetch_add(1, std::memory_order_relaxed);
  held_messages_.clear();
}

void Publisher::close() {
  std::lock_guard lk(mu_);
  open_ = false;
  // Held messages belong to a start that failed: they never leave, and each is counted.
  counters_->dropped_stopped.fetch_add(held_messages_.size(), std::memory_order_relaxed);
  held_messages_.clear();
  held_ = false;
  if (socket_.handle() != nullptr) socket_.close();
}

citylink_status Publisher::publish(std::string_view topic, const uint8_t* envelope, std::size_t size,
                                   std::string* why) {
  auto say = [&](const std::string& s) {
    if (why) *why = s;
  };
  if ((envelope == nullptr && size > 0) || topic.empty() || topic.size() > 0xFFFF) {
    counters_->reject(RejectReason::bad_topic);
    say("publish needs a topic and envelope bytes");
    return CITYLINK_ERR_INVALID_ARGUMENT;
  }
  if (size > max_bytes_) {
    // Refused here, on the caller's thread, so an oversize message is never copied onward.
    uint64_t n = counters_->rejected[static_cast<int>(RejectReason::oversize)].fetch_add(1) + 1;
    const std::string msg = "message on '" + std::string(topic) + "' is " + std::to_string(size) +
                            " bytes, over the host limit of " + std::to_string(max_bytes_) +
                            " (host.max_message_bytes)";
    if (n <= 5 || n % 1000 == 0) log()->warn("[{}] rejected (oversize, #{}): {}", source_, n, msg);
    say(msg);
    return CITYLINK_ERR_TOO_LARGE;
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
    if (held_messages_.size() >= hold_limit_) {
      counters_->dropped_outgoing.fetch_add(1, std::memory_order_relaxed);
      say("outgoing queue of '" + source_ + "' is full while it starts; message dropped and counted");
      return CITYLINK_ERR_BACKPRESSURE;
    }
    held_messages_.push_back(std::move(m));
    return CITYLINK_OK;
  }
  if (!socket_.send(m, zmq::send_flags::dontwait)) {
    counters_->dropped_outgoing.fetch_add(1, std::memory_order_relaxed);
    say("outgoing queue of '" + source_ + "' is full; message dropped and counted");
    return CITYLINK_ERR_BACKPRESSURE;
  }
  return CITYLINK_OK;
}

}  // namespace citylink::host
