// CURVE servers, the ZAP handler and the handshake monitor (libzmq does the cryptography).
#include <citylink/host/curve.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/logging.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace citylink::host {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

// Log the first few of each kind and then every thousandth: a scanner must not flood the log.
bool should_log(uint64_t n) { return n <= 5 || n % 1000 == 0; }

std::string z85_of(const zmq::message_t& m) {
  if (m.size() != 32) return "(not a 32-byte key)";
  std::array<char, 41> out{};
  zmq_z85_encode(out.data(), m.data<uint8_t>(), 32);
  return out.data();
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& ctx, std::map<std::string, std::string> allowed, std::string endpoint,
                       CurveRefusals& refusals)
    : socket_(ctx, zmq::socket_type::rep),
      allowed_(std::move(allowed)),
      endpoint_(std::move(endpoint)),
      refusals_(refusals) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind(kZapEndpoint);
  thread_ = std::thread([this] { run(); });
}

ZapHandler::~ZapHandler() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::run() {
  while (running_) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
      std::vector<zmq::message_t> req;
      do {
        req.emplace_back();
        if (!socket_.recv(req.back(), zmq::recv_flags::none)) break;
      } while (req.back().more());
      // version, request id, domain, address, identity, mechanism, credentials...
      const bool well_formed = req.size() >= 6 && req[0].to_string() == "1.0";
      const std::string request_id = req.size() > 1 ? req[1].to_string() : "";
      const std::string address = req.size() > 3 ? req[3].to_string() : "?";
      const std::string mechanism = req.size() > 5 ? req[5].to_string() : "";
      std::string status = "400", text = "refused", user;
      if (well_formed && mechanism == "CURVE" && req.size() >= 7) {
        const std::string key = z85_of(req[6]);
        if (auto it = allowed_.find(key); it != allowed_.end()) {
          status = "200";
          text = "OK";
          user = it->second;
        } else {
          const uint64_t n = refusals_.unknown_key.fetch_add(1) + 1;
          if (should_log(n))
            log()->warn("{}: refused a CURVE client from {} with unknown public key {} (#{}); list it under "
                        "remote.clients to admit it",
                        endpoint_, address, key, n);
        }
      } else {
        const uint64_t n = refusals_.no_curve.fetch_add(1) + 1;
        if (should_log(n))
          log()->warn("{}: refused a client from {} without CURVE keys (mechanism {}) (#{})", endpoint_, address,
                      mechanism.empty() ? "?" : mechanism, n);
      }
      socket_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(user), zmq::send_flags::sndmore);
      socket_.send(zmq::message_t(), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) log()->error("{}: ZAP handler: {}", endpoint_, e.what());
    }
  }
}

void make_curve_server(zmq::socket_t& socket, const std::string& secret_key_z85) {
  if (!keys::is_curve_key(secret_key_z85))
    throw std::invalid_argument("the CURVE secret key is not 40 Z85 characters; make one with `citylink keygen --curve`");
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, secret_key_z85);
  socket.set(zmq::sockopt::zap_domain, "citylink");
}

void make_curve_client(zmq::socket_t& socket, const std::string& server_public_z85, const std::string& public_z85,
                       const std::string& secret_z85) {
  socket.set(zmq::sockopt::curve_serverkey, server_public_z85);
  socket.set(zmq::sockopt::curve_publickey, public_z85);
  socket.set(zmq::sockopt::curve_secretkey, secret_z85);
}

HandshakeMonitor::HandshakeMonitor(zmq::context_t& ctx, zmq::socket_t& server, std::string endpoint,
                                   CurveRefusals& refusals)
    : pair_(ctx, zmq::socket_type::pair), endpoint_(std::move(endpoint)), refusals_(refusals) {
  static std::atomic<uint64_t> seq{0};
  const std::string addr = "inproc://citylink-handshake-monitor-" + std::to_string(seq.fetch_add(1));
  if (zmq_socket_monitor(server.handle(), addr.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
    throw std::runtime_error(std::string("cannot monitor ") + endpoint_ + ": " + zmq_strerror(zmq_errno()));
  pair_.connect(addr);
}

void HandshakeMonitor::on_event() {
  zmq::message_t head, where;
  if (!pair_.recv(head, zmq::recv_flags::dontwait)) return;
  if (head.more()) (void)pair_.recv(where, zmq::recv_flags::none);
  if (head.size() < 6) return;
  uint16_t event = 0;
  uint32_t value = 0;
  std::memcpy(&event, head.data(), 2);
  std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
  // The address in `where` is the listening endpoint in libzmq 4.3, not the peer's: not logged.
  // A connection is pending from ACCEPTED until a handshake ends; one that disconnects while
  // pending never spoke ZeroMQ at all (plain TCP, a scanner, HTTP). libzmq 4.3's events name
  // a connection only by descriptor on ACCEPTED/DISCONNECTED and not at all on handshake
  // events, so a handshake's end retires the oldest pending connection: the counts are exact
  // when connections arrive one at a time, and may shift between kinds when they overlap.
  if (event == ZMQ_EVENT_ACCEPTED) {
    if (pending_.size() < 100000) pending_.push_back(value);
    return;
  }
  bool was_pending = false;
  if (event == ZMQ_EVENT_DISCONNECTED) {
    const auto it = std::find(pending_.begin(), pending_.end(), value);
    was_pending = it != pending_.end();
    if (was_pending) pending_.erase(it);
  } else if (!pending_.empty()) {
    pending_.pop_front();
  }
  if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return;
  if (event == ZMQ_EVENT_DISCONNECTED && !was_pending) return;
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) return;  // the ZAP handler has counted and logged it
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    const uint64_t n = refusals_.no_curve.fetch_add(1) + 1;
    if (should_log(n))
      log()->warn("{}: refused a ZeroMQ client that has no CURVE keys (plain, unencrypted) (#{}); give it a "
                  "key pair from `citylink keygen --curve` and list its public key",
                  endpoint_, n);
    return;
  }
  const uint64_t n = refusals_.bad_handshake.fetch_add(1) + 1;
  if (should_log(n))
    log()->warn("{}: refused a connection: {} (#{})", endpoint_,
                event == ZMQ_EVENT_DISCONNECTED ? "it closed without a ZeroMQ handshake (plain TCP, or not ZeroMQ)"
                                                : "the CURVE handshake failed (wrong server key, or a forged handshake)",
                n);
}

}  // namespace citylink::host
