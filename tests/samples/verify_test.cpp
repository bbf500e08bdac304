// `citylink plugin verify` passes every sample plugin with a working config.
#include "sample_fixture.hpp"

#include <citylink/host/child_process.hpp>

using namespace citylink::samples_test;

namespace {

// A working config per plugin file, short enough to run within verify's half-second window.
std::vector<std::pair<std::string, json>> samples() {
  const json ev = {{"at_ms", 10}, {"topic", "incident.112"}, {"event_code", "112UC001"}, {"occurrence_number", "INC-1"},
                   {"lat", 37.5}, {"lon", 127.0}};
  return {
      {"incident_feed", {{"events", {ev}}}},
      {"agency_console", {{"name", "112-centre"}}},
      {"camera_fleet", {{"grid", {{"origin_lat", 37.5}, {"origin_lon", 127.0}, {"rows", 3}, {"cols", 3}, {"spacing_m", 100},
                                  {"ptz_every", 2}}},
                        {"heartbeat_ms", 50},
                        {"offline", {{{"camera_id", "GRID-R00C00"}, {"at_ms", 100}}}}}},
      {"sos_wearable", {{"persons", {{{"person_id", "P1"}, {"name", "Kim"}, {"phone", "010"}, {"guardian", "Lee"},
                                      {"lat", 37.5}, {"lon", 127.0}, {"at_ms", 10}, {"finish_after_ms", 50}}}}}},
      {"water_level_sensor", {{"interval_ms", 20}, {"events", {{{"at_ms", 50}, {"duration_ms", 200}, {"rise_m", 0.5}}}}}},
      {"climate_sensor", {{"interval_ms", 20}, {"events", {{{"kind", "heat_wave"}, {"at_ms", 50}, {"duration_ms", 200},
                                                            {"delta_c", 12}}}}}},
      // Both halves: a platform that is not there (the sender retries) and listeners on free ports.
      {"ucp_bridge", {{"platform", {{"url", "http://127.0.0.1:9"}, {"api_key", "k"}, {"send_code", "B4113000000"},
                                    {"receive_code", "B4100000000"}}},
                      {"listen", {{"http_port", citylink::test::free_tcp_port()},
                                  {"telegram_port", citylink::test::free_tcp_port()},
                                  {"legacy_port", citylink::test::free_tcp_port()}}}}},
      {"tracking_analytics", {{"waypoints", {{{"lat", 37.5}, {"lon", 127.0}}, {{"lat", 37.501}, {"lon", 127.0}}}},
                              {"tick_ms", 20}}},
  };
}

}  // namespace

TEST(SampleVerify, EverySamplePluginPassesEveryVerifyCheck) {
  for (const auto& [file, config] : samples()) {
    std::vector<std::string> argv = {citylink::test::citylink_bin(), "plugin", "verify", "--json",
                                     citylink::test::sample_plugin(file).string(), "--config", config.dump()};
    // Its listeners bind the ports of its config: two of its checks at once would collide.
    if (file == "ucp_bridge") argv.insert(argv.end(), {"--jobs", "1"});
    const auto r = citylink::host::run_child(argv, std::chrono::seconds(120));
    ASSERT_EQ(r.exit_code, 0) << file << "\n" << r.out << r.err;
    const auto j = json::parse(r.out);
    EXPECT_EQ(j["passed"], j["total"]) << file << "\n" << r.out;
  }
}
