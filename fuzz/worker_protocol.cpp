// The worker protocol from the host's side: bytes a worker process (vendor code) sends,
// parsed as a WorkerToHost and served by the host as it serves a real worker's requests:
// publishes through a real router with the instance's grants, log lines through PluginLog,
// acks and nacks to a real durable queue on a SQLite outbox. A publish batch is read in place,
// as the backend reads it, and both directions' batch frames are checked against the
// generated parser.
#include <citylink/host/durable_queue.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/outbox.hpp>
#include <citylink/host/plugin_log.hpp>
#include <citylink/host/router.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>
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

// What the in-place reader accepts, the generated parser reads the same (the reverse need not
// hold: what the reader leaves, the generated parser reads).
void disagree(const char* what) {
  std::fprintf(stderr, "batch_frames and the generated parser disagree: %s\n", what);
  std::abort();
}

template <class Parsed>
void expect_same(const std::vector<batch_frames::Item>& items, const Parsed& parsed) {
  if (static_cast<std::size_t>(parsed.size()) != items.size()) disagree("the number of items");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& p = parsed[static_cast<int>(i)];
    if (items[i].topic != p.topic() || items[i].envelope != p.envelope()) disagree("an item's topic or envelope");
    if constexpr (std::is_same_v<std::decay_t<decltype(p)>, citylink::worker::v1::Deliver>)
      if (items[i].delivery_tag != p.delivery_tag() || items[i].redelivery_count != p.redelivery_count())
        disagree("an item's delivery tag or count");
  }
}

// The same bytes as the host's frame to a worker, read as the worker reads them.
void check_deliver_batch(const uint8_t* data, std::size_t size) {
  std::vector<batch_frames::Item> items;
  uint64_t seq = 0;
  if (!batch_frames::read_deliver_batch(data, size, seq, items)) return;
  citylink::worker::v1::HostToWorker m;
  if (!m.ParseFromArray(data, static_cast<int>(size)) || !m.has_deliver_batch()) disagree("a deliver batch's validity");
  if (m.seq() != seq) disagree("the seq");
  expect_same(items, m.deliver_batch().deliveries());
}

}  // namespace

CITYLINK_FUZZ_TARGET(worker_protocol) {
  auto& w = world();
  const WorkerRequestTargets to{"fuzzed-worker", *w.publisher, w.plugin_log, w.delivery, {}, {}, {}};
  check_deliver_batch(data, size);
  citylink::worker::v1::WorkerToHost message;
  const bool parsed = message.ParseFromArray(data, static_cast<int>(size));
  // As the backend reads a frame: a publish batch in place, anything else parsed.
  std::vector<batch_frames::Item> publishes;
  if (batch_frames::read_publish_batch(data, size, publishes)) {
    if (!parsed || !message.has_publish_batch()) disagree("a publish batch's validity");
    expect_same(publishes, message.publish_batch().publishes());
    serve_publish_batch(publishes, to);
    return 0;
  }
  if (!parsed) return 0;  // the backend skips these too
  (void)serve_worker_request(message, to);
  return 0;
}
