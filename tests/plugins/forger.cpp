// A plugin that forges its worker's protocol: run isolated, it reads the worker's sockets
// from the worker's command line (any code in the process can) and sends, on the control
// channel, a publish and a flood of acks that claim data the worker never sent. The host must
// serve neither the publish nor grow with the acks; what the plugin publishes through the
// host table still arrives. Frames are written with protobuf's wire-format API: linking the
// worker's own schema would register it twice in the worker process.
//
// With `outlive` (a marker file), its first worker instead leaves a process behind outside its
// process group and crashes; once the next worker runs, that process sends publishes on the
// first worker's data channel, as late frames of a dead worker would come.
#include <citylink/plugin.hpp>
#include <citylink/v1/sensor.pb.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

using google::protobuf::internal::WireFormatLite;

// WorkerToHost field numbers (sdk/proto/citylink/worker/v1/worker.proto).
constexpr int kPublish = 4, kAck = 6, kAfterDataFrames = 12;

// The value after `flag` on the command line of process `pid`.
std::string argument_of(const std::string& pid, const std::string& flag) {
  std::ifstream f("/proc/" + pid + "/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string previous;
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t end = all.find('\0', at);
    const std::string arg = all.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (previous == flag) return arg;
    previous = arg;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

std::string worker_endpoint() { return argument_of("self", "--endpoint"); }

// A worker of `instance` other than `except` runs.
bool another_worker_runs(const std::string& instance, pid_t except) {
  bool found = false;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      const std::string pid = e->d_name;
      if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(except) ||
          pid == std::to_string(getpid()))
        continue;
      if (argument_of(pid, "--instance") == instance) found = true;
    }
    closedir(d);
  }
  return found;
}

std::string frame(const std::function<void(google::protobuf::io::CodedOutputStream&)>& write) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    write(coded);
  }
  return out;
}

class Forger : public citylink::Plugin {
 public:
  static citylink::Descriptor describe() {
    citylink::Descriptor d;
    d.id = "kr.citylink.test.forger";
    d.name = "Forges worker-protocol frames";
    d.vendor = "CityLink tests";
    d.version = "1.0.0";
    d.kind = "test";
    d.publishes = {"test.forged", "test.ok", "test.late"};
    return d;
  }
  explicit Forger(const citylink::InstanceContext& ctx) : host_(ctx.host()) {
    const auto c = nlohmann::json::parse(ctx.config_json().empty() ? "{}" : ctx.config_json());
    acks_ = c.value("forged_acks", 0);
    outlive_ = c.value("outlive", "");
  }
  void start() override {
    if (!outlive_.empty()) return outlive();
    thread_ = std::thread([this] { run(); });
  }
  void stop() override {
    if (thread_.joinable()) thread_.join();
  }
  ~Forger() override { stop(); }

 private:
  void run() {
    const std::string endpoint = worker_endpoint();
    if (endpoint.empty()) return;  // not in a worker: nothing to forge
    zmq::context_t ctx;
    zmq::socket_t control(ctx, zmq::socket_type::push);
    control.set(zmq::sockopt::linger, 5000);
    control.connect(endpoint + "/control");
    // A publish, on the channel that is read while the worker's own publishes wait.
    citylink::v1::Envelope env;
    citylink::v1::SensorReading r;
    r.set_sensor_id("forged");
    env.set_topic("test.forged");
    env.set_schema(r.GetTypeName());
    r.SerializeToString(env.mutable_payload());
    const std::string publish = frame([&](auto& o) {
      std::string inner = frame([&](auto& i) {
        WireFormatLite::WriteString(1, "test.forged", &i);
        WireFormatLite::WriteBytes(2, env.SerializeAsString(), &i);
      });
      WireFormatLite::WriteBytes(kPublish, inner, &o);
    });
    control.send(zmq::buffer(publish));
    // Acks held for data that never comes: more than the host keeps.
    for (int n = 0; n < acks_; ++n) {
      const std::string ack = frame([&](auto& o) {
        WireFormatLite::WriteBytes(kAck, frame([&](auto& i) { WireFormatLite::WriteUInt64(1, n + 1, &i); }), &o);
        WireFormatLite::WriteUInt64(kAfterDataFrames, uint64_t{1} << 60, &o);
      });
      control.send(zmq::buffer(ack));
    }
    control.close();
    ctx.close();  // lingers until the frames have left
    // What it publishes the proper way arrives.
    for (int i = 0; i < 10; ++i) {
      citylink::v1::SensorReading ok;
      ok.set_sensor_id("ok-" + std::to_string(i));
      host_.publish("test.ok", ok);
    }
  }

  // Once (the marker): a process outside the worker's group outlives it, and the worker ends.
  void outlive() {
    if (std::filesystem::exists(outlive_)) return;
    std::ofstream(outlive_) << "left a process behind\n";
    const std::string endpoint = worker_endpoint(), instance = argument_of("self", "--instance");
    const pid_t worker = getpid();
    if (fork() == 0) {
      setsid();
      if (fork() != 0) _exit(0);
      // Waits (at most 60 s) until the worker is gone and its successor runs.
      for (int i = 0; i < 6000 && (kill(worker, 0) == 0 || !another_worker_runs(instance, worker)); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      {
        zmq::context_t ctx;
        zmq::socket_t data(ctx, zmq::socket_type::push);
        data.set(zmq::sockopt::linger, 0);
        data.connect(endpoint + "/from-worker");
        citylink::v1::Envelope env;
        citylink::v1::SensorReading r;
        r.set_sensor_id("late");
        env.set_topic("test.late");
        env.set_schema(r.GetTypeName());
        r.SerializeToString(env.mutable_payload());
        const std::string publish = frame([&](auto& o) {
          std::string inner = frame([&](auto& i) {
            WireFormatLite::WriteString(1, "test.late", &i);
            WireFormatLite::WriteBytes(2, env.SerializeAsString(), &i);
          });
          WireFormatLite::WriteBytes(kPublish, inner, &o);
        });
        for (int n = 0; n < 2000; ++n) {
          (void)data.send(zmq::buffer(publish), zmq::send_flags::dontwait);
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      std::ofstream(outlive_ + ".done") << "sent\n";
      _exit(0);
    }
    // The worker ends once started; its successor finds the marker and runs on.
    thread_ = std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::abort();
    });
  }

  citylink::Host host_;
  int acks_ = 0;
  std::string outlive_;
  std::thread thread_;
};

}  // namespace

CITYLINK_PLUGIN_LIBRARY(Forger)
