// Acked durable deliveries per second: publisher -> router -> outbox (SQLite) -> agency-link
// -> `citylink agency-sim` over CURVE TCP -> its ack -> the host's ack, beside Mosquitto QoS 1
// (libmosquitto publisher -> mosquitto broker -> libmosquitto subscriber) in the same run,
// with the same payload and the same number of messages in flight. Prints both and the ratio
// (docs/performance.md, "Durable delivery"). Also the ceiling of the path on this machine:
// the outbox and one CURVE hop with acks alone, no CityLink (ceiling_round).
//
//   citylink_bench_durable [MESSAGES=20000] [ROUNDS=3] [PAYLOAD_BYTES=200] [IN_FLIGHT=256]
#include <citylink/host/child_process.hpp>
#include <citylink/host/curve.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/host/outbox.hpp>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "support/bench_support.hpp"

using namespace citylink::host;
using namespace citylink::bench;

namespace {

bool kBatch = true;  // the link's batch: BATCH frames to the agency (argument 5: 0 for one envelope a frame)
int kInFlight = 256;  // both sides: CityLink's durable.in_flight, MQTT's max_inflight_messages (argument 4)

// One CityLink round: messages per second acked end to end.
double citylink_round(const std::filesystem::path& dir, long n, int payload) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto agency = keys::generate_curve_key(), link = keys::generate_curve_key();
  keys::write_secret_file(dir / "agency.key", agency.secret_key + "\n");
  keys::write_secret_file(dir / "link.key", link.secret_key + "\n");
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(free_port());
  const int sim = spawn_process({CITYLINK_BENCH_CITYLINK_BIN, "agency-sim", "--bind", endpoint, "--secret-key-file",
                                 (dir / "agency.key").string(), "--allow-key", link.public_key},
                                {"PATH=/usr/bin:/bin"});
  const std::string yaml =
      "city: bench\nhost:\n  log_level: warn\n  publish_rate: unlimited\n  outbox: " + (dir / "outbox.db").string() + "\nplugin_dirs: [" +
      CITYLINK_BENCH_PLUGIN_DIR + ", " + CITYLINK_BENCH_SAMPLE_PLUGIN_DIR +
      "]\nplugins:\n"
      "  - instance: pub\n    file: bench_plugins.so\n    plugin: kr.citylink.bench.publisher\n"
      "    grants: {publish: [bench.data]}\n    isolation: none\n    config: {count: " + std::to_string(n) +
      ", payload_bytes: " + std::to_string(payload) + "}\n"
      // A queue that holds the whole burst: what overflows a subscriber's queue is dropped
      // (counted) before it is accepted, and the publisher here does not pace itself.
      "  - instance: link\n    file: agency_link.so\n    grants: {subscribe: [bench.data]}\n    isolation: none\n"
      "    queue_depth: " + std::to_string(n + 1000) + "\n"
      "    durable: {in_flight: " + std::to_string(kInFlight) + "}\n"
      "    config: {endpoint: \"" + endpoint + "\", server_public_key: \"" + agency.public_key +
      "\", secret_key_file: " + (dir / "link.key").string() + ", retry_ms: 1000, batch: " + (kBatch ? "true" : "false") + "}\n";
  Host host(parse_city_config(yaml, "bench.yaml", dir));
  auto acked = [&] {
    for (const auto& s : host.status())
      if (s.instance_id == "link") return s.counters.acked;
    return uint64_t{0};
  };
  auto dropped = [&] {
    for (const auto& s : host.status())
      if (s.instance_id == "link") return s.counters.dropped_incoming;
    return uint64_t{0};
  };
  const auto t0 = Clock::now();
  host.start();
  const bool done = wait_for([&] { return acked() + dropped() >= static_cast<uint64_t>(n); }, std::chrono::seconds(600));
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  host.stop();
  stop_child(sim);
  if (dropped() > 0) {
    std::fprintf(stderr, "citylink round: %llu dropped at the link's full queue; raise its queue_depth\n",
                 static_cast<unsigned long long>(dropped()));
    return 0;
  }
  if (!done) {
    std::fprintf(stderr, "citylink round did not finish: %llu of %ld acked\n",
                 static_cast<unsigned long long>(acked()), n);
    return 0;
  }
  return static_cast<double>(n) / secs;
}

