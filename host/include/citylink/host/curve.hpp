// The CURVE side of every TCP endpoint the host opens (remote clients now; agency links and
// Python clients reuse it): server keys, a ZAP handler that admits only the client keys the
// city lists, and a handshake monitor that logs and counts every refusal by kind.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <deque>
#include <string>
#include <thread>
#include <zmq.hpp>

namespace citylink::host {

// Refused connection attempts, by why.
struct CurveRefusals {
  std::atomic<uint64_t> unknown_key{0};    // a CURVE client whose public key the city does not list
  std::atomic<uint64_t> no_curve{0};       // a ZeroMQ client without CURVE keys (NULL or PLAIN mechanism)
  std::atomic<uint64_t> bad_handshake{0};  // not ZeroMQ at all (plain TCP), or a broken/forged handshake
};

// Answers ZAP requests (RFC 27) for one ZeroMQ context on its own thread: a CURVE client is
// admitted only if its public key is listed, and its name becomes the messages' User-Id.
// Must exist before the server socket binds: libzmq admits every CURVE client when no ZAP
// handler is bound.
class ZapHandler {
 public:
  // `allowed`: Z85 public key -> client name. `endpoint`: the endpoint, for log lines.
  ZapHandler(zmq::context_t& ctx, std::map<std::string, std::string> allowed, std::string endpoint,
             CurveRefusals& refusals);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

 private:
  void run();
  zmq::socket_t socket_;
  std::map<std::string, std::string> allowed_;
  std::string endpoint_;
  CurveRefusals& refusals_;
  std::atomic<bool> running_{true};
  std::thread thread_;
};

// Makes `socket` a CURVE server with this Z85 secret key. Call before bind.
void make_curve_server(zmq::socket_t& socket, const std::string& secret_key_z85);
// Makes `socket` a CURVE client of `server_public_z85` with its own key pair. Call before connect.
void make_curve_client(zmq::socket_t& socket, const std::string& server_public_z85, const std::string& public_z85,
                       const std::string& secret_z85);

// Watches a CURVE server socket's handshakes; poll socket() and call on_event() when it is
// readable. Every failed handshake is counted in `refusals` and logged (rate-limited).
class HandshakeMonitor {
 public:
  HandshakeMonitor(zmq::context_t& ctx, zmq::socket_t& server, std::string endpoint, CurveRefusals& refusals);
  zmq::socket_t& socket() { return pair_; }
  void on_event();

 private:
  zmq::socket_t pair_;
  std::string endpoint_;
  CurveRefusals& refusals_;
  std::deque<uint32_t> pending_;  // descriptors of accepted connections whose handshake has not ended
};

}  // namespace citylink::host
