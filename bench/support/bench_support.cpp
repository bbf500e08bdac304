// The benchmarks' shared pieces (bench_support.hpp).
#include "bench_support.hpp"

#include <citylink/host/child_process.hpp>

#include <mosquitto.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace citylink::bench {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

void stop_child(int pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

MosquittoBroker::MosquittoBroker(const std::filesystem::path& dir, int max_inflight, long max_queued) {
  std::filesystem::create_directories(dir);
  port_ = free_port();
  {
    std::ofstream conf(dir / "mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\npersistence false\n"
         << "max_inflight_messages " << max_inflight << "\nmax_queued_messages " << max_queued << "\n";
  }
  pid_ = host::spawn_process({"/usr/sbin/mosquitto", "-c", (dir / "mosquitto.conf").string()}, {"PATH=/usr/bin:/bin"});
}

MosquittoBroker::~MosquittoBroker() {
  if (pid_ > 0) stop_child(pid_);
}

namespace {
struct Received {
  std::atomic<long> count{0};
  std::atomic<int64_t> last_ns{0};  // steady clock, when the last one arrived
};
}  // namespace

double mqtt_stream(const MosquittoBroker& broker, long n, int payload, int qos, int inflight,
                   std::chrono::seconds limit) {
  static const int init = mosquitto_lib_init();
  (void)init;
  Received got;
  mosquitto* sub = mosquitto_new(nullptr, true, &got);
  mosquitto* pub = mosquitto_new(nullptr, true, nullptr);
  mosquitto_max_inflight_messages_set(pub, static_cast<unsigned>(inflight));
  mosquitto_message_callback_set(sub, [](mosquitto*, void* obj, const mosquitto_message*) {
    auto* r = static_cast<Received*>(obj);
    r->count.fetch_add(1, std::memory_order_relaxed);
    r->last_ns.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  });
  // The broker takes a moment to listen; connect until it does.
  const bool up =
      wait_for([&] { return mosquitto_connect(sub, "127.0.0.1", broker.port(), 60) == MOSQ_ERR_SUCCESS; },
               std::chrono::seconds(10)) &&
      mosquitto_connect(pub, "127.0.0.1", broker.port(), 60) == MOSQ_ERR_SUCCESS;
  double rate = 0;
  if (up) {
    mosquitto_subscribe(sub, nullptr, "bench/data", qos);
    mosquitto_loop_start(sub);
    mosquitto_loop_start(pub);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the SUBACK, before the clock starts
    const std::string body(static_cast<std::size_t>(payload), 'p');
    const auto t0 = Clock::now();
    for (long i = 0; i < n; ++i)
      while (mosquitto_publish(pub, nullptr, "bench/data", payload, body.data(), qos, false) != MOSQ_ERR_SUCCESS)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    // QoS 0 may lose messages: the wait also ends after 2 s without one arriving, and the
    // rate is what arrived by the last arrival (the loss is reported).
    long seen = -1;
    auto progress = Clock::now();
    const auto end = Clock::now() + limit;
    while (got.count.load() < n && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const long c = got.count.load();
      if (c != seen) {
        seen = c;
        progress = Clock::now();
      } else if (qos == 0 && Clock::now() - progress > std::chrono::seconds(2)) {
        break;
      }
    }
    const long arrived = got.count.load();
    const auto last = Clock::time_point(Clock::duration(got.last_ns.load()));
    const double secs = std::chrono::duration<double>(last - t0).count();
    if (arrived == n || (qos == 0 && arrived > 0)) rate = static_cast<double>(arrived) / secs;
    if (arrived < n)
      std::fprintf(stderr, "mosquitto QoS %d stream: %ld of %ld received%s\n", qos, arrived, n,
                   qos == 0 ? " (QoS 0 loses; the rate counts what arrived)" : " before the deadline");
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
  } else {
    std::fprintf(stderr, "mosquitto broker did not accept connections on port %d\n", broker.port());
  }
  mosquitto_destroy(pub);
  mosquitto_destroy(sub);
  return rate;
}

}  // namespace citylink::bench
