// An instance whose plugin runs in a `citylink worker` process (isolation: process), with
// the supervisor that restarts it: its own crash domain, heartbeat, back-off, restart limit.
#pragma once

#include <citylink/host/instance_backend.hpp>

#include <memory>
#include <string>
#include <zmq.hpp>

namespace citylink::host {

class Publisher;

// Starts the worker, waits for its Hello and creates the plugin instance in it. Throws
// InstanceError naming the instance and what went wrong (the plugin's own create message,
// a worker that did not start, a protocol it does not speak).
std::unique_ptr<InstanceBackend> make_worker_backend(WorkerSettings settings, std::string instance_id,
                                                     std::string config_json, std::shared_ptr<Publisher> publisher,
                                                     std::shared_ptr<InstanceCounters> counters,
                                                     DeliveryHooks delivery, zmq::context_t& ctx);

// The pid of the worker process serving a backend made above, or 0 (not a worker, or
// between restarts). For tests and the status table.
int worker_pid(const InstanceBackend& backend);

}  // namespace citylink::host
