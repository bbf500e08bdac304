// One live plugin instance: its grants, its publisher, its queue and dispatch thread, its
// lifecycle. Where its code runs (this process or a worker) is its InstanceBackend's.
#pragma once

#include <citylink/abi.h>
#include <citylink/host/counters.hpp>
#include <citylink/host/durable_queue.hpp>
#include <citylink/host/inbox.hpp>
#include <citylink/host/instance_backend.hpp>
#include <citylink/host/plugin_library.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace citylink::host {

class Router;
class Publisher;

enum class InstanceState { created, running, stopped, failed };
const char* to_string(InstanceState s);

struct InstanceOptions {
  std::string instance_id;                  // unique in the city
  std::string plugin_id;                    // descriptor id inside the library
  std::string config_json = "{}";
  // Deny by default: the instance may publish and subscribe exactly what is granted here.
  std::vector<std::string> publish_grants;
  std::vector<std::string> subscriptions;
  // `grants: requested`: grant the descriptor's request instead, minus what the host
  // keeps (engine namespaces; recipient-addressed topics without a recipient).
  bool grants_requested = false;
  std::string recipient;                    // receives grant/dispatch/audit outputs addressed to it
  int queue_depth = 0;                      // incoming queue size; 0: the host's queue_depth
  // Telemetry messages a second it may publish (critical topics are never limited); in a
  // worker, refused there first. PublishRate::kUnlimited: no limit.
  uint32_t publish_rate = PublishRate::kUnlimited;
  // `isolation: process`: the plugin runs in a `citylink worker` process with these settings.
  bool isolated = false;
  WorkerSettings worker;
  WatchdogSettings watchdog;  // in-process only
  // `durable:`: the subscriptions it names (all, by default) go through `outbox`.
  std::optional<DurableSettings> durable;
  std::shared_ptr<Outbox> outbox;
};

class PluginInstance {
 public:
  // Calls the library's create and subscribes the instance's queue (delivery starts with
  // start). Throws InstanceError with the plugin's own message on failure.
  PluginInstance(std::shared_ptr<PluginLibrary> library, InstanceOptions options, Router& router,
                 zmq::context_t& ctx);
  // An instance of code the host does not load (a Python plugin): its descriptor came from
  // the worker's scanner, and it runs only in a worker process (options.isolated).
  PluginInstance(PluginDescriptor descriptor, InstanceOptions options, Router& router, zmq::context_t& ctx);
  // Stops (if running) and destroys the plugin instance; the library may unload afterwards.
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // Connects the instance to the bus and calls its start. Throws InstanceError on failure.
  void start();
  // Stops deliveries, drains this instance's queue, calls its stop, closes its publisher.
  void stop();

  const std::string& id() const { return options_.instance_id; }
  const std::string& plugin_id() const { return options_.plugin_id; }
  const PluginDescriptor& descriptor() const { return *descriptor_; }
  const std::shared_ptr<PluginLibrary>& library() const { return library_; }
  const std::vector<std::string>& publish_grants() const { return grants_; }
  const std::vector<std::string>& subscriptions() const { return subscriptions_; }
  const std::string& recipient() const { return options_.recipient; }
  InstanceState state() const;
  std::string where() const;  // "in-process", "worker pid 1234"
  const InstanceBackend* backend() const { return backend_.get(); }
  const std::string& last_error() const { return last_error_; }
  std::shared_ptr<InstanceCounters> counters() const { return counters_; }

 private:
  void init(const std::string& who);  // the constructors' common part, once descriptor_ is set
  void dispatch_loop();
  bool wait_for_dispatcher();
  void resolve_grants();
  void attach_inbox();
  void detach_inbox();
  std::size_t take(zmq::message_t& batch);
  void take_waiting(zmq::message_t& first);
  void deliver_durable();
  void drain_durable();

  std::shared_ptr<PluginLibrary> library_;
  InstanceOptions options_;
  std::unique_ptr<PluginDescriptor> own_descriptor_;  // when there is no library to hold it
  const PluginDescriptor* descriptor_ = nullptr;
  Router& router_;
  zmq::context_t& ctx_;
  std::vector<std::string> grants_;
  std::vector<std::string> subscriptions_;
  std::shared_ptr<InstanceCounters> counters_;
  std::shared_ptr<Publisher> publisher_;
  std::shared_ptr<DurableQueue> durable_;  // before backend_: the backend's hooks point at it
  std::shared_ptr<InboxWaker> waker_;  // wakes the dispatch thread: at a stop, and when acks open the durable window
  std::unique_ptr<InstanceBackend> backend_;
  std::atomic<InstanceState> state_{InstanceState::created};
  std::string last_error_;
  std::string endpoint_;
  Inbox inbox_;
  std::vector<zmq::message_t> held_;        // the dispatch thread's batch (take_waiting)
  std::vector<Received> held_items_;       // ... the messages in it
  std::vector<Delivery> held_deliveries_;  // ... and what it hands over
  std::thread dispatcher_;
  std::mutex dispatch_mu_;
  std::condition_variable dispatch_cv_;
  bool dispatch_done_ = false;  // the dispatch thread has left its loop
  std::atomic<bool> dispatching_{false};
  int queue_depth_ = 0;
};

}  // namespace citylink::host
