// A local client of the bus: a script in the host's own process (citylink.Host in Python)
// that publishes and reads as the `clients:` entry the city config names, with exactly that
// entry's grants, like any plugin instance (docs/python.md).
#pragma once

#include <citylink/abi.h>
#include <citylink/host/city_config.hpp>
#include <citylink/host/counters.hpp>
#include <citylink/host/inbox.hpp>
#include <citylink/host/router.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <zmq.hpp>

namespace citylink::host {

class LocalClient {
 public:
  // Registers the client's publisher and (when it has subscription grants) its queue with
  // the router; messages for it wait there, bounded like every queue, until receive().
  LocalClient(zmq::context_t& ctx, Router& router, ClientEntry entry);
  ~LocalClient();
  LocalClient(const LocalClient&) = delete;
  LocalClient& operator=(const LocalClient&) = delete;

  const ClientEntry& entry() const { return entry_; }
  const std::shared_ptr<InstanceCounters>& counters() const { return counters_; }
  // True when publish() may sleep (up to 1 ms) to pace the client to its publish_rate.
  bool paced() const { return publisher_->rate_limit() != PublishRate::kUnlimited; }

  // Any thread. Queues one envelope for the router, which checks it against the grants;
  // statuses as citylink_host_api::publish. CITYLINK_ERR_STATE after close().
  citylink_status publish(std::string_view topic, const uint8_t* envelope, std::size_t size, std::string* why);

  // One thread at a time. The next message for this client, critical first: waits up to
  // `timeout`; false when none came or the client is closed. Counts it delivered.
  bool receive(std::string& topic, std::string& envelope, std::chrono::milliseconds timeout);

  // Whether a subscription `pattern` lies inside this client's subscription grants: the
  // script may only ask for what the city granted. Fills `why` (naming the fix) when not.
  bool may_subscribe(std::string_view pattern, std::string* why) const;

  // Takes the client off the router; publish() and receive() fail from now on. Idempotent.
  void close();

 private:
  Router& router_;
  ClientEntry entry_;
  std::shared_ptr<InstanceCounters> counters_ = std::make_shared<InstanceCounters>();
  std::shared_ptr<Publisher> publisher_;
  std::mutex receive_mu_;  // close() waits for a receive in progress
  Inbox inbox_;
  InboxReader reader_{inbox_};  // under receive_mu_
  bool closed_ = false;
};

}  // namespace citylink::host
