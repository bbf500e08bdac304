// A script inside the host's process on the bus: one publisher and one queue, as a plugin.
#include <citylink/host/local_client.hpp>
#include <citylink/host/permissions.hpp>
#include <citylink/host/topic.hpp>

#include <stdexcept>

namespace citylink::host {

LocalClient::LocalClient(zmq::context_t& ctx, Router& router, ClientEntry entry)
    : router_(router), entry_(std::move(entry)) {
  publisher_ = router_.add_publisher(entry_.name, entry_.publish_grants, counters_);
  publisher_->limit_rate(publish_rate_of(entry_.publish_rate));
  publisher_->open();
  if (!entry_.subscriptions.empty()) {
    const int depth = router_.options().queue_depth;
    const std::string ep = router_.endpoint_prefix() + "/client/" + entry_.name;
    inbox_ = Inbox(ctx, ep, depth);
    std::string why;
    if (!router_.add_sink(SinkSpec{entry_.name, entry_.subscriptions, ep, counters_, false, depth, entry_.recipient,
                                   inbox_.critical_endpoint(), inbox_.bytes()},
                          &why)) {
      publisher_->close();
      throw std::runtime_error("client '" + entry_.name + "': the router could not connect to its queue (" + why + ")");
    }
  }
}

LocalClient::~LocalClient() { close(); }

citylink_status LocalClient::publish(std::string_view topic, const uint8_t* envelope, std::size_t size,
                                     std::string* why) {
  // The router checks again and would only count and log; a script is better served by an
  // answer to the call that did it.
  if (!is_valid_topic(topic)) {
    counters_->reject(RejectReason::bad_topic);
    if (why) *why = "'" + std::string(topic) + "' is not a topic; write dotted lower-case words (sensor.reading)";
    return CITYLINK_ERR_INVALID_ARGUMENT;
  }
  const bool reserved = is_engine_only_topic(topic);
  if (reserved || !grants_allow(entry_.publish_grants, topic)) {
    counters_->reject(reserved ? RejectReason::reserved : RejectReason::not_granted);
    if (why)
      *why = reserved ? "'" + std::string(topic) + "' is published only by the scenario engine"
                      : "client '" + entry_.name + "' is not granted to publish '" + std::string(topic) +
                            "'; add it under clients: [{name: " + entry_.name + ", grants: {publish: [...]}}] in the "
                            "city config";
    return CITYLINK_ERR_NOT_GRANTED;
  }
  return publisher_->publish(topic, envelope, size, why);
}

bool LocalClient::receive(std::string& topic, std::string& envelope, std::chrono::milliseconds timeout) {
  std::lock_guard lk(receive_mu_);
  if (closed_ || !inbox_.is_open()) return false;
  Received r;
  if (!reader_.next(r, timeout)) return false;
  topic.assign(r.topic);
  envelope.assign(reinterpret_cast<const char*>(r.envelope), r.envelope_size);
  counters_->delivered.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool LocalClient::may_subscribe(std::string_view pattern, std::string* why) const {
  if (!is_valid_grant(pattern)) {
    if (why) *why = "'" + std::string(pattern) + "' is not a topic pattern; write a topic (sensor.reading), a subtree "
                    "(camera.*) or *";
    return false;
  }
  for (const auto& g : entry_.subscriptions)
    if (grant_covers(g, pattern)) return true;
  if (why) {
    std::string granted;
    for (const auto& g : entry_.subscriptions) granted += (granted.empty() ? "" : ", ") + g;
    *why = "client '" + entry_.name + "' is not granted '" + std::string(pattern) + "' (granted: " +
           (granted.empty() ? "nothing" : granted) + "); add it under clients: [{name: " + entry_.name +
           ", grants: {subscribe: [...]}}] in the city config";
  }
  return false;
}

void LocalClient::close() {
  publisher_->close();
  std::lock_guard lk(receive_mu_);
  if (closed_) return;
  closed_ = true;
  if (inbox_.is_open()) {
    router_.remove_sink(entry_.name);
    inbox_.close();
  }
}

}  // namespace citylink::host
