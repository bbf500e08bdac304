// A plugin whose start starts a thread and then fails, and whose thread goes on calling the
// host for half a second after the instance was destroyed: the common partial failure of
// H2 in the security review ("second camera did not answer"). The host must survive it, and
// so must its memory (the suite runs under AddressSanitizer too).
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <chrono>
#include <thread>

namespace {

class LeakyThread : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.test.leaky-thread";
    d.name = "Start fails after starting a thread";
    d.vendor = "CityLink tests";
    d.version = "1.0.0";
    d.kind = "test";
    d.publishes = {"test.data"};
    return d;
  }
  explicit LeakyThread(const citylink::InstanceContext& ctx) : host_(ctx.host()) {}
  void start() override {
    // Deliberately detached and never joined: only the host handle is captured.
    std::thread([host = host_] {
      citylink::v1::SensorReading r;
      r.set_sensor_id("late");
      for (int i = 0; i < 50; ++i) {
        host.publish("test.data", r);
        host.log(citylink::LogLevel::info, "still here");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }).detach();
    // Published before failing: start is all or nothing, so this must never be delivered.
    citylink::v1::SensorReading first;
    first.set_sensor_id("from-failed-start");
    host_.publish("test.data", first);
    throw citylink::Error(CITYLINK_ERR_UNAVAILABLE, "second camera did not answer");
  }

 private:
  citylink::Host host_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(LeakyThread)
