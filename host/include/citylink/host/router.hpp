// The bus router: one thread that validates, stamps, counts and forwards every message.
//
// Publishers (plugin instances, from any thread) leave packets in a mailbox each and ring
// the router over a ZeroMQ inproc PUSH socket when the mailbox was empty; the router takes
// a mailbox's packets whole, checks each message (size, parsable
// envelope, topic syntax, topic inside the publisher's grants, engine-only namespaces),
// stamps id/source/time, and pushes it without blocking, in a batch per burst, to every
// sink whose subscription matches segment-wise (and, for recipient-addressed topics, whose bound recipient is the
// envelope's). A full sink queue drops and counts; nothing a subscriber does can stall the
// router. Critical topics (incidents, dispatches, grants by default) travel in queues of
// their own at every hop, publisher to router to subscriber, and are served first, so no
// volume of telemetry can delay or drop them; a critical message dropped anyway is an alarm
// that names it.
#pragma once

#include <citylink/abi.h>
#include <citylink/host/counters.hpp>
#include <citylink/host/inbox.hpp>
#include <citylink/host/publish_rate.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace citylink::host {

struct RouterOptions {
  std::size_t max_message_bytes = 1 << 20;  // envelope bytes; larger is rejected as oversize
  int queue_depth = 10000;                  // the bound of every queue, in messages
  std::size_t queue_bytes = 64u << 20;      // and the bound of every queue in bytes
  std::string origin;                       // stamped as Envelope.origin: the host/city that first accepted it
  // Topics in the critical class (grant patterns: "incident.*"); everything else is normal.
  std::vector<std::string> critical_topics = default_critical_topics();
  static std::vector<std::string> default_critical_topics() { return {"incident.*", "dispatch.*", "grant.*"}; }
  bool is_critical(std::string_view topic) const;
};

// Refuses publishes that a store downstream cannot take now: the publisher gets an error
// instead of a message lost later (the outbox while its disk is full: UNAVAILABLE; a durable
// subscriber's queue that is behind: BACKPRESSURE).
struct Mailbox;
namespace packet {
struct View;
}

class AdmissionGate {
 public:
  virtual ~AdmissionGate() = default;
  // Any thread, every publish: must be cheap while nothing is wrong. CITYLINK_OK admits;
  // any other status refuses, with `why` filled.
  virtual citylink_status admit(std::string_view topic, std::string* why) const = 0;
};

// A publisher's handle. publish() is safe from any thread and never blocks.
class Publisher {
 public:
  // `endpoint` is the router's intake (an Inbox), where the doorbells go; `boxes` are this
  // publisher's mailboxes (normal, critical), shared with the router; `intake` is the
  // intake's byte gauge, which counts critical doorbells.
  Publisher(zmq::context_t& ctx, const std::string& endpoint, uint32_t slot, std::string source,
            std::shared_ptr<InstanceCounters> counters, const RouterOptions& opts,
            std::array<std::shared_ptr<Mailbox>, 2> boxes, std::shared_ptr<QueueBytes> intake,
            std::shared_ptr<const AdmissionGate> gate = nullptr);
  ~Publisher();

  // What a refusal for now (a full queue, the publish rate spent, a durable subscriber
  // behind) means to the caller: the message is dropped (counted, and a critical one
  // alarmed), or the caller keeps it to publish again later (nothing counted).
  enum class OnFull { drop, keep };
  // Queues one envelope for the router. See citylink_host_api::publish for the statuses.
  citylink_status publish(std::string_view topic, const uint8_t* envelope, std::size_t size, std::string* why,
                          OnFull on_full = OnFull::drop);
  // Counts and logs a publish of `size` bytes that was too large, and says why in `why`. A
  // worker refuses those itself, so the bytes never cross the pipe, and reports them here.
  citylink_status refuse_oversize(std::string_view topic, std::size_t size, std::string* why);
  // The most normal-class (telemetry) messages a second this publisher may send, from now on
  // (`publish_rate`); PublishRate::kUnlimited, the default, lifts it. Critical topics are never
  // limited. Over it, publish() waits up to `max_wait` for its turn, then refuses with
  // CITYLINK_ERR_BACKPRESSURE, counted as refused_rate. A publisher called from a thread that
  // serves others too (the remote endpoint's) passes 0: refused at once, never paced there.
  void limit_rate(uint32_t per_second, std::chrono::microseconds max_wait = PublishRate::kMaxWait) {
    rate_wait_ = max_wait;
    rate_.set(per_second);
  }
  uint32_t rate_limit() const { return rate_.per_second(); }

