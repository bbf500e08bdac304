// Side-by-side throughput: raw libzmq inproc PUSH/PULL against CityLink's plugin -> router ->
// plugin path, 200-byte payloads, in one process and one run. Prints both and their ratio.
// With `isolated`, also both plugins in worker processes (isolation: process) against raw
// libzmq over ipc, the transport a worker adds. With `api`, instead the same CityLink path
// with the management API on, 10 live event streams open and a client reading the instance
// and grant lists every 100 ms, against the same city without the API (issue 11's target:
// at least 95 %).
//
//   build/bench/citylink_bench_throughput [MESSAGES] [PAYLOAD_BYTES] [ROUNDS] [isolated|api]
#include <citylink/platform/platform.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/management_server.hpp>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>

using Clock = std::chrono::steady_clock;

namespace {

constexpr int kQueueDepth = 10000;  // the host default, used for both sides

double raw_zmq(long n, std::size_t bytes, const std::string& endpoint = "inproc://bench-raw") {
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::rcvhwm, kQueueDepth);
  pull.bind(endpoint);
  const auto t0 = Clock::now();
  std::thread producer([&] {
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::sndhwm, kQueueDepth);
    push.connect(endpoint);
    const std::string payload(bytes, 'p');
    for (long i = 0; i < n; ++i) push.send(zmq::buffer(payload), zmq::send_flags::none);
  });
  zmq::message_t m;
  for (long i = 0; i < n; ++i) (void)pull.recv(m);
  const auto t1 = Clock::now();
  producer.join();
  return n / std::chrono::duration<double>(t1 - t0).count();
}

const std::string kToken = "bench-viewer-token-0123456789";

