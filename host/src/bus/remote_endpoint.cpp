// The CURVE TCP endpoint: clients in, their messages onto the bus, their subscriptions out.
#include <citylink/host/inbox.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/receive.hpp>
#include <citylink/host/remote_endpoint.hpp>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <stdexcept>
#include <sys/stat.h>

namespace citylink::host {

struct RemoteEndpoint::Client {
  ClientEntry config;
  std::shared_ptr<InstanceCounters> counters;
  std::shared_ptr<Publisher> publisher;
  Inbox inbox;                  // the router delivers this client's subscriptions here
  std::string routing_id;       // the connected peer, once it said HELLO; empty: not connected
  bool batched = false;          // it said HELLO batch: it gets MSGS frames
  // A batched client's frame its connection could not take yet (its pipe at the high-water
  // mark), a serialized EnvelopeBatch of `held_count` messages: it waits here, and what
  // follows waits in the inbox, whose bounds count what cannot wait.
  zmq::message_t held;
  uint64_t held_count = 0;
  bool held_batch = false;  // `held` is set (the client may say HELLO again without batch meanwhile)
  bool blocked = false;     // its connection took nothing more at the last try
  // Its inbox one message at a time, critical first; a message its connection did not take
  // stays first (peek, then pop once sent).
  InboxReader reader{inbox};
};

RemoteEndpoint::RemoteEndpoint(zmq::context_t& ctx, Router& router, RemoteSettings settings)
    : ctx_(ctx), router_(router), settings_(std::move(settings)) {}

RemoteEndpoint::~RemoteEndpoint() { stop(); }

void RemoteEndpoint::start() {
  if (running_) return;
  const std::string& bind = settings_.bind;
  std::string secret, server_public;
  try {
    // A secret others can read is no secret: refused like a plugin file others can write.
    struct stat st {};
    if (::stat(settings_.secret_key_file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
      throw std::runtime_error("it is readable by others (mode " + std::to_string((st.st_mode >> 6) & 7) +
                               std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                               "); chmod 600 it");
    secret = keys::read_key_file(settings_.secret_key_file);
    server_public = keys::curve_public_of(secret);
  } catch (const std::exception& e) {
    throw std::runtime_error("remote endpoint " + bind + ": the secret key " + settings_.secret_key_file.string() +
                             " is not usable (" + e.what() + "); make one with `citylink keygen --curve`");
  }
  std::map<std::string, std::string> allowed;
  for (const auto& c : settings_.clients) allowed.emplace(c.public_key, c.name);
  // The ZAP handler first: without one bound, libzmq admits every CURVE client.
  zap_ = std::make_unique<ZapHandler>(ctx_, allowed, bind, refusals_);

  const int depth = router_.options().queue_depth;
  for (const auto& rc : settings_.clients) {
    auto c = std::make_unique<Client>();
    c->config = rc;
    c->counters = std::make_shared<InstanceCounters>();
    counters_[rc.name] = c->counters;
    c->publisher = router_.add_publisher(rc.name, rc.publish_grants, c->counters,
                                         rc.peer_host ? PublisherRole::peer_host : PublisherRole::plugin,
                                         rc.peer_origins);
    // Refused at once, never paced: this endpoint's one thread serves every client.
    c->publisher->limit_rate(publish_rate_of(rc.publish_rate), std::chrono::microseconds(0));
    c->publisher->open();
    if (!rc.subscriptions.empty()) {
      const std::string ep = router_.endpoint_prefix() + "/remote/" + rc.name;
      c->inbox = Inbox(ctx_, ep, depth);
      std::string why;
      if (!router_.add_sink(SinkSpec{rc.name, rc.subscriptions, ep, c->counters, false, depth, rc.recipient,
                                     c->inbox.critical_endpoint(), c->inbox.bytes()},
                            &why)) {
        c->inbox.close();
        c->publisher->close();
        release_clients();
        throw std::runtime_error("remote client '" + rc.name + "': the router could not connect to its queue (" +
                                 why + "); the remote endpoint is not started");
      }
    }
    clients_.push_back(std::move(c));
  }

  server_ = zmq::socket_t(ctx_, zmq::socket_type::router);
  make_curve_server(server_, secret);
  server_.set(zmq::sockopt::router_mandatory, true);  // a send to a gone client fails, and is counted
  server_.set(zmq::sockopt::sndhwm, depth);
  server_.set(zmq::sockopt::rcvhwm, depth);
  server_.set(zmq::sockopt::linger, 0);
  server_.set(zmq::sockopt::handshake_ivl, 10000);  // a connection that never completes a handshake is cut
  server_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(router_.options().max_message_bytes + 4096));
  monitor_ = std::make_unique<HandshakeMonitor>(ctx_, server_, bind, refusals_);
  try {
    server_.bind(bind);
  } catch (const zmq::error_t& e) {
    release_clients();
    throw std::runtime_error("remote endpoint " + bind + " cannot be bound: " + e.what() +
                             "; choose a free port and an address of this machine in remote.bind");
  }
  endpoint_ = server_.get(zmq::sockopt::last_endpoint);
  running_ = true;
  thread_ = std::thread([this] { run(); });
  log()->info("remote endpoint {} (CURVE; server public key {}; {} client key(s) admitted)", endpoint_, server_public,
              settings_.clients.size());
}

// An endpoint that does not start: nobody will read its clients' queues, so they leave the
// router, and their traffic counts as undeliverable instead of filling dead queues.
void RemoteEndpoint::release_clients() {
  for (auto& c : clients_) {
    if (c->inbox.is_open()) {
      router_.remove_sink(c->config.name);
      c->inbox.close();
    }
    c->publisher->close();
  }
}

void RemoteEndpoint::stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  for (auto& c : clients_) {
    if (c->inbox.is_open()) {
      router_.remove_sink(c->config.name);
      // What the client did not get before the stop is counted, not silently gone.
      uint64_t left = (c->held_batch ? c->held_count : 0) + c->reader.unread();
      zmq::message_t m;
      while (c->inbox.receive(m, std::chrono::milliseconds(0))) left += count_received(m);
      c->counters->dropped_stopped.fetch_add(left, std::memory_order_relaxed);
      c->blocked = false;
      c->inbox.close();
    }
    c->publisher->close();
  }
  monitor_.reset();
  server_.close();
  zap_.reset();
}

void RemoteEndpoint::run() {
  std::vector<zmq::pollitem_t> items;
  items.push_back({server_.handle(), 0, ZMQ_POLLIN, 0});
  items.push_back({monitor_->socket().handle(), 0, ZMQ_POLLIN, 0});
  std::vector<Client*> polled;
  for (auto& c : clients_)
    if (c->inbox.is_open()) {
      c->inbox.add_poll_items(items);  // two each: critical, normal
      polled.push_back(c.get());
    }
  // Up to this many client messages are taken per poll: a poll per message (and libzmq's
  // getpid() fork check in each) was most of this thread's time under a stream. Counted in
  // bus messages, so a stream of batches does not starve the forwarding below (the
  // subscribers' queues would overflow while this thread only reads).
  constexpr std::size_t kBurst = 256;
  std::vector<zmq::message_t> frames;
  while (running_) {
    try {
      // A blocked client's inbox is not polled (it has messages, and would wake the loop at
      // once); its connection is tried again every millisecond instead.
      bool any_blocked = false;
      for (std::size_t i = 0; i < polled.size(); ++i) {
        const short events = polled[i]->blocked ? 0 : ZMQ_POLLIN;
        items[2 + 2 * i].events = items[3 + 2 * i].events = events;
        any_blocked |= polled[i]->blocked;
      }
      const int ready = zmq::poll(items.data(), items.size(), std::chrono::milliseconds(any_blocked ? 1 : 100));
      for (auto* c : polled)
        if (c->blocked) forward(*c);
      if (ready <= 0) continue;
      for (std::size_t k = 0; k < kBurst && (items[0].revents & ZMQ_POLLIN);) {
        frames.clear();
        do {
          frames.emplace_back();
          if (!receive(server_, frames.back(), zmq::recv_flags::dontwait)) {
            frames.pop_back();
            break;
          }
        } while (frames.back().more());
        if (frames.empty()) break;
        k += on_client_frames(frames);
      }
      if (items[1].revents & ZMQ_POLLIN) monitor_->on_event();
      for (std::size_t i = 0; i < polled.size(); ++i)
        if ((items[2 + 2 * i].revents | items[3 + 2 * i].revents) & ZMQ_POLLIN) forward(*polled[i]);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      log()->error("remote endpoint {}: {}", endpoint_, e.what());
    }
  }
}

std::size_t RemoteEndpoint::on_client_frames(std::vector<zmq::message_t>& frames) {
  if (frames.size() < 2) return 1;
  const std::string rid = frames[0].to_string();
  // Who sent it is what the ZAP handler said for its key, never anything the client wrote.
  const char* user = frames[1].gets("User-Id");
  Client* client = nullptr;
  for (auto& c : clients_)
    if (user && c->config.name == user) client = c.get();
  auto reply = [&](std::initializer_list<std::string> parts) {
    std::size_t i = 0;
    try {
      server_.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      for (const auto& p : parts)
        server_.send(zmq::buffer(p), ++i < parts.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                                         : zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // The peer left; nothing to tell it.
    }
  };
  if (!client) return 1;  // cannot happen with the ZAP handler in place; nothing is accepted without a name
  const std::string cmd = frames[1].to_string();
  if (cmd == "HELLO" && (frames.size() == 2 || (frames.size() == 3 && frames[2].to_string_view() == "batch"))) {
    client->routing_id = rid;
    client->batched = frames.size() == 3;
    if (client->blocked && client->held_batch && !client->batched) {
      // A client that no longer reads MSGS cannot take the held batch: counted, not sent.
      client->counters->dropped_incoming.fetch_add(client->held_count, std::memory_order_relaxed);
      log()->warn("remote client '{}' said HELLO without batch; {} held message(s) in a batch were dropped",
                  client->config.name, client->held_count);
      client->blocked = false;
      client->held_batch = false;
      client->held = zmq::message_t();
    }
    reply({"WELCOME", client->config.name});
  } else if (cmd == "PUB" && frames.size() == 4) {
    std::string why;
    const auto st = client->publisher->publish(frames[2].to_string_view(), frames[3].data<uint8_t>(), frames[3].size(), &why);
    if (st != CITYLINK_OK) reply({"ERR", why});
  } else if (cmd == "PUBS" && frames.size() == 3) {
    citylink::v1::EnvelopeBatch batch;
    if (!batch.ParseFromArray(frames[2].data(), static_cast<int>(frames[2].size()))) {
      client->counters->reject(RejectReason::malformed);
      reply({"ERR", "PUBS: the frame is not a citylink.v1.EnvelopeBatch; nothing in it was published"});
      return 1;
    }
    // Each message is published as if it came alone; one ERR says what was refused.
    std::size_t refused = 0;
    std::string first;
    for (const auto& item : batch.items()) {
      std::string why;
      const auto* bytes = reinterpret_cast<const uint8_t*>(item.envelope().data());
      if (client->publisher->publish(item.topic(), bytes, item.envelope().size(), &why) != CITYLINK_OK && !refused++)
        first = std::move(why);
    }
    if (refused)
      reply({"ERR", std::to_string(refused) + " of the " + std::to_string(batch.items_size()) +
                        " messages of the batch were refused; the first: " + first});
    return std::max<std::size_t>(1, batch.items_size());
  } else {
    client->counters->reject(RejectReason::malformed);
    reply({"ERR", "unknown frames: send [\"HELLO\"] (or [\"HELLO\", \"batch\"]), [\"PUB\", TOPIC, ENVELOPE] or "
                  "[\"PUBS\", BATCH] (docs/remote.md)"});
  }
  return 1;
}

void RemoteEndpoint::forward(Client& c) {
  if (c.held_batch) {
    if (!send_batch(c, c.held, c.held_count)) return;
    c.held_batch = false;
  }
  c.blocked = false;
  Received r;
  if (!c.batched) {
    while (c.reader.peek(r, std::chrono::milliseconds(0))) {
      if (!send_to(c, r)) {
        c.blocked = true;  // tried again at the next turn
        return;
      }
      c.reader.pop();
    }
    return;
  }
  // What is queued goes out in frames of up to kBatchItems messages or about kBatchBytes:
  // one ZeroMQ message and one CURVE box for each, not three per message.
  constexpr int kBatchItems = 256;
  constexpr std::size_t kBatchBytes = 256 << 10;
  citylink::v1::EnvelopeBatch batch;
  for (;;) {
    batch.Clear();
    std::size_t bytes = 0;
    // Each item is copied into the frame before the next peek, which may replace the buffer.
    while (batch.items_size() < kBatchItems && bytes < kBatchBytes && c.reader.peek(r, std::chrono::milliseconds(0))) {
      auto* item = batch.add_items();
      item->set_topic(r.topic.data(), r.topic.size());
      item->set_envelope(r.envelope, r.envelope_size);
      bytes += r.topic.size() + r.envelope_size;
      c.reader.pop();
    }
    if (batch.items_size() == 0) return;
    zmq::message_t frame(batch.ByteSizeLong());
    batch.SerializeWithCachedSizesToArray(frame.data<uint8_t>());
    const auto count = static_cast<uint64_t>(batch.items_size());
    if (!send_batch(c, frame, count)) {
      c.held = std::move(frame);
      c.held_count = count;
      c.held_batch = true;
      c.blocked = true;
      return;
    }
  }
}

bool RemoteEndpoint::send_batch(Client& c, zmq::message_t& frame, uint64_t count) {
  static constexpr char kMsgs[] = {'M', 'S', 'G', 'S'};
  if (c.routing_id.empty()) {
    c.counters->dropped_stopped.fetch_add(count, std::memory_order_relaxed);  // not connected
    return true;
  }
  try {
    if (!server_.send(zmq::buffer(c.routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    const bool ok = server_.send(zmq::const_buffer(kMsgs, sizeof kMsgs), zmq::send_flags::sndmore) &&
                    server_.send(zmq::const_buffer(frame.data(), frame.size()), zmq::send_flags::none);
    (ok ? c.counters->delivered : c.counters->dropped_incoming).fetch_add(count, std::memory_order_relaxed);
  } catch (const zmq::error_t&) {
    c.routing_id.clear();  // EHOSTUNREACH: the client is gone; it gets messages again after HELLO
    c.counters->dropped_stopped.fetch_add(count, std::memory_order_relaxed);
  }
  return true;
}

bool RemoteEndpoint::send_to(Client& c, const Received& message) {
  static constexpr char kMsg[] = {'M', 'S', 'G'};
  if (c.routing_id.empty()) {
    c.counters->dropped_stopped.fetch_add(1, std::memory_order_relaxed);  // not connected
    return true;
  }
  try {
    // With ROUTER_MANDATORY a full pipe refuses the first frame, so nothing went out: the
    // message is kept for the next try.
    if (!server_.send(zmq::buffer(c.routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    const bool ok = server_.send(zmq::const_buffer(kMsg, sizeof kMsg), zmq::send_flags::sndmore) &&
                    server_.send(zmq::const_buffer(message.topic.data(), message.topic.size()), zmq::send_flags::sndmore) &&
                    server_.send(zmq::const_buffer(message.envelope, message.envelope_size), zmq::send_flags::none);
    if (ok) c.counters->delivered.fetch_add(1, std::memory_order_relaxed);
    else c.counters->dropped_incoming.fetch_add(1, std::memory_order_relaxed);
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH: the client is gone (router_mandatory); it gets messages again after HELLO.
    c.routing_id.clear();
    c.counters->dropped_stopped.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

}  // namespace citylink::host