// The ceiling of the durable path: only what the issue asks of it, without CityLink. Each
// envelope is written to the outbox (the same SQLite file and schema) before it goes, sent
// in batches of up to 256 over one CURVE DEALER -> ROUTER hop, answered with one ack per
// batch, and forgotten on that ack; the same window. No router, no plugin, no ids looked
// at, no de-duplication: what CityLink cannot go above on this machine.
double ceiling_round(const std::filesystem::path& dir, long n, int payload) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Outbox outbox({dir / "outbox.db"});
  citylink::v1::Envelope env;
  env.set_topic("bench.data");
  env.set_schema("bench.Data");
  env.set_payload(std::string(static_cast<std::size_t>(payload), 'p'));
  const std::string bytes = env.SerializeAsString();
  zmq::context_t ctx(1);
  const auto agency = keys::generate_curve_key(), link = keys::generate_curve_key();
  zmq::socket_t router(ctx, zmq::socket_type::router);
  make_curve_server(router, agency.secret_key);
  router.bind("tcp://127.0.0.1:0");
  const std::string ep = router.get(zmq::sockopt::last_endpoint);
  std::thread agency_side([&] {  // acks every batch it gets, until told "END"
    std::vector<zmq::message_t> frames;
    while (true) {
      frames.clear();
      if (!zmq::recv_multipart(router, std::back_inserter(frames)) || frames.size() < 2) break;
      if (frames[1].to_string() == "END") break;
      router.send(frames[0], zmq::send_flags::sndmore);
      router.send(zmq::str_buffer("ACK"), zmq::send_flags::none);
    }
  });
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  make_curve_client(dealer, agency.public_key, link.public_key, link.secret_key);
  dealer.set(zmq::sockopt::sndhwm, 0);
  dealer.set(zmq::sockopt::rcvtimeo, 10000);  // the deadline of a wait for one ack
  dealer.connect(ep);
  std::deque<std::vector<int64_t>> waiting;  // the seqs of each batch sent, oldest first
  long sent = 0, acked = 0;
  std::size_t in_flight = 0;
  zmq::message_t reply;
  const auto t0 = Clock::now();
  while (acked < n) {
    OutboxBatch b;
    // Waits for an ack only when nothing more may go: the window is full, or all was sent.
    auto must_wait = [&] { return !waiting.empty() && (in_flight >= static_cast<std::size_t>(kInFlight) || sent == n); };
    bool stalled = false;
    while (!waiting.empty()) {
      const bool wait = must_wait();
      if (!dealer.recv(reply, wait ? zmq::recv_flags::none : zmq::recv_flags::dontwait)) {
        stalled = wait;
        break;
      }
      b.acked.insert(b.acked.end(), waiting.front().begin(), waiting.front().end());
      in_flight -= waiting.front().size();
      acked += static_cast<long>(waiting.front().size());
      waiting.pop_front();
    }
    if (stalled) {
      std::fprintf(stderr, "ceiling round: no ack for 10 s; %ld of %ld acked\n", acked, n);
      break;
    }
    const long room = std::min<long>({256, kInFlight - static_cast<long>(in_flight), n - sent});
    for (long i = 0; i < room; ++i) b.append.emplace_back("bench.data", bytes);
    const auto seqs = outbox.commit("link", b);
    if (seqs.empty()) continue;
    citylink::v1::EnvelopeBatch frame;
    for (const auto& [topic, envelope] : b.append) {
      auto* item = frame.add_items();
      item->set_topic(topic);
      item->set_envelope(envelope);
    }
    dealer.send(zmq::buffer(frame.SerializeAsString()), zmq::send_flags::none);
    waiting.push_back(seqs);
    in_flight += seqs.size();
    sent += static_cast<long>(seqs.size());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  dealer.send(zmq::str_buffer("END"), zmq::send_flags::none);
  agency_side.join();
  return acked < n ? 0 : static_cast<double>(n) / secs;
}

// One Mosquitto round: QoS 1 publish -> broker -> QoS 1 subscriber, messages per second.
double mosquitto_round(const std::filesystem::path& dir, long n, int payload) {
  const MosquittoBroker broker(dir, kInFlight, n + 1000);
  return mqtt_stream(broker, n, payload, 1, kInFlight);
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::stol(argv[1]) : 20000;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
  const int payload = argc > 3 ? std::stoi(argv[3]) : 200;
  if (argc > 4) kInFlight = std::stoi(argv[4]);
  if (argc > 5) kBatch = std::stoi(argv[5]) != 0;
  set_log_level("warn");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto base = std::filesystem::temp_directory_path() / ("citylink-bench-durable-" + std::to_string(getpid()));
  std::vector<double> ours, theirs, ceiling;
  for (int r = 0; r < rounds; ++r) {
    ours.push_back(citylink_round(base / "citylink", n, payload));
    theirs.push_back(mosquitto_round(base / "mosquitto", n, payload));
    ceiling.push_back(ceiling_round(base / "ceiling", n, payload));
    std::printf("round %d: citylink durable %.0f msg/s, mosquitto QoS 1 %.0f msg/s, outbox + one CURVE hop alone %.0f "
                "msg/s\n",
                r + 1, ours.back(), theirs.back(), ceiling.back());
  }
  std::filesystem::remove_all(base);
  const double a = median(ours), b = median(theirs);
  std::printf("\n%ld messages of %d payload bytes, %d in flight, %s, median of %d rounds\n", n, payload, kInFlight,
              kBatch ? "the link sends batches" : "the link sends one envelope a frame", rounds);
  std::printf("citylink durable (outbox + agency-link + agency-sim, acked end to end): %.0f msg/s\n", a);
  std::printf("mosquitto QoS 1 (publisher -> broker -> subscriber, no persistence):   %.0f msg/s\n", b);
  std::printf("ratio: %.2fx\n", b > 0 ? a / b : 0.0);
  const double c = median(ceiling);
  std::printf("ceiling (outbox + one CURVE hop + acks, no CityLink):              %.0f msg/s\n", c);
  std::printf("ceiling / mosquitto QoS 1: %.2fx; citylink / ceiling: %.2f\n", b > 0 ? c / b : 0.0, c > 0 ? a / c : 0.0);
  return a > 0 && b > 0 ? 0 : 1;
}
