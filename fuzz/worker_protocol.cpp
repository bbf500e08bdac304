// The worker protocol from the host's side: bytes a worker process (vendor code) sends,
// parsed as a WorkerToHost and served by the host as it serves a real worker's requests:
// publishes through a real router with the instance's grants, log lines through PluginLog,
// acks and nacks to a real durable queue on a SQLite outbox.
#include <citylink/host/durable_queue.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/outbox.hpp>
#include <citylink/host/plugin_log.hpp>
#include <citylink/host/router.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <zmq.hpp>

#include "fuzz_target.hpp"
#include "supervisor/worker_requests.hpp"

namespace {

using namespace citylink::host;

// Built once: libFuzzer calls the target many times in one process, as one worker talks to one host.
struct World {
  zmq::context_t ctx;
  std::unique_ptr<Router> router;
  std::shared_ptr<Publisher> publisher;
  PluginLog plugin_log{"fuzzed-worker"};
  std::shared_ptr<DurableQueue> queue;
  DeliveryHooks delivery;
  World() {
    log()->set_level(spdlog::level::critical);
    router = std::make_unique<Router>(ctx);
    router->start();
    auto counters = std::make_shared<InstanceCounters>();
    publisher = router->add_publisher("fuzzed-worker", {"sensor.*", "incident.112"}, counters);
    publisher->open();
    const auto dir = std::filesystem::temp_directory_path() / ("citylink-fuzz-worker-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    static std::filesystem::path made;
    made = dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(made, ec);
    });
    auto outbox = std::make_shared<Outbox>(OutboxOptions{dir / "outbox.db"});
    queue = std::make_shared<DurableQueue>(outbox, "fuzzed-worker", std::vector<std::string>{"incident.112"},
                                           DurableSettings{}, counters);
    delivery.ack = [q = queue](uint64_t tag) { return q->ack(tag); };
    delivery.nack = [q = queue](uint64_t tag, bool requeue) { return q->nack(tag, requeue); };
  }
};

World& world() {
  // Destroyed at exit, before the logger and the other statics it uses (it made them first):
  // a leaked World left the router's thread running through static destruction, where it
  // read the freed logger (a heap-use-after-free in CI's ASan run, about one run in ten).
  static World w;
  return w;
}

}  // namespace

CITYLINK_FUZZ_TARGET(worker_protocol) {
  auto& w = world();
  citylink::worker::v1::WorkerToHost message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;  // the backend skips these too
  (void)serve_worker_request(message, WorkerRequestTargets{"fuzzed-worker", *w.publisher, w.plugin_log, w.delivery, {}, {}});
  return 0;
}
