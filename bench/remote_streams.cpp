// Streams between two processes' worth of clients over loopback TCP, side by side in one
// run (issue 12): raw libzmq tcp PUSH/PULL (the transport ceiling), CityLink's remote
// publisher -> router -> remote subscriber over TCP+CURVE (two `remote.clients`), and the
// same stream through a Mosquitto broker at QoS 0 and QoS 1. 200-byte payloads by default.
//
//   citylink_bench_remote [MESSAGES=200000] [ROUNDS=3] [PAYLOAD_BYTES=200] [BATCH=64]
#include <citylink/host/curve.hpp>
#include <citylink/host/host.hpp>
#include <citylink/host/keys.hpp>
#include <citylink/host/logging.hpp>
#include <citylink/v1/envelope.pb.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "support/bench_support.hpp"

using namespace citylink::host;
using namespace citylink::bench;

namespace {

// Envelopes per PUBS frame of the batched stream, and per frame of its raw ceiling.
int kBatch = 64;

// Messages per second received, counting from the first send to the last arrival; a
// receiver idle for 5 s ends the round with what arrived (`arrived` says how many).
struct Stream {
  double rate = 0;
  long arrived = 0;
};

// Up to `frames` frames of `per_frame` messages each, until a 5 s silence: messages per
// second from t0 to the last arrival.
Stream receive_stream(zmq::socket_t& pull, long frames, long per_frame, Clock::time_point t0) {
  Stream s;
  zmq::message_t m;
  pull.set(zmq::sockopt::rcvtimeo, 5000);
  auto last = t0;
  for (long i = 0; i < frames && pull.recv(m); ++i) {
    s.arrived += per_frame;
    last = Clock::now();
  }
  s.rate = s.arrived / std::chrono::duration<double>(last - t0).count();
  return s;
}

// `curve`: both ends encrypt (CURVE, no ZAP handler): the ceiling of one encrypted hop. A
// CityLink remote stream makes two (publisher -> host, host -> subscriber).
Stream raw_tcp(long n, int payload, bool curve = false) {
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  const auto server = keys::generate_curve_key(), client_key = keys::generate_curve_key();
  if (curve) make_curve_server(pull, server.secret_key);
  pull.bind("tcp://127.0.0.1:0");
  const std::string ep = pull.get(zmq::sockopt::last_endpoint);
  const auto t0 = Clock::now();
  std::thread producer([&] {
    zmq::socket_t push(ctx, zmq::socket_type::push);
    if (curve) make_curve_client(push, server.public_key, client_key.public_key, client_key.secret_key);
    push.connect(ep);
    const std::string body(static_cast<std::size_t>(payload), 'p');
    for (long i = 0; i < n; ++i) push.send(zmq::buffer(body), zmq::send_flags::none);
    push.set(zmq::sockopt::linger, -1);
  });
  const Stream s = receive_stream(pull, n, 1, t0);
  producer.join();
  return s;
}

// The ceiling of the batched remote stream: the same frames (EnvelopeBatch of `batch`
// envelopes) over two CURVE hops, a relay thread in between that forwards each frame
// untouched; no host, no checks, no routing. What is left above this is transport.
Stream raw_curve_relay(long n, int payload, int batch) {
  zmq::context_t ctx(1);
  const auto relay_key = keys::generate_curve_key(), sink_key = keys::generate_curve_key(),
             client_key = keys::generate_curve_key();
  auto server = [&](const keys::CurveKey& key) {
    zmq::socket_t sock(ctx, zmq::socket_type::pull);
    make_curve_server(sock, key.secret_key);
    sock.bind("tcp://127.0.0.1:0");
    return sock;
  };
  auto pusher = [&](const keys::CurveKey& to, const std::string& ep) {
    zmq::socket_t sock(ctx, zmq::socket_type::push);
    make_curve_client(sock, to.public_key, client_key.public_key, client_key.secret_key);
    sock.connect(ep);
    return sock;
  };
  zmq::socket_t sink = server(sink_key), relay_in = server(relay_key);
  const std::string sink_ep = sink.get(zmq::sockopt::last_endpoint), relay_ep = relay_in.get(zmq::sockopt::last_endpoint);
  const long frames = (n + batch - 1) / batch;
  std::thread relay([&] {
    zmq::socket_t out = pusher(sink_key, sink_ep);
    zmq::message_t m;
    for (long i = 0; i < frames && relay_in.recv(m); ++i) out.send(m, zmq::send_flags::none);
    out.set(zmq::sockopt::linger, -1);
  });
  citylink::v1::Envelope env;
  env.set_topic("bench.data");
  env.set_schema("bench.Data");
  env.set_payload(std::string(static_cast<std::size_t>(payload), 'p'));
  citylink::v1::EnvelopeBatch b;
  for (int i = 0; i < batch; ++i) {
    auto* item = b.add_items();
    item->set_topic("bench.data");
    item->set_envelope(env.SerializeAsString());
  }
  const std::string frame = b.SerializeAsString();
  const auto t0 = Clock::now();
  std::thread producer([&] {
    zmq::socket_t push = pusher(relay_key, relay_ep);
    for (long i = 0; i < frames; ++i) push.send(zmq::buffer(frame), zmq::send_flags::none);
    push.set(zmq::sockopt::linger, -1);
  });
  const Stream s = receive_stream(sink, frames, batch, t0);
  producer.join();
  relay_in.set(zmq::sockopt::linger, 0);
  relay.join();
  return s;
}

zmq::socket_t client(zmq::context_t& ctx, const std::string& endpoint, const std::string& server_public,
                     const keys::CurveKey& key, bool batched = false) {
  zmq::socket_t d(ctx, zmq::socket_type::dealer);
  make_curve_client(d, server_public, key.public_key, key.secret_key);
  d.set(zmq::sockopt::linger, 0);
  d.connect(endpoint);
  if (batched) {
    d.send(zmq::str_buffer("HELLO"), zmq::send_flags::sndmore);
    d.send(zmq::str_buffer("batch"), zmq::send_flags::none);
  } else {
    d.send(zmq::str_buffer("HELLO"), zmq::send_flags::none);
  }
  std::vector<zmq::message_t> welcome;
  d.set(zmq::sockopt::rcvtimeo, 10000);
  if (!zmq::recv_multipart(d, std::back_inserter(welcome)) || welcome.empty() || welcome[0].to_string() != "WELCOME")
    throw std::runtime_error("the host did not welcome the bench client");
  return d;
}

// batch 0: one PUB per message and one MSG each way; batch N: PUBS of N messages, and the
// subscriber says HELLO batch (MSGS frames of what is queued).
Stream citylink_remote(const std::filesystem::path& dir, long n, int payload, uint64_t& dropped, int batch = 0) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto host_key = keys::generate_curve_key(), pub_key = keys::generate_curve_key(),
             sub_key = keys::generate_curve_key();
  keys::write_secret_file(dir / "host.key", host_key.secret_key + "\n");
  const std::string yaml = "city: bench\nhost: {log_level: warn, publish_rate: unlimited}\nplugins: []\nremote:\n  bind: tcp://127.0.0.1:0\n"
                           "  secret_key_file: " + (dir / "host.key").string() + "\n  clients:\n"
                           "    - {name: rpub, public_key: \"" + pub_key.public_key + "\", grants: {publish: [bench.data]}}\n"
                           "    - {name: rsub, public_key: \"" + sub_key.public_key + "\", grants: {subscribe: [bench.data]}}\n";
  Host host(parse_city_config(yaml, "bench.yaml", dir));
  host.start();
  const std::string ep = host.remote_endpoint()->endpoint();
  zmq::context_t ctx(1);
  auto sub = client(ctx, ep, host_key.public_key, sub_key, batch > 0);
  auto pub = client(ctx, ep, host_key.public_key, pub_key);
  citylink::v1::Envelope env;
  env.set_topic("bench.data");
  env.set_schema("bench.Data");
  env.set_payload(std::string(static_cast<std::size_t>(payload), 'p'));
  const std::string bytes = env.SerializeAsString();
  const auto t0 = Clock::now();
  std::thread producer([&] {
    if (batch > 0) {
      citylink::v1::EnvelopeBatch b;
      for (long i = 0; i < n;) {
        b.Clear();
        for (; b.items_size() < batch && i < n; ++i) {
          auto* item = b.add_items();
          item->set_topic("bench.data");
          item->set_envelope(bytes);
        }
        pub.send(zmq::str_buffer("PUBS"), zmq::send_flags::sndmore);
        pub.send(zmq::buffer(b.SerializeAsString()), zmq::send_flags::none);
      }
      return;
    }
    for (long i = 0; i < n; ++i) {
      pub.send(zmq::str_buffer("PUB"), zmq::send_flags::sndmore);
      pub.send(zmq::str_buffer("bench.data"), zmq::send_flags::sndmore);
      pub.send(zmq::buffer(bytes), zmq::send_flags::none);
    }
  });
  Stream s;
  auto last = t0;
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  std::vector<zmq::message_t> frames;
  while (s.arrived < n) {
    frames.clear();
    if (!zmq::recv_multipart(sub, std::back_inserter(frames))) break;
    if (!frames.empty() && frames[0].to_string() == "MSG") {
      ++s.arrived;
      last = Clock::now();
    } else if (frames.size() == 2 && frames[0].to_string() == "MSGS") {
      citylink::v1::EnvelopeBatch b;
      if (b.ParseFromArray(frames[1].data(), static_cast<int>(frames[1].size()))) s.arrived += b.items_size();
      last = Clock::now();
    }
  }
  producer.join();
  s.rate = s.arrived / std::chrono::duration<double>(last - t0).count();
  for (const auto& [name, c] : host.remote_endpoint()->counters()) {
    dropped += c->dropped_incoming.load() + c->dropped_outgoing.load();
    if (c->dropped_incoming.load() + c->dropped_outgoing.load())
      std::fprintf(stderr, "%s%s: %llu dropped at its incoming queue, %llu at its outgoing queue\n",
                   batch ? "batched, " : "", name.c_str(), static_cast<unsigned long long>(c->dropped_incoming.load()),
                   static_cast<unsigned long long>(c->dropped_outgoing.load()));
  }
  pub.close();
  sub.close();
  host.stop();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::stol(argv[1]) : 200000;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
  const int payload = argc > 3 ? std::stoi(argv[3]) : 200;
  if (argc > 4) kBatch = std::max(1, std::stoi(argv[4]));
  set_log_level("warn");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto base = std::filesystem::temp_directory_path() / ("citylink-bench-remote-" + std::to_string(getpid()));
  std::vector<double> raw, raw_curve, raw_relay, raw_relay_big, ours, ours_batched, qos0, qos1;
  long lost = 0;
  uint64_t dropped = 0;
  for (int r = 0; r < rounds; ++r) {
    raw.push_back(raw_tcp(n, payload).rate);
    raw_curve.push_back(raw_tcp(n, payload, true).rate);
    raw_relay.push_back(raw_curve_relay(n, payload, kBatch).rate);
    raw_relay_big.push_back(raw_curve_relay(n, payload, 1024).rate);
    const auto c = citylink_remote(base / "citylink", n, payload, dropped);
    ours.push_back(c.rate);
    lost += n - c.arrived;
    const auto cb = citylink_remote(base / "citylink-batched", n, payload, dropped, kBatch);
    ours_batched.push_back(cb.rate);
    lost += n - cb.arrived;
    {
      const MosquittoBroker broker(base / "mosquitto", 256, n + 1000);
      qos0.push_back(mqtt_stream(broker, n, payload, 0, 256));
      qos1.push_back(mqtt_stream(broker, n, payload, 1, 256));
    }
    std::printf("round %d: raw tcp %.0f, raw tcp+CURVE %.0f, raw CURVE relay of batches %.0f (of 1024: %.0f), citylink remote %.0f, batched %.0f, mosquitto QoS 0 %.0f, "
                "QoS 1 %.0f msg/s\n",
                r + 1, raw.back(), raw_curve.back(), raw_relay.back(), raw_relay_big.back(), ours.back(), ours_batched.back(), qos0.back(), qos1.back());
  }
  std::filesystem::remove_all(base);
  const double a = median(ours), b = median(qos0);
  std::printf("\n%ld messages of %d payload bytes over loopback TCP, median of %d rounds\n", n, payload, rounds);
  std::printf("  raw libzmq tcp PUSH/PULL                          %12.0f msg/s\n", median(raw));
  std::printf("  raw libzmq tcp+CURVE PUSH/PULL (one hop)          %12.0f msg/s\n", median(raw_curve));
  std::printf("  raw libzmq, batches of %-4d two CURVE hops, relay  %12.0f msg/s\n", kBatch, median(raw_relay));
  std::printf("  raw libzmq, batches of 1024 two CURVE hops, relay  %12.0f msg/s\n", median(raw_relay_big));
  std::printf("  CityLink remote TCP+CURVE pub -> router -> sub    %12.0f msg/s\n", a);
  std::printf("  CityLink remote TCP+CURVE, batches of %-4d         %12.0f msg/s\n", kBatch, median(ours_batched));
  std::printf("  Mosquitto QoS 0 pub -> broker -> sub              %12.0f msg/s\n", b);
  std::printf("  Mosquitto QoS 1 pub -> broker -> sub              %12.0f msg/s\n", median(qos1));
  std::printf("  ratio CityLink remote / Mosquitto QoS 0           %12.2f x\n", b > 0 ? a / b : 0.0);
  std::printf("  ratio CityLink remote batched / Mosquitto QoS 0   %12.2f x\n", b > 0 ? median(ours_batched) / b : 0.0);
  std::printf("  ratio raw two-hop CURVE relay / Mosquitto QoS 0   %12.2f x   (same frames as the batched stream)\n",
              b > 0 ? median(raw_relay) / b : 0.0);
  std::printf("  ratio raw relay, batches of 1024 / Mosquitto QoS 0 %11.2f x   (the transport's best: the ceiling of the 5x target)\n",
              b > 0 ? median(raw_relay_big) / b : 0.0);
  std::printf("  ratio CityLink remote batched / raw relay         %12.2f x\n",
              median(raw_relay) > 0 ? median(ours_batched) / median(raw_relay) : 0.0);
  if (lost)
    std::printf("  (CityLink: %ld messages did not arrive; %llu dropped and counted at full queues)\n", lost,
                static_cast<unsigned long long>(dropped));
  return a > 0 && b > 0 ? 0 : 1;
}
