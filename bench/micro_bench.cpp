// Google Benchmark micro-benchmarks of the router's per-message steps.
#include <benchmark/benchmark.h>
#include <citylink/host/topic.hpp>
#include <citylink/v1/envelope.pb.h>

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

}  // namespace

BENCHMARK_MAIN();