// The operator's load on the API while the city routes: `streams` open event streams, and
// one client reading the instance and grant lists every 100 ms, until stop().
class ApiClients {
 public:
  ApiClients(int port, int streams) {
    const httplib::Headers auth = {{"Authorization", "Bearer " + kToken}};
    for (int i = 0; i < streams; ++i)
      threads_.emplace_back([this, port, auth] {
        httplib::Client c("127.0.0.1", port);
        c.Get("/api/events", auth, [&](const char*, size_t) { return !stop_.load(); });
      });
    threads_.emplace_back([this, port, auth] {
      httplib::Client c("127.0.0.1", port);
      while (!stop_.load()) {
        c.Get("/api/instances", auth);
        c.Get("/api/grants", auth);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  void stop() { stop_ = true; }  // the host's stop ends the streams
  ~ApiClients() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

double citylink_path(long n, std::size_t bytes, bool isolated = false, int api_streams = -1) {
  using namespace citylink::host;
  const std::string isolation = std::string("    isolation: ") + (isolated ? "process" : "none") + "\n";
  // The API comparison runs both sides with the scenario engine, so only the API differs.
  const std::string api =
      api_streams < 0 ? "}\n"
      : api_streams == 0 ? "}\nscenarios: {emergency_video_112: {}}\n"
                         : ", http: {listen: 127.0.0.1:0, max_event_clients: " + std::to_string(api_streams + 2) +
                               ", tokens: [{name: bench, role: viewer, token_sha256: " +
                               keys::sha256_hex(kToken.data(), kToken.size()) +
                               "}]}}\nscenarios: {emergency_video_112: {}}\n";
  const std::string yaml = "city: bench\nhost: {log_level: warn, publish_rate: unlimited, queue_depth: " + std::to_string(kQueueDepth) +
                           api + "plugin_dirs: [" CITYLINK_BENCH_PLUGIN_DIR "]\nplugins:\n"
                           "  - instance: counter\n    file: bench_plugins.so\n    plugin: kr.citylink.bench.counter\n"
                           "    grants: requested\n" + isolation +
                           "  - instance: publisher\n    file: bench_plugins.so\n    plugin: kr.citylink.bench.publisher\n"
                           "    grants: requested\n" + isolation +
                           "    config: {count: " + std::to_string(n) + ", payload_bytes: " + std::to_string(bytes) + "}\n";
  Host host(citylink::platform::parse_city_config(yaml, "bench.yaml", "."));
  citylink::platform::add_scenario_engine(host);
  host.set_worker_command({CITYLINK_BENCH_CITYLINK_BIN, "worker"});
  // Load the library outside the timed span so both sides time only message flow.
  host.registry().library(std::string(CITYLINK_BENCH_PLUGIN_DIR) + "/bench_plugins.so");
  host.start();
  // The timed span starts once the host has started: starting is not message flow (an
  // isolated plugin's start spawns its worker, some 35 ms; the footprint benchmark times
  // starts). What was delivered while the host started is left out of the count as well.
  const auto t0 = Clock::now();
  std::unique_ptr<ApiClients> clients;
  if (api_streams > 0 && host.management()) clients = std::make_unique<ApiClients>(host.management()->port(), api_streams);
  PluginInstance* counter = host.registry().instance("counter");
  if (!counter) throw std::runtime_error("the bench city has no running 'counter' instance");
  auto counters = counter->counters();
  const auto delivered = [&] { return counters->delivered.load(std::memory_order_relaxed); };
  // An isolated counter's deliveries arrive with its worker's heartbeats (every 64): the count
  // at the start may lag by that many, against a run of hundreds of thousands.
  const uint64_t before = delivered();
  while (delivered() + counters->dropped_incoming.load() + counters->lost_in_worker.load() < static_cast<uint64_t>(n))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  const auto t1 = Clock::now();
  // What a worker lost would show here too (none is expected: nothing crashes in this run).
  const auto dropped = counters->dropped_incoming.load() + counters->lost_in_worker.load();
  const uint64_t during = delivered() - before;
  if (clients) clients->stop();
  host.stop();
  clients.reset();
  if (dropped) std::fprintf(stderr, "note: %llu messages dropped at the subscriber queue\n", (unsigned long long)dropped);
  return static_cast<double>(during) / std::chrono::duration<double>(t1 - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::stol(argv[1]) : 1'000'000;
  const std::size_t bytes = argc > 2 ? std::stoul(argv[2]) : 200;
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 5;
  citylink::host::set_log_level("warn");
  const bool isolated = argc > 4 && std::string(argv[4]) == "isolated";
  if (argc > 4 && std::string(argv[4]) == "api") {
    constexpr int kStreams = 10;
    std::vector<double> plain, with_api;
    for (int r = 0; r < rounds; ++r) {
      plain.push_back(citylink_path(n, bytes, false, 0));
      with_api.push_back(citylink_path(n, bytes, false, kStreams));
      std::printf("round %d: without the API %.0f msg/s, with it %.0f msg/s\n", r + 1, plain.back(), with_api.back());
    }
    const double p = median(plain), a = median(with_api);
    std::printf("\nmessages %ld x %zu-byte payload, %d rounds, medians:\n", n, bytes, rounds);
    std::printf("  routing without the management API   %12.0f msg/s\n", p);
    std::printf("  routing with the API, %d streams     %12.0f msg/s\n", kStreams, a);
    std::printf("  ratio with / without                 %12.1f %%\n", 100.0 * a / p);
    return 0;
  }
  std::vector<double> raw, cl, raw_ipc, iso;
  const std::string ipc_dir = "/tmp/citylink-bench-" + std::to_string(getpid());
  for (int r = 0; r < rounds; ++r) {  // interleaved, so drift in machine load hits both alike
    raw.push_back(raw_zmq(n, bytes));
    cl.push_back(citylink_path(n, bytes));
    std::printf("round %d: raw libzmq %.0f msg/s, citylink %.0f msg/s", r + 1, raw.back(), cl.back());
    if (isolated) {
      raw_ipc.push_back(raw_zmq(n, bytes, "ipc://" + ipc_dir));
      iso.push_back(citylink_path(n, bytes, true));
      std::printf("; raw ipc %.0f msg/s, citylink isolated %.0f msg/s", raw_ipc.back(), iso.back());
    }
    std::printf("\n");
  }
  const double r = median(raw), c = median(cl);
  std::printf("\nmessages %ld x %zu-byte payload, %d rounds, medians:\n", n, bytes, rounds);
  std::printf("  raw libzmq inproc PUSH/PULL          %12.0f msg/s\n", r);
  std::printf("  CityLink plugin -> router -> plugin  %12.0f msg/s\n", c);
  std::printf("  ratio CityLink / raw                 %12.1f %%\n", 100.0 * c / r);
  if (isolated) {
    const double ri = median(raw_ipc), ci = median(iso);
    std::printf("  raw libzmq ipc PUSH/PULL             %12.0f msg/s\n", ri);
    std::printf("  CityLink, both plugins isolated      %12.0f msg/s\n", ci);
    std::printf("  ratio isolated / raw ipc             %12.1f %%\n", 100.0 * ci / ri);
  }
  return 0;
}
