// agency-link: delivers what the city sends one agency (dispatch.*, grant.*) to that agency's
// own endpoint over ZeroMQ DEALER -> ROUTER with CURVE, and acks to the host only when the
// agency acked. While the agency is down it keeps resending with back-off; the host keeps
// every unacked envelope in its outbox, so neither an agency outage nor a host crash loses
// one (docs/delivery.md). The agency de-duplicates by envelope id. While it holds a message
// it tells the host so every progress_ms (citylink.durable/1), so an agency's outage neither
// redelivers nor dead-letters, however long it lasts.
//
// Wire: the link sends two frames, [topic][envelope bytes]; the agency answers one frame,
// a serialized citylink.v1.Ack naming the envelope id (accepted, or refused with a reason).
// With `batch: true`, for an agency that speaks it (citylink agency-sim does), what is due
// goes as [BATCH][citylink.v1.EnvelopeBatch] and the agency answers [ACKS][citylink.v1.Acks]:
// one ZeroMQ message and one CURVE box each way for up to 256 envelopes.
#include <citylink/plugin.hpp>
#include <citylink/v1/dispatch.pb.h>
#include <citylink/v1/envelope.pb.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <chrono>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <zmq.hpp>

#include "sample_support.hpp"

namespace {

using citylink::samples::Fields;
using Clock = std::chrono::steady_clock;

std::string read_key(const std::string& path, const char* field) {
  std::ifstream in(path);
  std::string key;
  if (!in || !(in >> key))
    throw citylink::ConfigError("field '" + std::string(field) + "': cannot read a key from '" + path +
                                "'; make one with `citylink keygen --curve --secret-key-file " + path + "`");
  if (key.size() != 40)
    throw citylink::ConfigError("field '" + std::string(field) + "': '" + path +
                                "' does not hold a Z85 CURVE key (40 characters)");
  return key;
}

class AgencyLink : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.agency-link";
    d.name = "Agency link";
    d.vendor = "CityLink";
    d.version = "1.0.0";
    d.kind = "bridge";
    d.description = "Delivers dispatches and video grants for its recipient to the agency's endpoint (ZeroMQ CURVE), "
                    "acking to the host only after the agency acked; resends with back-off while the agency is down.";
    d.subscribes = {"dispatch.", "grant."};
    d.config_schema = R"({"type":"object","additionalProperties":false,
      "required":["endpoint","secret_key_file"],"properties":{
      "endpoint":{"type":"string","minLength":1},"server_public_key":{"type":"string","minLength":40,"maxLength":40},
      "server_public_key_file":{"type":"string","minLength":1},
      "secret_key_file":{"type":"string","minLength":1},"retry_ms":{"type":"integer","minimum":10},
      "max_retry_ms":{"type":"integer","minimum":10},"progress_ms":{"type":"integer","minimum":10},
      "batch":{"type":"boolean"}}})";
    return d;
  }

  explicit AgencyLink(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto cfg =
        Fields::parse(ctx, {"endpoint", "server_public_key", "server_public_key_file", "secret_key_file", "retry_ms",
                            "max_retry_ms", "progress_ms", "batch"});
    endpoint_ = cfg.required_text("endpoint", "\"tcp://112-centre.example:7101\"");
    if (endpoint_.rfind("tcp://", 0) != 0 && endpoint_.rfind("ipc://", 0) != 0)
      cfg.fail("endpoint", "'" + endpoint_ + "' is not a ZeroMQ tcp:// or ipc:// endpoint");
    // The agency's public key, inline or in a file (as `citylink keygen --curve` prints it).
    if (cfg.has("server_public_key") == cfg.has("server_public_key_file"))
      cfg.fail("server_public_key", "give exactly one of server_public_key (the agency's Z85 CURVE public key, 40 "
                                    "characters) and server_public_key_file");
    server_key_ = cfg.has("server_public_key") ? cfg.text("server_public_key", "")
                                               : read_key(cfg.text("server_public_key_file", ""), "server_public_key_file");
    uint8_t decoded[32];
    if (server_key_.size() != 40 || !zmq_z85_decode(decoded, server_key_.c_str()))
      cfg.fail("server_public_key", "must be a Z85 CURVE public key of 40 characters (as `citylink keygen --curve` "
                                    "prints it)");
    secret_key_ = read_key(cfg.required_text("secret_key_file", "\"/etc/citylink/keys/link-112.key\""),
                           "secret_key_file");
    char pub[41] = {};
    if (zmq_curve_public(pub, secret_key_.c_str()) != 0)
      cfg.fail("secret_key_file", "does not hold a valid CURVE secret key");
    public_key_ = pub;
    retry_ = std::chrono::milliseconds(cfg.integer("retry_ms", 500, 10, 600'000));
    max_retry_ = std::chrono::milliseconds(cfg.integer("max_retry_ms", 10'000, 10, 3'600'000));
    if (max_retry_ < retry_) max_retry_ = retry_;
    progress_ = std::chrono::milliseconds(cfg.integer("progress_ms", 1'000, 10, 3'600'000));
    batch_ = cfg.flag("batch", false);
  }

  ~AgencyLink() override { stop(); }

  bool manual_acks() const override { return true; }

  void start() override {
    // The agency socket is made here, so a bad endpoint is a start error with its reason,
    // then handed to the link thread (thread creation orders the two).
    try {
      dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
      dealer_->set(zmq::sockopt::curve_serverkey, server_key_);
      dealer_->set(zmq::sockopt::curve_publickey, public_key_);
      dealer_->set(zmq::sockopt::curve_secretkey, secret_key_);
      dealer_->set(zmq::sockopt::linger, 0);
      // The host's durable window (in_flight) bounds what is outstanding; ZeroMQ's default of
      // 1,000 would refuse sends below it, and each refusal waits retry_ms.
      dealer_->set(zmq::sockopt::sndhwm, 0);
      dealer_->set(zmq::sockopt::rcvhwm, 0);
      // Queue nothing for an agency that is not connected: the link's own retries resend.
      dealer_->set(zmq::sockopt::immediate, 1);
      dealer_->set(zmq::sockopt::reconnect_ivl, 100);
      dealer_->set(zmq::sockopt::reconnect_ivl_max, 5000);
      dealer_->connect(endpoint_);
    } catch (const zmq::error_t& e) {
      dealer_.reset();
      throw citylink::Error(CITYLINK_ERR_CONFIG, "field 'endpoint': cannot connect to '" + endpoint_ + "': " +
                                                     e.what() + "; give tcp://HOST:PORT or ipc://PATH");
    }
    wake_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::push);
    wake_->set(zmq::sockopt::linger, 0);
    wake_->set(zmq::sockopt::sndhwm, 1);
    wake_->bind(wake_endpoint());
    running_ = true;
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    running_ = false;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lk(mu_);
    wake_.reset();
  }

  void on_message(const citylink::Message& m) override {
    std::string id;
    try {
      id = m.envelope().id();
    } catch (const citylink::Error&) {
      // Bytes that do not parse will not parse next time either: a dead letter now.
      host_.error("message on '" + std::string(m.topic()) + "' is not an envelope; refused (dead letter)");
      host_.nack(m.delivery_tag(), /*requeue=*/false);
      return;
    }
    std::lock_guard lk(mu_);
    auto it = pending_.find(id);
    if (it != pending_.end()) {
      it->second.tag = m.delivery_tag();  // a redelivery: the new tag replaces the dead one
      return;
    }
    Pending p;
    p.tag = m.delivery_tag();
    p.topic = m.topic();
    p.bytes.assign(reinterpret_cast<const char*>(m.raw()->envelope), m.raw()->envelope_size);
    pending_.emplace(id, std::move(p));
    order_.push_back(id);
    fresh_.push_back(id);
    // The link thread may be asleep in its poll: one empty message wakes it (the queue holds
    // at most one; more would say nothing new).
    if (wake_) (void)wake_->send(zmq::message_t(), zmq::send_flags::dontwait);
  }

 private:
  struct Pending {
    uint64_t tag = 0;
    std::string topic, bytes;
    Clock::time_point next_send{};  // epoch: send now
    Clock::time_point since = Clock::now();
    int attempts = 0;
  };

  std::string wake_endpoint() const { return "inproc://agency-link-wake-" + std::to_string(reinterpret_cast<uintptr_t>(this)); }

  void run() {
    // An exception leaving this thread would end the process (the host, when in-process).
    try {
      serve();
    } catch (const std::exception& e) {
      host_.error("the link to " + endpoint_ + " stopped: " + e.what() +
                  "; what it was sent waits in the host's outbox for the next start");
    }
    dealer_.reset();
  }

  void serve() {
    zmq::socket_t woken(ctx_, zmq::socket_type::pull);
    woken.set(zmq::sockopt::linger, 0);
    woken.connect(wake_endpoint());
    zmq::socket_t& s = *dealer_;
    host_.info("delivering to " + endpoint_);
    bool down_logged = false;
    auto next_progress = Clock::now() + progress_;
    while (running_) {
      send_due(s, down_logged);
      if (Clock::now() >= next_progress) {
        report_progress();
        next_progress = Clock::now() + progress_;
      }
      bool waiting;
      {
        std::lock_guard lk(mu_);
        waiting = !unsent_.empty();
      }
      // While a message waits for the connection, the socket's becoming writable (the agency
      // is up and the CURVE handshake done) wakes the loop to send it then.
      const short events = static_cast<short>(ZMQ_POLLIN | (waiting ? ZMQ_POLLOUT : 0));
      zmq::pollitem_t items[] = {{s.handle(), 0, events, 0}, {woken.handle(), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(10));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
      zmq::message_t nudge;
      while (woken.recv(nudge, zmq::recv_flags::dontwait)) {
      }
      zmq::message_t reply;
      while (s.recv(reply, zmq::recv_flags::dontwait)) {
        if (reply.more() && reply.to_string_view() == "ACKS") {
          citylink::v1::Acks acks;
          const bool ok = s.recv(reply, zmq::recv_flags::dontwait) && !reply.more() &&
                          acks.ParseFromArray(reply.data(), static_cast<int>(reply.size()));
          while (reply.more() && s.recv(reply, zmq::recv_flags::dontwait)) {
          }
          if (!ok) {
            host_.warn("the agency at " + endpoint_ + " sent ACKS that are not a citylink.v1.Acks; ignored");
            continue;
          }
          for (const auto& ack : acks.acks()) settle(ack);
          continue;
        }
        citylink::v1::Ack ack;
        if (reply.more() || !ack.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) {
          host_.warn("the agency at " + endpoint_ + " sent a reply that is not a citylink.v1.Ack; ignored");
          while (reply.more() && s.recv(reply, zmq::recv_flags::dontwait)) {
          }
          continue;
        }
        settle(ack);
      }
      std::lock_guard lk(mu_);
      if (down_logged && pending_.empty()) {
        host_.info("the agency at " + endpoint_ + " has acked everything it was sent");
        down_logged = false;
      }
    }
  }

  // Sends what waited for the connection, then what is new, then what is due again. A message
  // that finds no connection waits in unsent_, in order, until the socket is writable: not
  // for retry_ms, which in a short outage (or a link that starts before its agency) was most
  // of the delay. Only new and waiting messages are looked at on every pass: the whole list
  // is walked when a resend falls due, so a large window does not cost a walk per reply.
  void send_due(zmq::socket_t& s, bool& down_logged) {
    if (batch_) return send_due_in_batches(s, down_logged);
    const auto now = Clock::now();
    std::lock_guard lk(mu_);
    while (!unsent_.empty()) {
      auto p = pending_.find(unsent_.front());
      if (p != pending_.end() && !send_one(s, p->second, now)) break;
      unsent_.pop_front();
    }
    while (!fresh_.empty()) {
      auto p = pending_.find(fresh_.front());
      if (p != pending_.end() && (!unsent_.empty() || !send_one(s, p->second, now))) {
        // Waiting in unsent_ only: never due for the walk's resend as well, which would put
        // it in unsent_ twice and send it twice when the agency is back.
        p->second.next_send = Clock::time_point::max();
        unsent_.push_back(fresh_.front());
      }
      fresh_.pop_front();
    }
    // The oldest waiting message says when the agency has been unreachable for long.
    if (!unsent_.empty())
      if (auto p = pending_.find(unsent_.front()); p != pending_.end()) note_if_down(p->second, now, down_logged);
    if (now < next_due_) return;
    walk_due(now, down_logged, [&](const std::string& id, Pending& m) {
      if (!send_one(s, m, now)) unsent_.push_back(id);
    });
  }

  // Calls due(id, message) for each held message whose resend fell due, in order, and finds
  // the next resend. One pass that also drops what was settled (erasing inside a deque would
  // cost a move each).
  template <class Due>
  void walk_due(Clock::time_point now, bool& down_logged, Due&& due) {
    next_due_ = Clock::time_point::max();
    std::deque<std::string> still;
    for (auto& id : order_) {
      auto p = pending_.find(id);
      if (p == pending_.end()) continue;
      Pending& m = p->second;
      note_if_down(m, now, down_logged);
      if (m.next_send <= now) due(id, m);
      next_due_ = std::min(next_due_, m.next_send);
      still.push_back(std::move(id));
    }
    order_.swap(still);
  }

  // As send_due, in BATCH frames. What is due is gathered first, in order (what waited for
  // the connection, what is new, what a resend fell due for), then sent 256 envelopes or
  // about 256 KiB a frame; a frame the socket refuses (no connection) and every one after it
  // wait in unsent_, in order.
  void send_due_in_batches(zmq::socket_t& s, bool& down_logged) {
    const auto now = Clock::now();
    std::lock_guard lk(mu_);
    std::vector<std::string> due(unsent_.begin(), unsent_.end());
    unsent_.clear();
    for (auto& id : fresh_) {
      auto p = pending_.find(id);
      if (p == pending_.end()) continue;
      p->second.next_send = Clock::time_point::max();  // gathered: not due again in the walk below
      due.push_back(std::move(id));
    }
    fresh_.clear();
    if (!due.empty())
      if (auto p = pending_.find(due.front()); p != pending_.end()) note_if_down(p->second, now, down_logged);
    if (now >= next_due_)
      walk_due(now, down_logged, [&](const std::string& id, Pending& m) {
        m.next_send = Clock::time_point::max();  // gathered: sent below, or waits in unsent_
        due.push_back(id);
      });
    citylink::v1::EnvelopeBatch batch;
    std::vector<Pending*> in_batch;
    std::size_t bytes = 0, first = 0;
    bool connected = true;
    const auto flush = [&](std::size_t end) {
      if (in_batch.empty()) return;
      if (connected) {
        zmq::message_t frame(batch.ByteSizeLong());
        batch.SerializeWithCachedSizesToArray(frame.data<uint8_t>());
        connected = s.send(zmq::str_buffer("BATCH"), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                    s.send(frame, zmq::send_flags::dontwait);
      }
      for (std::size_t i = 0; i < in_batch.size(); ++i) {
        Pending& m = *in_batch[i];
        if (connected) {
          mark_sent(m, now);
        } else {
          m.next_send = Clock::time_point::max();
          unsent_.push_back(due[first + i]);
        }
      }
      batch.Clear();
      in_batch.clear();
      bytes = 0;
      first = end;
    };
    for (std::size_t i = 0; i < due.size(); ++i) {
      auto p = pending_.find(due[i]);
      if (p == pending_.end()) {  // settled meanwhile: nothing to send, keep the indexes aligned
        flush(i);
        first = i + 1;
        continue;
      }
      Pending& m = p->second;
      if (!in_batch.empty() && (in_batch.size() == 256 || bytes + m.bytes.size() > (256u << 10))) flush(i);
      auto* item = batch.add_items();
      item->set_topic(m.topic);
      item->set_envelope(m.bytes);
      in_batch.push_back(&m);
      bytes += m.bytes.size() + m.topic.size();
    }
    flush(due.size());
  }

  // Unanswered well after its first try, or not even sendable (no connection) for as long.
  void note_if_down(const Pending& m, Clock::time_point now, bool& down_logged) {
    if (down_logged || now - m.since <= std::max<Clock::duration>(retry_ * 4, std::chrono::seconds(1))) return;
    host_.warn("the agency at " + endpoint_ + " has not acked " + std::to_string(pending_.size()) +
               " message(s); resending with back-off (kept by the host until acked)");
    down_logged = true;
  }

  // True when the socket took it; then a resend falls due after the back-off. False when
  // there is no connection: the caller queues it in unsent_, and no timer resends it.
  bool send_one(zmq::socket_t& s, Pending& m, Clock::time_point now) {
    const bool sent = s.send(zmq::buffer(m.topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                      s.send(zmq::buffer(m.bytes), zmq::send_flags::dontwait);
    if (!sent) {
      m.next_send = Clock::time_point::max();
      return false;
    }
    mark_sent(m, now);
    return true;
  }

  // The socket took it: a resend falls due after the back-off.
  void mark_sent(Pending& m, Clock::time_point now) {
    m.next_send = now + std::min<Clock::duration>(max_retry_, retry_ * (1 << std::min(m.attempts, 16)));
    if (m.attempts < 16) ++m.attempts;
    next_due_ = std::min(next_due_, m.next_send);
  }

  // Everything held is still being worked on: the host restarts each one's ack timeout
  // instead of redelivering it and striking the oldest. A host without citylink.durable/1
  // answers UNSUPPORTED; then durable.ack_timeout_ms x max_deliveries bounds an outage.
  void report_progress() {
    std::lock_guard lk(mu_);
    for (const auto& [id, m] : pending_)
      if (host_.progress(m.tag) == CITYLINK_ERR_UNSUPPORTED) return;
  }

  void settle(const citylink::v1::Ack& ack) {
    std::lock_guard lk(mu_);
    if (ack.envelope_id().empty() && !ack.accepted() && !unnamed_refusal_said_) {
      // It could not read what it was sent: an agency that does not speak BATCH frames
      // answers this way, and the link would resend for ever without a word.
      host_.error("the agency at " + endpoint_ + " refused a message without naming it: " + ack.reason() +
                  (batch_ ? "; if its system does not read BATCH frames, set batch: false for this link" : ""));
      unnamed_refusal_said_ = true;
    }
    auto it = pending_.find(ack.envelope_id());
    if (it == pending_.end()) return;  // an ack for a resend already settled
    if (ack.accepted()) {
      host_.ack(it->second.tag);
    } else {
      host_.error("the agency refused message " + ack.envelope_id() + ": " + ack.reason() +
                  " (moved to the host's dead letters)");
      host_.nack(it->second.tag, /*requeue=*/false);
    }
    pending_.erase(it);  // order_ drops it on the next pass
  }

  citylink::Host host_;
  zmq::context_t ctx_{1};
  std::unique_ptr<zmq::socket_t> wake_;    // under mu_; bound before the link thread connects
  std::unique_ptr<zmq::socket_t> dealer_;  // to the agency: made in start, then the link thread's
  std::string endpoint_, server_key_, secret_key_, public_key_;
  std::chrono::milliseconds retry_{500}, max_retry_{10'000}, progress_{1'000};
  bool batch_ = false;  // BATCH frames, for an agency that speaks them
  bool unnamed_refusal_said_ = false;  // under mu_
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::mutex mu_;
  std::unordered_map<std::string, Pending> pending_;  // by envelope id
  std::deque<std::string> order_;                     // ids in the order they came
  std::deque<std::string> fresh_;                     // ids not sent yet
  std::deque<std::string> unsent_;                    // ids that found no connection, in order
  Clock::time_point next_due_ = Clock::time_point::max();  // the earliest resend
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(AgencyLink)
