// What a worker process asks of the host for its plugin: publish, a refused oversize publish,
// log, ack and nack. Served as from any untrusted peer, since a worker runs vendor code: a
// publish goes through the instance's own publisher (its grants, limits and envelope check),
// a line through PluginLog, an ack or nack to the instance's own durable queue only.
#pragma once

#include <citylink/host/instance_backend.hpp>
#include <citylink/host/plugin_log.hpp>
#include <citylink/host/router.hpp>
#include <citylink/worker/v1/worker.pb.h>

#include <functional>
#include <string_view>
#include <vector>

#include "../worker/batch_frames.hpp"

namespace citylink::host {

struct WorkerRequestTargets {
  std::string_view instance_id;
  Publisher& publisher;
  PluginLog& log;
  const DeliveryHooks& delivery;
  // While true, a publish refused with BACKPRESSURE is tried again instead of dropped (false
  // once the instance stops): the worker's pipe then fills, and the plugin's own publish in
  // the worker is refused, as in-process. Empty: never waits.
  std::function<bool()> keep_waiting;
  // Called between two tries of a publish that waits (about a millisecond): the supervisor
  // reads its worker's control channel meanwhile. Empty: sleeps a millisecond.
  std::function<void()> meanwhile;
  // A publish the host refused for another reason than backpressure (the plugin was already
  // told OK): passed on to the worker (HostToWorker.publish_refused). Empty: only counted.
  std::function<void(const std::string& topic, citylink_status status, const std::string& why)> refused;
};

// True when `message` was one of those requests (served, or refused and logged); false for
// the supervisor's own messages (hello, result, heartbeat) and anything this host does not know.
bool serve_worker_request(const citylink::worker::v1::WorkerToHost& message, const WorkerRequestTargets& to);

// A publish_batch read in place (batch_frames::read_publish_batch), served as
// serve_worker_request serves the same batch parsed.
void serve_publish_batch(const std::vector<batch_frames::Item>& publishes, const WorkerRequestTargets& to);

}  // namespace citylink::host
