// Google Benchmark micro-benchmarks of the router's per-message steps.
#include <benchmark/benchmark.h>
#include <citylink/host/outbox.hpp>
#include <citylink/host/topic.hpp>
#include <citylink/v1/envelope.pb.h>

#include <deque>
#include <filesystem>
#include <unistd.h>

namespace {

std::string sample_envelope() {
  citylink::v1::Envelope e;
  e.set_topic("sensor.reading");
  e.set_schema("citylink.v1.SensorReading");
  e.set_payload(std::string(200, 'p'));
  e.set_correlation_id("INC-2026-000123");
  return e.SerializeAsString();
}

void BM_TopicValidation(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(citylink::host::is_valid_topic("analytics.tracking"));
}
BENCHMARK(BM_TopicValidation);

void BM_GrantCheck(benchmark::State& s) {
  const std::vector<std::string> grants = {"camera.*", "analytics.detection", "analytics.tracking"};
  for (auto _ : s) benchmark::DoNotOptimize(citylink::host::grants_allow(grants, "analytics.tracking"));
}
BENCHMARK(BM_GrantCheck);

void BM_EnvelopeParse(benchmark::State& s) {
  const std::string bytes = sample_envelope();
  citylink::v1::Envelope e;
  for (auto _ : s) {
    e.Clear();
    benchmark::DoNotOptimize(e.ParseFromString(bytes));
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * bytes.size()));
}
BENCHMARK(BM_EnvelopeParse);

// The outbox alone, in its steady state: each commit writes a batch of new envelopes and
// forgets as many acked ones, as a durable subscriber's dispatch thread does. Items are
// messages stored and forgotten. Arguments: the batch, and the rows left waiting (256: a
// subscriber that keeps up, as citylink_bench_durable's window; 100,000: a backlog).
void BM_OutboxCommit(benchmark::State& s) {
  const auto batch = static_cast<std::size_t>(s.range(0));
  const auto standing = static_cast<std::size_t>(s.range(1));
  const auto dir = std::filesystem::temp_directory_path() / ("citylink-bench-outbox-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  {
    citylink::host::Outbox outbox({dir / "outbox.db"});
    const std::string envelope = sample_envelope();
    citylink::host::OutboxBatch b;
    std::deque<int64_t> waiting;
    for (auto _ : s) {
      b = {};
      for (std::size_t i = 0; i < batch; ++i) b.append.emplace_back("bench.data", envelope);
      while (waiting.size() > standing && b.acked.size() < batch) {
        b.acked.push_back(waiting.front());
        waiting.pop_front();
      }
      b.delivered_upto = waiting.empty() ? 0 : waiting.back();
      for (const int64_t seq : outbox.commit("link", b)) waiting.push_back(seq);
    }
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations() * batch));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_OutboxCommit)
    ->ArgNames({"batch", "waiting"})
    ->Args({16, 256})
    ->Args({64, 256})
    ->Args({256, 256})
    ->Args({1024, 256})
    ->Args({256, 100000})
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
