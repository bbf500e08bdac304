// The host's TCP door for remote clients (operator tools, agency links on other machines,
// scripts): every client authenticates with its CURVE key, and publishes and receives as the
// named source the city config gives it, with exactly that client's grants.
//
// Wire protocol (ZeroMQ multipart frames on a DEALER socket, docs/remote.md):
//   client -> host  ["HELLO"]                      register for delivery; answered ["WELCOME", NAME]
//                   ["PUB", TOPIC, ENVELOPE]       publish; the router checks the client's grants
//   host -> client  ["MSG", TOPIC, ENVELOPE]       a message the client subscribed to (stamped)
//                   ["ERR", WHAT]                   a frame the host could not accept, and why
#pragma once

#include <citylink/host/city_config.hpp>
#include <citylink/host/counters.hpp>
#include <citylink/host/curve.hpp>
#include <citylink/host/router.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <zmq.hpp>

namespace citylink::host {

class RemoteEndpoint {
 public:
  RemoteEndpoint(zmq::context_t& ctx, Router& router, RemoteSettings settings);
  ~RemoteEndpoint();
  RemoteEndpoint(const RemoteEndpoint&) = delete;
  RemoteEndpoint& operator=(const RemoteEndpoint&) = delete;

  // Reads the key, binds and starts serving. Throws std::runtime_error naming the endpoint,
  // the problem and the fix (unreadable key, address in use).
  void start();
  void stop();

  // The bound endpoint, with the real port when `bind` asked for port 0 ("tcp://127.0.0.1:0").
  const std::string& endpoint() const { return endpoint_; }
  const CurveRefusals& refusals() const { return refusals_; }
  // Each client's counters (published, delivered, rejected, dropped), by name.
  const std::map<std::string, std::shared_ptr<InstanceCounters>>& counters() const { return counters_; }

 private:
  void release_clients();
  struct Client;
  void run();
  // Serves one client message; returns how many bus messages it carried (at least 1).
  std::size_t on_client_frames(std::vector<zmq::message_t>& frames);
  // Hands what the router queued for `c` to its connection, until it is empty or the
  // connection is full (then `c` is blocked and tried again shortly).
  void forward(Client& c);
  // False only when the connection cannot take `packet` now; anything else is sent or counted.
  bool send_to(Client& c, const Received& message);
  // The same for a client that said HELLO batch: `frame` is an EnvelopeBatch of `count`.
  bool send_batch(Client& c, zmq::message_t& frame, uint64_t count);

  zmq::context_t& ctx_;
  Router& router_;
  RemoteSettings settings_;
  std::string endpoint_;
  CurveRefusals refusals_;
  std::map<std::string, std::shared_ptr<InstanceCounters>> counters_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::unique_ptr<ZapHandler> zap_;
  zmq::socket_t server_;
  std::unique_ptr<HandshakeMonitor> monitor_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace citylink::host