  void open();   // publish() works from now on
  void close();  // publish() fails with CITYLINK_ERR_STATE from now on; closes the socket; drops what is held

  // Start is all or nothing: while held, publish() keeps messages back (up to the queue
  // depth) instead of sending them, so an instance whose start fails has published nothing.
  void open_held();
  void release();  // sends what was held, then publishes normally

  const std::string& source() const { return source_; }

 private:
  // Under mu_: puts a packet of `n` bytes, written by `write`, into the mailbox of its class.
  template <class Write>
  bool send(std::size_t n, bool critical, std::string* why, Write&& write);
  void ring(bool critical);
  citylink_status refuse_rate(std::string_view topic, std::string* why);

  std::mutex mu_;
  zmq::socket_t socket_;
  zmq::socket_t critical_;  // the router's critical intake
  std::array<std::shared_ptr<Mailbox>, 2> boxes_;  // [critical]; shared with the router, which takes them
  std::shared_ptr<QueueBytes> intake_;
  std::shared_ptr<const AdmissionGate> gate_;
  RouterOptions opts_;
  bool open_ = false;
  bool held_ = false;
  std::vector<std::string> held_messages_;  // packets
  std::size_t held_bytes_ = 0;  // held during start, bounded by queue_bytes like any queue
  std::size_t hold_limit_;
  uint32_t slot_;
  std::string source_;
  std::shared_ptr<InstanceCounters> counters_;
  std::size_t max_bytes_;
  std::size_t room_;  // stamp room each packet reserves for the router
  PublishRate rate_;
  std::chrono::microseconds rate_wait_ = PublishRate::kMaxWait;  // set before open(), read by publish()
};

// Where the router delivers messages for one subscriber.
struct SinkSpec {
  std::string name;                        // the subscriber (instance id)
  std::vector<std::string> prefixes;       // topic prefixes it subscribes to
  std::string endpoint;                    // inproc endpoint its PULL socket is bound to
  std::shared_ptr<InstanceCounters> counters;
  bool receive_own = false;                // deliver messages this subscriber published itself
  int queue_depth = 0;                     // high-water mark toward this sink; 0: the router's
  // The recipient this subscriber is bound to. Recipient-addressed topics (grant.*,
  // dispatch.*, audit.*) reach it only when the envelope's recipient equals this exactly.
  std::string recipient;
  // Where critical topics go (an Inbox's critical_endpoint()) and the byte gauge the router
  // checks before each send (its bytes()). Empty/null: one queue, bounded in messages only.
  std::string critical_endpoint;
  std::shared_ptr<QueueBytes> bytes;
  // A durable subscriber: never dropped at host.queue_bytes. The outbox's gate refuses its
  // publishers past half of it instead, so its queue holds at most that plus what the
  // publishers' own bounded queues had already sent (docs/delivery.md §1).
  bool durable = false;
};

// What a publisher may do beyond its grants.
// engine: may publish the engine-only topics. peer_host: another CityLink host, whose
// forwarded envelopes keep their id, origin and time (trusted ingress, docs/remote.md §4.1).
enum class PublisherRole { plugin, engine, peer_host };

