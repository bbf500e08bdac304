// A receiving end of the bus (a plugin instance, the scenario engine, a remote client, the
// router's own intake): a critical and a normal queue, served critical first, so no volume
// of telemetry can delay or drop an emergency message (issue 8, "emergency traffic first").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

namespace citylink::host {

// Bytes waiting in a pair of queues. The sending side adds a message's size before it sends
// and checks the sum against the byte bound; the receiving side subtracts on receipt. ZeroMQ
// bounds a queue in messages only, and 10,000 messages of 1 MiB is 10 GiB.
//
// `critical_messages` counts messages a sender put into the critical queue and the receiver
// has not taken yet. A ZeroMQ receive that finds its queue empty costs a poll(2) system
// call; the critical queue is almost always empty, so the receiver reads it only while this
// count is positive (and every Inbox::kCriticalSweep receives, for a sender that did not
// count). Without it, every message paid that system call twice over (router and
// subscriber), and the bus ran at a quarter of its speed.
//
// `normal_packets` counts the messages waiting in the normal queue: the router sends them in
// batches, and ZeroMQ's high-water mark counts batches, so the router bounds the queue in
// messages (host.queue_depth) against this count.
struct QueueBytes {
  std::atomic<int64_t> critical{0};
  std::atomic<int64_t> normal{0};
  std::atomic<int64_t> critical_messages{0};
  std::atomic<int64_t> normal_packets{0};
  std::atomic<int64_t>& of(bool is_critical) { return is_critical ? critical : normal; }
  // The sender's side of `critical_messages`: count before the send, uncount a failed one.
  void critical_sending() { critical_messages.fetch_add(1, std::memory_order_release); }
  void critical_not_sent() { critical_messages.fetch_sub(1, std::memory_order_release); }
};

// One message as it arrived in an inbox: views into the received buffer, valid while the
// buffer lives. The frame layout itself is the bus's own (bus/packet.hpp).
struct Received {
  std::string_view topic;  // NUL-terminated in the buffer
  const uint8_t* envelope = nullptr;
  std::size_t envelope_size = 0;
};
// The router hands an inbox its messages in batches: one ZeroMQ message holds one or more.
// Appends the batch's messages to `out`; false for a buffer that is not a whole batch (never
// one the router sent), with what could be read appended.
bool read_received(const zmq::message_t& batch, std::vector<Received>& out);
// How many messages a batch holds (0 for a wake-up).
std::size_t count_received(const zmq::message_t& batch);

// Ends an inbox's receive() wait early, from any thread: a stop, a change to apply, an ack
// that opens a window. Without it a waiting thread sees such news only at its timeout, and
// 100 instances stopped one after another waited 100 timeouts. It sends an empty message,
// which the inbox swallows; a wake after close() is a no-op.
class InboxWaker {
 public:
  InboxWaker(zmq::context_t& ctx, const std::string& endpoint);
  void wake();
  void close();

 private:
  std::mutex mu_;
  zmq::socket_t socket_;
};

class Inbox {
 public:
  static constexpr const char* kCriticalSuffix = "/critical";
  // The critical queue is read at least once per this many receives, counted or not.
  static constexpr int kCriticalSweep = 64;

  Inbox() = default;
  // Binds `endpoint` (normal traffic) and `endpoint` + kCriticalSuffix, each holding up to
  // `queue_depth` messages.
  Inbox(zmq::context_t& ctx, std::string endpoint, int queue_depth);

  bool is_open() const { return normal_.handle() != nullptr; }
  const std::string& endpoint() const { return endpoint_; }
  std::string critical_endpoint() const { return endpoint_ + kCriticalSuffix; }
  // Shared with the sender, which checks the byte bound against it.
  const std::shared_ptr<QueueBytes>& bytes() const { return bytes_; }

  // The next message, critical first. Waits up to `timeout` for one (zero: only what is
  // already queued). False when none came. A signal (EINTR) never ends the wait with an
  // exception; other ZeroMQ errors are thrown.
  // A wake-up (InboxWaker) ends the wait with false; it never hides a queued message.
  bool receive(zmq::message_t& message, std::chrono::milliseconds timeout);
  // A waker for this inbox's receive(); the inbox must be open.
  std::shared_ptr<InboxWaker> waker() { return std::make_shared<InboxWaker>(*ctx_, endpoint_); }
  // For a loop that waits on several sockets: appends this inbox's two (critical first).
  void add_poll_items(std::vector<zmq::pollitem_t>& items);
  // Whether the message last received came from the critical queue.
  bool last_was_critical() const { return last_critical_; }
  // The next message of the critical queue only, without waiting; false when it is empty.
  bool receive_critical(zmq::message_t& message) { return take(critical_, true, message); }

  void close();

 private:
  bool take(zmq::socket_t& socket, bool critical, zmq::message_t& message);
  // take() from either queue, critical first; wake-ups are swallowed and reported in `woken`.
  bool take_any(bool look_critical, zmq::message_t& message, bool& woken);

  zmq::context_t* ctx_ = nullptr;
  std::string endpoint_;
  zmq::socket_t critical_;
  zmq::socket_t normal_;
  std::shared_ptr<QueueBytes> bytes_ = std::make_shared<QueueBytes>();
  bool last_critical_ = false;
  int since_sweep_ = 0;
};

// Reads an inbox one message at a time across the router's batches, for a reader that
// takes them singly (the engine, a script's client, a remote client, a test). Critical
// first, also in the middle of a normal batch already taken.
class InboxReader {
 public:
  explicit InboxReader(Inbox& inbox) : inbox_(&inbox) {}
  // The next message, taken. Its views are valid until the next call. False when none came
  // within `timeout`.
  bool next(Received& out, std::chrono::milliseconds timeout);
  // The next message, not taken: peek() shows it again until pop() takes it (a reader that
  // may fail to pass it on). Views as for next().
  bool peek(Received& out, std::chrono::milliseconds timeout);
  void pop();
  // Messages already taken from the inbox and not yet read.
  std::size_t unread() const { return critical_.left() + normal_.left(); }

 private:
  struct Batch {
    zmq::message_t message;
    std::vector<Received> items;
    std::size_t at = 0;
    std::size_t left() const { return items.size() - at; }
    void fill();  // reads `message` into `items`
  };
  Inbox* inbox_;
  Batch critical_;
  Batch normal_;
  bool peeked_critical_ = false;
};

}  // namespace citylink::host
