// Small pieces the benchmarks share: a free loopback port, waiting with a deadline,
// children, medians, resident memory, and the Mosquitto peer (a broker started on a
// loopback port for the run, and a libmosquitto stream through it).
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <vector>

namespace citylink::bench {

using Clock = std::chrono::steady_clock;

int free_port();
// True when `cond` held before `limit` passed (checked every millisecond).
bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit);
void stop_child(int pid);
double median(std::vector<double> v);
// The p-quantile (p in 0..1) of `v` by nearest rank; 0 for no samples.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}
// This process's resident set size, in kB (VmRSS).
long rss_kb();

// Mosquitto from Debian, on a free loopback port, without persistence, for one run.
class MosquittoBroker {
 public:
  MosquittoBroker(const std::filesystem::path& dir, int max_inflight, long max_queued);
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;
  int port() const { return port_; }

 private:
  int port_ = 0;
  int pid_ = 0;
};

// n messages of `payload` bytes, libmosquitto publisher -> broker -> libmosquitto
// subscriber at `qos`, up to `inflight` unacknowledged: messages per second until the
// last arrived; 0 (and a line on stderr) when it did not finish within `limit`.
double mqtt_stream(const MosquittoBroker& broker, long n, int payload, int qos, int inflight,
                   std::chrono::seconds limit = std::chrono::seconds(600));

}  // namespace citylink::bench