class Router {
 public:
  struct Sink;  // defined with the router (router.cpp)
  Router(zmq::context_t& ctx, RouterOptions opts = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void start();
  // Forwards everything already queued, then stops the thread.
  void stop();

  // Registers a publisher with its grants; the returned handle starts closed.
  // `peer_origins` (peer_host only): the origins its forwarded envelopes may carry.
  std::shared_ptr<Publisher> add_publisher(const std::string& source, std::vector<std::string> grants,
                                           std::shared_ptr<InstanceCounters> counters,
                                           PublisherRole role = PublisherRole::plugin,
                                           std::vector<std::string> peer_origins = {});
  // Adds a sink; takes effect before the next message is routed. With the router running it
  // waits until the router made the sink's sockets, and returns false with `why` when that
  // failed: the sink is left out, the router runs on, and the caller must not count on it.
  bool add_sink(SinkSpec sink, std::string* why = nullptr);
  // Removes a sink; when it returns the router sends nothing more to it.
  void remove_sink(const std::string& name);
  // Routes what the publishers have already sent before it returns (up to 100,000 doorbells,
  // each a publisher's burst, when more keeps coming): what a stopping instance sent reaches its subscribers before
  // they are removed. Returns at once when the router is not running.
  void flush();

  // Sees every message the router accepted, stamped, before it is forwarded: the host's
  // own window on the bus (privacy checks, a live event stream), never a plugin's. Runs on
  // the router thread, so it must be quick. Set it before start().
  using Observer = std::function<void(std::string_view topic, const uint8_t* envelope, std::size_t size)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  // Every publisher added from now on asks this gate first (the host's outbox).
  void set_admission_gate(std::shared_ptr<const AdmissionGate> gate) { gate_ = std::move(gate); }

  const RouterOptions& options() const { return opts_; }
  uint64_t routed() const { return routed_.load(std::memory_order_relaxed); }
  // Recipient-addressed messages that found no instance bound to their recipient.
  uint64_t undeliverable() const { return undeliverable_.load(std::memory_order_relaxed); }
  // Critical messages dropped at a full subscriber queue: every one is also logged by name.
  uint64_t critical_dropped() const { return critical_dropped_.load(std::memory_order_relaxed); }
  // Unique prefix of this router's inproc endpoints.
  const std::string& endpoint_prefix() const { return prefix_; }

 private:
  struct Slot;
  struct Change;
  void run();
  void apply_changes();
  void apply_change(Change& c);  // one sink added or removed; under mu_
  struct Work;
  // A doorbell from the intake: takes that publisher's mailbox of the class it came in.
  void handle(const zmq::message_t& doorbell, bool critical);
  void drain(Slot& slot, bool critical);
  void sweep();  // takes every mailbox with packets (a doorbell lost, a flush, a stop)
  void serve_critical();
  // One packet (bus/packet.hpp) of the mailbox being drained.
  void route(Slot& slot, void* packet, std::size_t n, bool critical);
  void route_safely(Slot& slot, void* packet, std::size_t n, bool critical);
  void deliver(Sink& sink, const packet::View& stamped, bool critical, const std::string& id,
               const std::string& correlation_id);
  void send_alone(Sink& sink, const packet::View& stamped, bool critical, const std::string& id,
                  const std::string& correlation_id);
  void flush_sink(Sink& sink);
  void flush_sinks();
  void settle_counts();
  void decide(Slot& slot, std::string_view topic);
  void adopt_slots();
  void reject(Slot& slot, RejectReason reason, std::string_view topic, const std::string& detail);
  const std::string& next_id();

  zmq::context_t& ctx_;
  RouterOptions opts_;
  std::string prefix_;
  std::string intake_endpoint_;
  Inbox intake_;
  std::shared_ptr<InboxWaker> waker_;  // ends the intake wait for a stop or a sink removal someone waits on
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> routed_{0};
  std::atomic<uint64_t> undeliverable_{0};
  std::atomic<uint64_t> critical_dropped_{0};
  Observer observer_;
  std::shared_ptr<const AdmissionGate> gate_;

  // Changes made by other threads, applied by the router thread between messages.
  std::mutex mu_;
  std::condition_variable applied_cv_;
  std::atomic<bool> dirty_{false};
  uint64_t generation_requested_ = 0;
  uint64_t generation_applied_ = 0;
  std::atomic<bool> flush_wanted_{false};
  uint64_t flush_requested_ = 0;  // under mu_
  uint64_t flush_done_ = 0;       // under mu_
  std::vector<std::shared_ptr<Slot>> slots_pending_;
  std::vector<Change> changes_;
  std::map<std::string, std::string> sink_errors_;  // under mu_: why a sink could not be added

  // Owned by the router thread.
  std::vector<std::shared_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::string id_prefix_;
  uint64_t id_seq_ = 0;
  std::string id_;
  std::unique_ptr<Work> work_;
};


}  // namespace citylink::host
