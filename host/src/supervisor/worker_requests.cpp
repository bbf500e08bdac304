// A worker's requests, served like an in-process plugin's calls of its host table.
#include "worker_requests.hpp"

#include <citylink/host/logging.hpp>

#include <chrono>
#include <thread>

namespace citylink::host {

namespace wv1 = citylink::worker::v1;

namespace {

void serve_publish(std::string_view topic, std::string_view envelope, const WorkerRequestTargets& to) {
  // The same publisher, grants and router as an in-process instance: the worker adds nothing.
  // The worker told its plugin OK already, so a full queue, a durable subscriber that is
  // behind or a publish rate spent (a worker that went round its own check) is waited out
  // here rather than dropped, and counted only if the wait is given up: this worker's
  // data channel waits behind it (its control channel is read meanwhile).
  const auto* bytes = reinterpret_cast<const uint8_t*>(envelope.data());
  const auto size = envelope.size();
  std::string why;
  citylink_status st;
  while ((st = to.publisher.publish(topic, bytes, size, &why, Publisher::OnFull::keep)) ==
             CITYLINK_ERR_BACKPRESSURE &&
         to.keep_waiting && to.keep_waiting()) {
    if (to.meanwhile) to.meanwhile();
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (st == CITYLINK_ERR_BACKPRESSURE) st = to.publisher.publish(topic, bytes, size, &why);  // counted
  // Refused for good (counted and logged by the publisher): the plugin is told too.
  if (st != CITYLINK_OK && st != CITYLINK_ERR_BACKPRESSURE && to.refused) to.refused(std::string(topic), st, why);
}

}  // namespace

void serve_publish_batch(const std::vector<batch_frames::Item>& publishes, const WorkerRequestTargets& to) {
  for (const auto& p : publishes) serve_publish(p.topic, p.envelope, to);
}

bool serve_worker_request(const wv1::WorkerToHost& w, const WorkerRequestTargets& to) {
  switch (w.event_case()) {
    case wv1::WorkerToHost::kPublish:
      serve_publish(w.publish().topic(), w.publish().envelope(), to);
      return true;
    case wv1::WorkerToHost::kPublishBatch:
      for (const auto& p : w.publish_batch().publishes()) serve_publish(p.topic(), p.envelope(), to);
      return true;
    case wv1::WorkerToHost::kOversize:
      (void)to.publisher.refuse_oversize(w.oversize().topic(), w.oversize().bytes(), nullptr);
      return true;
    case wv1::WorkerToHost::kLog:
      to.log.write(w.log().level(), w.log().message());
      return true;
    case wv1::WorkerToHost::kAck:
      if (to.delivery.ack && to.delivery.ack(w.ack().delivery_tag()) != CITYLINK_OK)
        to.log.write(CITYLINK_LOG_WARN, "its worker acked delivery tag " + std::to_string(w.ack().delivery_tag()) +
                                            ", which was never handed to it");
      return true;
    case wv1::WorkerToHost::kNack:
      if (to.delivery.nack && to.delivery.nack(w.nack().delivery_tag(), w.nack().requeue()) != CITYLINK_OK)
        to.log.write(CITYLINK_LOG_WARN, "its worker nacked delivery tag " + std::to_string(w.nack().delivery_tag()) +
                                            ", which was never handed to it");
      return true;
    case wv1::WorkerToHost::kProgress:
      if (to.delivery.progress && to.delivery.progress(w.progress().delivery_tag()) != CITYLINK_OK)
        to.log.write(CITYLINK_LOG_WARN, "its worker reported progress on delivery tag " +
                                            std::to_string(w.progress().delivery_tag()) + ", which was never handed to it");
      return true;
    default:
      return false;
  }
}

}  // namespace citylink::host
